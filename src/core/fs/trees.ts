import { RemoteFsError, throwIfCancelled, withCode } from '../common/errors';
import { Limiter, forEachBounded } from '../common/limiter';
import { isSafeEntryName, joinRemote } from '../common/remotePath';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';

/** How many link targets are resolved, or tree entries removed or copied, at once. */
export const TREE_CONCURRENCY = 16;
/**
 * Recursive deletes and copies stop below this depth. No real tree is deeper (PATH_MAX is 4096 bytes,
 * so 2048 one-letter folders); a server that shows a folder inside every folder would otherwise lead
 * the walk on forever.
 */
export const MAX_TREE_DEPTH = 2048;

export function tooDeep(path: string): RemoteFsError {
  return new RemoteFsError(
    'EPROTO',
    `The server shows folders nested more than ${MAX_TREE_DEPTH} levels deep; stopped there`,
    { path },
  );
}

/** For recursive deletes and folder copies, which can take long. */
export interface TreeOperationOptions {
  /** Stops between entries with ECANCELED. A cancelled copy leaves nothing; a delete stops where it is. */
  readonly signal?: AbortSignal;
  /** Called after each entry removed or copied. */
  readonly onEntry?: () => void;
}

export async function removeEmptyFolder(session: SftpSession, path: string): Promise<void> {
  try {
    await session.rmdir(path);
  } catch (error) {
    if (error instanceof RemoteFsError && error.code === 'EFAILURE') {
      const children = await session.readdir(path).catch(() => []);
      if (children.some((entry) => entry.filename !== '.' && entry.filename !== '..')) {
        throw withCode(error, 'ENOTEMPTY', 'Folder is not empty', path);
      }
    }
    throw error;
  }
}

/** Depth-first removal with bounded parallelism. Links are removed, never followed. */
export async function removeTree(
  session: SftpSession,
  folder: string,
  control: TreeOperationOptions = {},
): Promise<void> {
  const removals = new Limiter(TREE_CONCURRENCY);
  const walk = async (path: string, depth: number): Promise<void> => {
    if (depth > MAX_TREE_DEPTH) {
      throw tooDeep(path);
    }
    throwIfCancelled(control.signal);
    const entries = await removals.run(() => session.readdir(path));
    await forEachBounded(entries, TREE_CONCURRENCY, async (entry) => {
      if (!isSafeEntryName(entry.filename)) {
        return;
      }
      const child = joinRemote(path, entry.filename);
      if (kindOfMode(entry.attrs.mode) === 'directory') {
        await walk(child, depth + 1);
      } else {
        throwIfCancelled(control.signal);
        await removals.run(() => session.unlink(child));
        control.onEntry?.();
      }
    });
    throwIfCancelled(control.signal);
    await removals.run(() => session.rmdir(path));
    control.onEntry?.();
  };
  await walk(folder, 0);
}
