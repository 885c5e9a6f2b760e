import { errorMessage, isConnectionError, isRemoteFsError } from '../common/errors';
import { compileExcludeRules, type ExcludeRules } from '../common/excludeRules';
import { forEachBounded } from '../common/limiter';
import type { Logger } from '../common/logger';
import { normalizeRemotePath } from '../common/remotePath';
import type { EntryStat } from '../fs/entryType';
import type { ListedChild } from '../fs/remoteFileSystem';
import { checkOrder, dueAt, duePolls, type PollClock } from './pollSchedule';
import {
  differences,
  fingerprintOf,
  isInScope,
  recheckEntry,
  relativeTo,
  scanTree,
  type Fingerprint,
  type RemoteChange,
  type Scan,
} from './treeScan';

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

/** Only part of a big tree is watched: the user is told once per watch which part is not. */
export interface TruncationNotice {
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
/** Open files stat-ed at once. */
const OPEN_FILE_CONCURRENCY = 8;

type Clock = PollClock['last'];

interface Watch {
  readonly path: string;
  readonly recursive: boolean;
  readonly excludes: ExcludeRules;
  /** What the last complete scan saw; undefined before the first one. */
  snapshot: Scan | undefined;
  warnedTruncated: boolean;
  /** The last scan's end and duration: when the next one is due. */
  last: Clock;
}

/**
 * Remote changes by polling, for servers where nothing can be installed: each watch is scanned on its
 * own clock (stat for a file, listings for a folder, down the tree for a recursive watch) and compared
 * with the scan before; the differences of one round go out as one batch. A watch is scanned at most
 * every interval, and less often when its scans are slow (pollSchedule.ts), so polling a big tree
 * keeps the link busy a tenth of the time at most. Files open in editors are checked first, on their
 * own clock, and the watches' snapshots follow. SFTP v3 gives modification times in whole seconds, so
 * a change is seen when the size or the second differs.
 */
export class PollingWatcher {
  private readonly watches = new Set<Watch>();
  private openFiles: readonly string[] = [];
  private readonly openFilesClock: { last: Clock } = { last: undefined };
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  /** The last round found the host disconnected: try again after an interval, not at once. */
  private waitingForConnection = false;
  private disposed = false;

  constructor(
    private readonly host: WatchedHost,
    private readonly options: PollingOptions,
    private readonly emit: (changes: RemoteChange[]) => void,
    private readonly notify: (notice: TruncationNotice) => void = () => undefined,
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
      last: undefined,
    };
    this.watches.add(watch);
    this.wake(); // due at once: the first scan is the baseline
    return {
      dispose: () => {
        this.watches.delete(watch);
        if (this.watches.size === 0) {
          this.stopTimer();
        }
      },
    };
  }

  /** The files open in editors on this host: checked first in every round, and on their own clock. */
  setOpenFiles(paths: readonly string[]): void {
    const next = [...new Set(paths.map(normalizeRemotePath))].sort();
    if (next.some((path) => !this.openFiles.includes(path))) {
      this.openFilesClock.last = undefined; // a newly opened file is checked at once
    }
    this.openFiles = next;
    this.wake();
  }

  /** Scans every watch now and emits what changed, after any round already running. */
  async pollNow(): Promise<void> {
    await this.round;
    await this.runRound(true);
  }

  dispose(): void {
    this.disposed = true;
    this.watches.clear();
    this.stopTimer();
  }

  /** Follows a changed poll interval now, rather than after the round already waiting. */
  reschedule(): void {
    this.wake();
  }

