import type { Attributes } from 'ssh2';

import { RemoteFsError, throwIfCancelled } from '../common/errors';
import type { ExcludeRules } from '../common/excludeRules';
import { isSafeEntryName, joinRemote } from '../common/remotePath';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';
import type { ListedChild } from './remoteFileSystem';

/** What an entry is, as a walk sees it: a link is a link, whatever it points to. */
export type WalkedKind = 'directory' | 'file' | 'symlink' | 'other';

/** One child as the caller's listing function gives it; `item` is whatever the caller needs back. */
export interface ListedEntry<T> {
  readonly name: string;
  readonly kind: WalkedKind;
  readonly item: T;
}

/** One entry found by a walk. */
export interface WalkedEntry<T> extends ListedEntry<T> {
  /** Absolute. */
  readonly path: string;
  /** Relative to the walk's root, with `/` between names. */
  readonly relative: string;
  /** 1 for the root's children. */
  readonly depth: number;
}

export interface TreeWalk<T> {
  /** The folder walked, absolute and normalised. It is listed, not reported. */
  readonly root: string;
  /** Lists one folder. Listings of a level are issued together, `concurrency` at once. */
  list(folder: string): Promise<ReadonlyArray<ListedEntry<T>>>;
  /** Listings in flight at once (default WALK_CONCURRENCY). */
  readonly concurrency?: number;
  /**
   * Excluded entries (matched relative to the root, and as absolute paths) are neither reported nor
   * opened; folders whose whole content is excluded are reported but not opened.
   */
  readonly excludes?: ExcludeRules;
  /** Folders deeper than this are not opened (default MAX_TREE_DEPTH); see `beyondMaxDepth`. */
  readonly maxDepth?: number;
  /** 'fail' (default) throws EPROTO at a folder too deep to open; 'skip' reports it, unopened. */
  readonly beyondMaxDepth?: 'fail' | 'skip';
  /** Checked before each listing is taken: an aborted walk throws ECANCELED. */
  readonly signal?: AbortSignal;
  /** A name that does not name exactly one child (`../x`, `a/b`): never reported, never opened. */
  onUnsafeName?(folder: string, name: string): void;
  /**
   * A folder that could not be listed: without this the walk fails with the error; with it, the
   * folder is passed over unless this throws (the root too: callers that need it throw for it).
   */
  onListError?(folder: string, error: unknown): void;
  /** Every child of `folder` has been handed to `visit` (not called for a folder the walk stopped in). */
  onFolderListed?(folder: string): void;
  /** The caller's own reason not to open a folder (it is reported all the same). */
  opens?(folder: WalkedEntry<T>): boolean;
}

/** Listings in flight at once in a walk. */
export const WALK_CONCURRENCY = 16;

/**
 * Walks stop below this depth. No real tree is deeper (PATH_MAX is 4096 bytes, so 2048 one-letter
 * folders); a server that shows a folder inside every folder would otherwise lead a walk on forever.
 */
export const MAX_TREE_DEPTH = 2048;

export function tooDeep(path: string, levels = MAX_TREE_DEPTH): RemoteFsError {
  return new RemoteFsError(
    'EPROTO',
    `The server shows folders nested more than ${levels} levels deep; stopped there`,
    { path },
  );
}

export interface WalkOutcome {
  /** `visit` answered false before the whole tree was seen. */
  readonly stopped: boolean;
  /** Folders listed. */
  readonly listings: number;
  /**
   * When stopped: the folders listed in part or not at all, in walk order (the one `visit` stopped
   * in, then those waiting). Empty otherwise.
   */
  readonly unfinished: string[];
}

interface QueuedFolder {
  readonly path: string;
  readonly relative: string;
  readonly depth: number;
}

type Listing<T> = { readonly children: ReadonlyArray<ListedEntry<T>> } | { readonly error: unknown };

/**
 * The one tree walk: breadth-first, each folder's children by name, each entry handed to `visit` as
 * soon as its folder's listing is taken (`visit` answers false to stop). Listings run ahead of the
 * one being taken, up to `concurrency` at once and across levels, so a tree costs about one round trip
 * per `concurrency` folders rather than one per folder; they are taken in the queue's order, so the
 * same tree gives the same order however the replies arrive. Links are reported, never followed.
 * Callers keep their own policy (what to do with an entry, in which order to act).
 */
