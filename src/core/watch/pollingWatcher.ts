import { errorMessage, isConnectionError } from '../common/errors';
import { compileExcludeRules, type ExcludeRules } from '../common/excludeRules';
import type { Logger } from '../common/logger';
import { normalizeRemotePath } from '../common/remotePath';
import type { EntryStat } from '../fs/entryType';
import type { ListedChild } from '../fs/remoteFileSystem';
import { differences, relativeTo, scanTree, type RemoteChange, type Scan } from './treeScan';

export type { ChangeKind, RemoteChange } from './treeScan';

/** What a watcher needs of one host. */
export interface WatchedHost {
  /** Polling never opens or re-opens a connection: it waits while this is false. */
  isConnected(): boolean;
  stat(path: string): Promise<EntryStat>;
  list(path: string): Promise<ListedChild[]>;
}

export interface WatchRequest {
  /** Everything below the folder, or only the entry and (for a folder) its direct children. */
  readonly recursive: boolean;
  /** Globs relative to the watched folder, or absolute paths; matching entries are neither read nor reported. */
  readonly excludes: readonly string[];
}

export interface PollingOptions {
  readonly intervalMs: number;
  /** A watch stops descending after this many entries (with a warning), so a huge tree cannot flood the link. */
  readonly maxEntries: number;
  readonly logger: Logger;
}

/** Something about a watch the user should know, told once per watch. */
export interface WatchNotice {
  readonly path: string;
  readonly reason: 'truncated';
  readonly maxEntries: number;
  /** The first folders (relative to the watch) whose content is not watched, shallowest first. */
  readonly unwatched: readonly string[];
  /** How many more such folders there are. */
  readonly moreUnwatched: number;
}

/** Folders named in a truncation notice; the rest are counted. */
const NAMED_UNWATCHED = 5;

interface Watch {
  readonly path: string;
  readonly recursive: boolean;
  readonly excludes: ExcludeRules;
  /** What the last complete scan saw; undefined before the first one. */
  snapshot: Scan | undefined;
  warnedTruncated: boolean;
}

/**
 * Remote changes by polling, for servers where nothing can be installed: each watch is scanned every
 * interval (stat for a file, listings for a folder, down the tree for a recursive watch) and compared
 * with the scan before; the differences of one round go out as one batch. SFTP v3 gives modification
 * times in whole seconds, so a change is seen when the size or the second differs.
 */
export class PollingWatcher {
  private readonly watches = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private disposed = false;

  constructor(
    private readonly host: WatchedHost,
    private readonly options: PollingOptions,
    private readonly emit: (changes: RemoteChange[]) => void,
    private readonly notify: (notice: WatchNotice) => void = () => undefined,
  ) {}

  get watchCount(): number {
    return this.watches.size;
  }

  watch(rawPath: string, request: WatchRequest): { dispose(): void } {
    const watch: Watch = {
      path: normalizeRemotePath(rawPath),
      recursive: request.recursive,
      excludes: compileExcludeRules(request.excludes),
      snapshot: undefined,
      warnedTruncated: false,
    };
    this.watches.add(watch);
    this.schedule(0); // the first scan is the baseline
    return {
      dispose: () => {
        this.watches.delete(watch);
        if (this.watches.size === 0) {
          this.stopTimer();
        }
      },
    };
  }

  /** Scans every watch now and emits what changed; joins a round already running. */
  pollNow(): Promise<void> {
    this.round ??= this.pollRound().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  dispose(): void {
    this.disposed = true;
    this.watches.clear();
    this.stopTimer();
  }

  /** Follows a changed poll interval now, rather than after the round already waiting. */
  reschedule(): void {
    this.stopTimer();
    this.schedule(this.options.intervalMs);
  }

  private schedule(delayMs: number): void {
    if (this.disposed || this.watches.size === 0 || this.options.intervalMs <= 0) {
      return;
    }
    if (this.timer !== undefined && delayMs > 0) {
      return;
    }
    this.stopTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pollNow().finally(() => this.schedule(this.options.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private async pollRound(): Promise<void> {
    if (!this.host.isConnected()) {
      return; // paused: a reconnect, or the user's next action, brings the connection back
    }
    const changes: RemoteChange[] = [];
    for (const watch of [...this.watches]) {
      let next: Scan;
      try {
        next = await scanTree(this.host, {
          root: watch.path,
          recursive: watch.recursive,
          excludes: watch.excludes,
          maxEntries: this.options.maxEntries,
          previous: watch.snapshot,
        });
      } catch (error) {
        if (!isConnectionError(error)) {
          this.options.logger.warn(`Watching ${watch.path} failed: ${errorMessage(error)}`);
        }
        continue; // keep the old snapshot: the next round compares against it
      }
      if (!this.watches.has(watch)) {
        continue; // disposed while scanning
      }
      if (next.cut.length > 0) {
        this.warnTruncated(watch, next.cut);
      }
      if (watch.snapshot !== undefined) {
        changes.push(...differences(watch.path, watch.snapshot, next));
      }
      watch.snapshot = next;
    }
    if (changes.length > 0 && !this.disposed) {
      this.emit(uniqueChanges(changes));
    }
  }

  private warnTruncated(watch: Watch, cut: readonly string[]): void {
    if (watch.warnedTruncated) {
      return;
    }
    watch.warnedTruncated = true;
    const unwatched = cut.slice(0, NAMED_UNWATCHED).map((folder) => relativeTo(watch.path, folder) || '.');
    const more = cut.length - unwatched.length;
    this.options.logger.warn(
      `Watching only the first ${this.options.maxEntries} entries of ${watch.path} (breadth-first, by name); ` +
        `changes are not seen in: ${unwatched.join(', ')}${more > 0 ? ` and ${more} more folder(s)` : ''} ` +
        '(setting sftpfs.watch.maxEntries; or exclude big folders with files.watcherExclude)',
    );
    this.notify({
      path: watch.path,
      reason: 'truncated',
      maxEntries: this.options.maxEntries,
      unwatched,
      moreUnwatched: more,
    });
  }
}

/** The same change reported twice in one batch is reported once. */
export function uniqueChanges(changes: readonly RemoteChange[]): RemoteChange[] {
  const seen = new Set<string>();
  return changes.filter((change) => {
    const key = `${change.kind}\0${change.path}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}
