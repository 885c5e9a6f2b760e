import { isConnectionError, isRemoteFsError } from '../common/errors';
import type { ExcludeRules } from '../common/excludeRules';
import { isSameOrInside, parentOf } from '../common/remotePath';
import type { EntryStat } from '../fs/entryType';
import type { ListedChild } from '../fs/remoteFileSystem';
import { isOwnTemporaryName } from '../fs/save/temporaries';
import { walkTree, walkingListedChildren } from '../fs/treeWalker';

export type ChangeKind = 'created' | 'changed' | 'deleted';

export interface RemoteChange {
  readonly kind: ChangeKind;
  readonly path: string;
}

export interface Fingerprint {
  readonly kind: EntryStat['type']['kind'];
  readonly size: number;
  readonly mtimeMs: number;
}

/** What one scan of a watch saw. */
export interface Scan {
  readonly entries: Map<string, Fingerprint>;
  /**
   * Folders whose every child that is not excluded is in `entries`: only there does a missing entry
   * mean deleted, or a new one created. A folder cut by the entry limit, unreadable this time, or
   * not opened at all is not complete, and nothing is said about what is below it.
   */
  readonly complete: Set<string>;
  /** Folders not listed, or listed in part, because of the entry limit: first the shallowest, by name. */
  readonly cut: string[];
}

export interface ScanScope {
  readonly root: string;
  readonly recursive: boolean;
  readonly excludes: ExcludeRules;
  readonly maxEntries: number;
  /** The scan before, whose entries below a folder unreadable now are kept. */
  readonly previous: Scan | undefined;
}

export interface ScannedHost {
  stat(path: string): Promise<EntryStat>;
  list(path: string): Promise<ListedChild[]>;
}

/** Folders listed at once during one scan. */
const SCAN_CONCURRENCY = 8;

/**
 * Scans a watch breadth-first, each folder's children by name, and stops at `maxEntries`: however the
 * replies arrive, the same tree gives the same cut, so no entry drifts in and out of view between
 * rounds. The tree walker's listings run ahead (8 at once) but are taken in that order.
 */
export async function scanTree(host: ScannedHost, scope: ScanScope): Promise<Scan> {
  const scan: Scan = { entries: new Map(), complete: new Set(), cut: [] };
  let root: EntryStat;
  try {
    root = await host.stat(scope.root);
  } catch (error) {
    if (isRemoteFsError(error, 'ENOENT')) {
      return scan; // gone: reported as deleted, and as created if it comes back
    }
    throw error;
  }
  scan.entries.set(scope.root, fingerprintOf(root));
  if (root.type.kind !== 'directory') {
    return scan;
  }
  const outcome = await walkTree(
    {
      root: scope.root,
      list: walkingListedChildren((folder) => host.list(folder)),
      concurrency: SCAN_CONCURRENCY,
      excludes: scope.excludes,
      beyondMaxDepth: 'skip',
      // Our saves' temporaries come and go within a save; links to folders are not followed (the
      // walker's rule): they may lead outside, or in a loop.
      opens: (folder) => scope.recursive && !isOwnTemporaryName(folder.name),
      onListError: (folder, error) => {
        if (isConnectionError(error)) {
          throw error;
        }
        if (!isRemoteFsError(error, 'ENOENT') && !isRemoteFsError(error, 'ENOTDIR')) {
          // Unreadable now (permissions, a server hiccup): not a reason to report its content deleted.
          carryOver(scope.previous, scan.entries, folder);
        }
      },
      onFolderListed: (folder) => scan.complete.add(folder),
    },
    (entry) => {
      if (isOwnTemporaryName(entry.name)) {
        return true;
      }
      if (scan.entries.size >= scope.maxEntries) {
        return false;
      }
      scan.entries.set(entry.path, fingerprintOf(entry.item.stat));
      return true;
    },
  );
  scan.cut.push(...outcome.unfinished);
  return scan;
}

/**
 * What changed from one scan to the next, saying nothing about what either scan could not see: an
 * entry is created only where the scan before listed its folder completely, deleted only where this
 * one did. A deleted folder covers its content, as in VS Code's own watcher.
 */
export function differences(root: string, before: Scan, after: Scan): RemoteChange[] {
  const knownIn = (scan: Scan, path: string): boolean => path === root || scan.complete.has(parentOf(path));
  const changes: RemoteChange[] = [];
  for (const [path, now] of after.entries) {
    const then = before.entries.get(path);
    if (then === undefined) {
      if (knownIn(before, path)) {
        changes.push({ kind: 'created', path });
      }
    } else if (then.kind !== now.kind) {
      changes.push({ kind: 'deleted', path }, { kind: 'created', path });
    } else if (now.kind !== 'directory' && (then.size !== now.size || then.mtimeMs !== now.mtimeMs)) {
      changes.push({ kind: 'changed', path });
    }
  }
  for (const path of before.entries.keys()) {
    if (!after.entries.has(path) && knownIn(after, path)) {
      changes.push({ kind: 'deleted', path });
    }
  }
  return changes;
}

/** The path is one a watch reports on: its root, or below it (directly, unless recursive) and not excluded. */
export function isInScope(scope: Pick<ScanScope, 'root' | 'recursive' | 'excludes'>, path: string): boolean {
  return (
    path === scope.root ||
    (isSameOrInside(scope.root, path) &&
      (scope.recursive || parentOf(path) === scope.root) &&
      !isExcluded(scope, path))
  );
}

function isExcluded(scope: Pick<ScanScope, 'root' | 'excludes'>, path: string): boolean {
  return scope.excludes.excludes(relativeTo(scope.root, path)) || scope.excludes.excludes(path);
}

export function relativeTo(root: string, path: string): string {
  return path.slice(root === '/' ? 1 : root.length + 1);
}

export function fingerprintOf(stat: EntryStat): Fingerprint {
  return { kind: stat.type.kind, size: stat.size, mtimeMs: stat.mtimeMs };
}

/** Keeps what the last scan saw below `folder` when it could not be listed this time. */
function carryOver(previous: Scan | undefined, next: Map<string, Fingerprint>, folder: string): void {
  for (const [path, fingerprint] of previous?.entries ?? []) {
    if (path !== folder && isSameOrInside(folder, path)) {
      next.set(path, fingerprint);
    }
  }
}

/**
 * Brings one entry of a scan up to date from a stat of its own (a file open in an editor, checked
 * between scans), and answers what changed, by the rules of `differences`: nothing is said about an
 * entry whose folder the scan did not list completely. `now` is undefined when the entry is gone.
 * Folders are left to the scans, which see their content.
 */
export function recheckEntry(
  scope: Pick<ScanScope, 'root' | 'recursive' | 'excludes'>,
  scan: Scan,
  path: string,
  now: Fingerprint | undefined,
): RemoteChange[] {
  const known = path === scope.root || scan.complete.has(parentOf(path));
  const then = scan.entries.get(path);
  if (!isInScope(scope, path) || !known || then?.kind === 'directory' || now?.kind === 'directory') {
    return [];
  }
  if (now === undefined) {
    scan.entries.delete(path);
    return then === undefined ? [] : [{ kind: 'deleted', path }];
  }
  scan.entries.set(path, now);
  if (then === undefined) {
    return [{ kind: 'created', path }];
  }
  if (then.kind !== now.kind) {
    return [
      { kind: 'deleted', path },
      { kind: 'created', path },
    ];
  }
  return then.size !== now.size || then.mtimeMs !== now.mtimeMs ? [{ kind: 'changed', path }] : [];
}