  /** Sets the timer for the next check due, or none when nothing is to be polled. */
  private wake(): void {
    this.stopTimer();
    if (
      this.disposed ||
      this.watches.size === 0 ||
      this.options.intervalMs <= 0 ||
      this.round !== undefined
    ) {
      return; // a round running sets the timer when it ends
    }
    const { nextInMs } = duePolls(this.clocks(), this.options.intervalMs, Date.now());
    if (nextInMs === undefined) {
      return;
    }
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.runRound(false).catch((error: unknown) =>
          this.options.logger.warn(`Polling failed: ${errorMessage(error)}`),
        );
      },
      this.waitingForConnection ? Math.max(nextInMs, this.options.intervalMs) : nextInMs,
    );
    this.timer.unref();
  }

  private clocks(): PollClock[] {
    return this.openFiles.length > 0 ? [...this.watches, this.openFilesClock] : [...this.watches];
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** One round: everything (`all`), or what is due. Rounds never overlap. */
  private runRound(all: boolean): Promise<void> {
    const round: Promise<void> = (this.round ?? Promise.resolve())
      .then(() => this.pollRound(all))
      .finally(() => {
        if (this.round === round) {
          this.round = undefined;
          this.wake();
        }
      });
    this.round = round;
    return round;
  }

  private async pollRound(all: boolean): Promise<void> {
    this.waitingForConnection = !this.host.isConnected();
    if (this.waitingForConnection) {
      return; // paused: a reconnect, or the user's next action, brings the connection back
    }
    const now = Date.now();
    const due = (clock: PollClock): boolean => all || dueAt(clock, this.options.intervalMs) <= now;
    if (this.openFiles.length > 0 && due(this.openFilesClock)) {
      const changes = await this.checkOpenFiles();
      if (changes.length > 0 && !this.disposed) {
        this.emit(uniqueChanges(changes)); // at once: the tree scans after may take a while
      }
    }
    const watches = checkOrder(
      [...this.watches].filter(due).map((watch) => ({
        watch,
        kind:
          watch.snapshot?.entries.get(watch.path)?.kind === 'directory'
            ? ('folder' as const)
            : ('file' as const),
        lastTookMs: watch.last?.tookMs ?? 0,
      })),
    );
    const changes: RemoteChange[] = [];
    for (const { watch } of watches) {
      changes.push(...(await this.scanWatch(watch)));
    }
    if (changes.length > 0 && !this.disposed) {
      this.emit(uniqueChanges(changes));
    }
  }

  private async scanWatch(watch: Watch): Promise<RemoteChange[]> {
    const started = Date.now();
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
      return []; // keep the old snapshot: the next round compares against it
    } finally {
      watch.last = { endedAt: Date.now(), tookMs: Date.now() - started };
    }
    if (!this.watches.has(watch)) {
      return []; // disposed while scanning
    }
    if (next.cut.length > 0) {
      this.warnTruncated(watch, next.cut);
    }
    const changes = watch.snapshot === undefined ? [] : differences(watch.path, watch.snapshot, next);
    watch.snapshot = next;
    return changes;
  }

  /** Stats every open file and brings the snapshots of the watches they are in up to date. */
  private async checkOpenFiles(): Promise<RemoteChange[]> {
    const started = Date.now();
    const stats = new Map<string, Fingerprint | undefined>();
    // Only files these watches report on (others may be served by inotifywait, or not watched at all).
    const files = this.openFiles.filter((path) =>
      [...this.watches].some((watch) => isInScope(scopeOf(watch), path)),
    );
    try {
      await forEachBounded(files, OPEN_FILE_CONCURRENCY, async (path) => {
        try {
          stats.set(path, fingerprintOf(await this.host.stat(path)));
        } catch (error) {
          if (isRemoteFsError(error, 'ENOENT')) {
            stats.set(path, undefined);
          } else if (isConnectionError(error)) {
            throw error;
          } // anything else: unknown this time, left to the scans
        }
      });
    } catch {
      return []; // the connection went: the next round, on the next connection, checks again
    } finally {
      this.openFilesClock.last = { endedAt: Date.now(), tookMs: Date.now() - started };
    }
    const changes: RemoteChange[] = [];
    for (const watch of this.watches) {
      const snapshot = watch.snapshot;
      if (snapshot === undefined) {
        continue; // its first scan is the baseline
      }
      for (const [path, now] of stats) {
        changes.push(...recheckEntry(scopeOf(watch), snapshot, path, now));
      }
    }
    return changes;
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

function scopeOf(watch: Watch): { root: string; recursive: boolean; excludes: ExcludeRules } {
  return { root: watch.path, recursive: watch.recursive, excludes: watch.excludes };
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
