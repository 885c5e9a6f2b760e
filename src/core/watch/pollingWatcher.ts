import { errorMessage, isConnectionError, isRemoteFsError } from '../common/errors';
import { compileExcludeRules, type ExcludeRules } from '../common/excludeRules';
import { forEachBounded } from '../common/limiter';
import type { Logger } from '../common/logger';
import { isSameOrInside, joinRemote, normalizeRemotePath, parentOf } from '../common/remotePath';
import type { EntryStat } from '../fs/entryType';
import type { ListedChild } from '../fs/remoteFileSystem';
import { isOwnTemporaryName } from '../fs/save/temporaries';

export type ChangeKind = 'created' | 'changed' | 'deleted';

export interface RemoteChange {
  readonly kind: ChangeKind;
  readonly path: string;
}

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

/** Folders listed at once during one scan. */
const SCAN_CONCURRENCY = 8;

interface Fingerprint {
  readonly kind: EntryStat['type']['kind'];
  readonly size: number;
  readonly mtimeMs: number;
}

interface Watch {
  readonly path: string;
  readonly recursive: boolean;
  readonly excludes: ExcludeRules;
  /** What the last complete scan saw; undefined before the first one. */
  snapshot: Map<string, Fingerprint> | undefined;
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
      let next: Map<string, Fingerprint> | undefined;
      try {
        next = await this.scan(watch);
      } catch (error) {
        if (!isConnectionError(error)) {
          this.options.logger.warn(`Watching ${watch.path} failed: ${errorMessage(error)}`);
        }
        continue; // keep the old snapshot: the next round compares against it
      }
      if (!this.watches.has(watch)) {
        continue; // disposed while scanning
      }
      if (watch.snapshot !== undefined) {
        changes.push(...differences(watch.snapshot, next));
      }
      watch.snapshot = next;
    }
    if (changes.length > 0 && !this.disposed) {
      this.emit(uniqueChanges(changes));
    }
  }

  private async scan(watch: Watch): Promise<Map<string, Fingerprint>> {
    const seen = new Map<string, Fingerprint>();
    let root: EntryStat;
    try {
      root = await this.host.stat(watch.path);
    } catch (error) {
      if (isRemoteFsError(error, 'ENOENT')) {
        return seen; // gone: reported as deleted, and as created if it comes back
      }
      throw error;
    }
    seen.set(watch.path, fingerprintOf(root));
    if (root.type.kind !== 'directory') {
      return seen;
    }
    let folders = [watch.path];
    while (folders.length > 0) {
      const below: string[] = [];
      await forEachBounded(folders, SCAN_CONCURRENCY, async (folder) => {
        if (seen.size >= this.options.maxEntries) {
          this.warnTruncated(watch);
          return;
        }
        let children: ListedChild[];
        try {
          children = await this.host.list(folder);
        } catch (error) {
          if (isConnectionError(error)) {
            throw error;
          }
          if (!isRemoteFsError(error, 'ENOENT') && !isRemoteFsError(error, 'ENOTDIR')) {
            // Unreadable now (permissions, a server hiccup): not a reason to report its content deleted.
            carryOver(watch.snapshot, seen, folder);
          }
          return;
        }
        for (const { name, stat } of children) {
          const path = joinRemote(folder, name);
          // Our own saves' temporaries and backups come and go within a save: never a change to report.
          if (isOwnTemporaryName(name) || this.isExcluded(watch, path)) {
            continue;
          }
          if (seen.size >= this.options.maxEntries) {
            this.warnTruncated(watch);
            return;
          }
          seen.set(path, fingerprintOf(stat));
          // Links to folders are not followed: they may lead outside, or in a loop. A folder whose
          // whole content is excluded (node_modules/react under VS Code's defaults) is not opened.
          if (
            watch.recursive &&
            stat.type.kind === 'directory' &&
            !stat.type.symlink &&
            !this.isPruned(watch, path)
          ) {
            below.push(path);
          }
        }
      });
      folders = below;
    }
    return seen;
  }

  private isExcluded(watch: Watch, path: string): boolean {
    const relative = relativeTo(watch.path, path);
    return watch.excludes.excludes(relative) || watch.excludes.excludes(path);
  }

  private isPruned(watch: Watch, folder: string): boolean {
    const relative = relativeTo(watch.path, folder);
    return watch.excludes.excludesAllBelow(relative) || watch.excludes.excludesAllBelow(folder);
  }

  private warnTruncated(watch: Watch): void {
    if (!watch.warnedTruncated) {
      watch.warnedTruncated = true;
      this.options.logger.warn(
        `Watching only the first ${this.options.maxEntries} entries of ${watch.path}; changes further down are not seen (setting sftpfs.watch.maxEntries)`,
      );
    }
  }
}

function relativeTo(root: string, path: string): string {
  return path.slice(root === '/' ? 1 : root.length + 1);
}

function fingerprintOf(stat: EntryStat): Fingerprint {
  return { kind: stat.type.kind, size: stat.size, mtimeMs: stat.mtimeMs };
}

/** Keeps what the last scan saw below `folder` when it could not be listed this time. */
function carryOver(
  previous: Map<string, Fingerprint> | undefined,
  next: Map<string, Fingerprint>,
  folder: string,
): void {
  for (const [path, fingerprint] of previous ?? []) {
    if (path !== folder && isSameOrInside(folder, path)) {
      next.set(path, fingerprint);
    }
  }
}

function differences(before: Map<string, Fingerprint>, after: Map<string, Fingerprint>): RemoteChange[] {
  const changes: RemoteChange[] = [];
  for (const [path, now] of after) {
    const then = before.get(path);
    if (then === undefined) {
      changes.push({ kind: 'created', path });
    } else if (then.kind !== now.kind) {
      changes.push({ kind: 'deleted', path }, { kind: 'created', path });
    } else if (now.kind !== 'directory' && (then.size !== now.size || then.mtimeMs !== now.mtimeMs)) {
      changes.push({ kind: 'changed', path });
    }
  }
  for (const path of before.keys()) {
    const parent = parentOf(path);
    // A deleted folder covers its content, as in VS Code's own watcher.
    if (!after.has(path) && !(before.has(parent) && !after.has(parent) && parent !== path)) {
      changes.push({ kind: 'deleted', path });
    }
  }
  return changes;
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