export async function walkTree<T>(
  walk: TreeWalk<T>,
  visit: (entry: WalkedEntry<T>) => boolean | void,
): Promise<WalkOutcome> {
  const concurrency = Math.max(1, walk.concurrency ?? WALK_CONCURRENCY);
  const maxDepth = walk.maxDepth ?? MAX_TREE_DEPTH;
  const queue: QueuedFolder[] = [{ path: walk.root, relative: '', depth: 0 }];
  const listings: Array<Promise<Listing<T>> | undefined> = [];
  const runAhead = (taking: number): void => {
    while (listings.length < queue.length && listings.length < taking + concurrency) {
      const folder = queue[listings.length] as QueuedFolder;
      listings.push(
        walk.list(folder.path).then(
          (children) => ({ children }),
          (error: unknown) => ({ error }),
        ),
      );
    }
  };
  for (let taking = 0; taking < queue.length; taking++) {
    throwIfCancelled(walk.signal);
    runAhead(taking);
    const folder = queue[taking] as QueuedFolder;
    const listing = await (listings[taking] as Promise<Listing<T>>);
    listings[taking] = undefined; // a long walk keeps only the listings still ahead
    throwIfCancelled(walk.signal);
    if ('error' in listing) {
      if (walk.onListError === undefined) {
        throw listing.error;
      }
      walk.onListError(folder.path, listing.error);
      continue;
    }
    for (const child of [...listing.children].sort(byName)) {
      if (!isSafeEntryName(child.name)) {
        if (child.name !== '.' && child.name !== '..') {
          walk.onUnsafeName?.(folder.path, child.name);
        }
        continue;
      }
      const entry: WalkedEntry<T> = {
        ...child,
        path: joinRemote(folder.path, child.name),
        relative: folder.relative === '' ? child.name : `${folder.relative}/${child.name}`,
        depth: folder.depth + 1,
      };
      if (matches(walk.excludes?.excludes, entry)) {
        continue;
      }
      if (visit(entry) === false) {
        return {
          stopped: true,
          listings: taking + 1,
          unfinished: queue.slice(taking).map((waiting) => waiting.path),
        };
      }
      if (entry.kind !== 'directory' || matches(walk.excludes?.excludesAllBelow, entry)) {
        continue;
      }
      if (walk.opens !== undefined && !walk.opens(entry)) {
        continue;
      }
      if (entry.depth > maxDepth) {
        if (walk.beyondMaxDepth === 'skip') {
          continue;
        }
        throw tooDeep(entry.path, maxDepth);
      }
      queue.push({ path: entry.path, relative: entry.relative, depth: entry.depth });
    }
    walk.onFolderListed?.(folder.path);
  }
  return { stopped: false, listings: queue.length, unfinished: [] };
}

/** Code-unit order, as `sort` without a comparator would give for the names alone. */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function matches(
  matcher: ((path: string) => boolean) | undefined,
  entry: { path: string; relative: string },
): boolean {
  return matcher !== undefined && (matcher(entry.relative) || matcher(entry.path));
}

/** A walk's listing from the file system's own (links resolved, so a link's target kind is known). */
export function walkingListedChildren(
  list: (folder: string) => Promise<ListedChild[]>,
): (folder: string) => Promise<Array<ListedEntry<ListedChild>>> {
  return async (folder) =>
    (await list(folder)).map((child) => ({
      name: child.name,
      kind: child.stat.type.symlink ? 'symlink' : kindOfEntryType(child.stat.type.kind),
      item: child,
    }));
}

/** A walk's listing straight from an SFTP session: one READDIR per folder, links not resolved. */
export function walkingSession(
  session: SftpSession,
): (folder: string) => Promise<Array<ListedEntry<Attributes>>> {
  return async (folder) =>
    (await session.readdir(folder)).map((entry) => ({
      name: entry.filename,
      kind: kindOfMode(entry.attrs.mode),
      item: entry.attrs,
    }));
}

function kindOfEntryType(kind: ListedChild['stat']['type']['kind']): WalkedKind {
  return kind === 'unknown' ? 'other' : kind;
}
