import { RemoteFsError, throwIfCancelled, withCode } from '../common/errors';
import { TaskPool, forEachBounded } from '../common/limiter';
import type { SftpSession } from '../sftp/session';
import { walkTree, walkingSession } from './treeWalker';

/** How many link targets are resolved, or tree entries removed or copied, at once. */
export const TREE_CONCURRENCY = 16;

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

/**
 * Removes a folder and everything in it. The walker lists the tree (16 listings in flight); files and
 * links are removed as they are found (links are removed, never followed), then the folders, deepest
 * level first, so each is empty when its turn comes. Cancelling stops where it is.
 */
export async function removeTree(
  session: SftpSession,
  folder: string,
  control: TreeOperationOptions = {},
): Promise<void> {
  const removals = new TaskPool(TREE_CONCURRENCY);
  const foldersByDepth: string[][] = [[folder]];
  const removeOne = async (remove: () => Promise<void>): Promise<void> => {
    throwIfCancelled(control.signal);
    await remove();
    control.onEntry?.();
  };
  try {
    await walkTree(
      {
        root: folder,
        list: walkingSession(session),
        ...(control.signal === undefined ? {} : { signal: control.signal }),
      },
      (entry) => {
        if (entry.kind === 'directory') {
          (foldersByDepth[entry.depth] ??= []).push(entry.path);
        } else {
          removals.add(() => removeOne(() => session.unlink(entry.path)));
        }
        return !removals.failed;
      },
    );
  } catch (error) {
    await removals.finished().catch(() => undefined); // the walk's own failure is the one to tell
    throw error;
  }
  await removals.finished();
  for (let depth = foldersByDepth.length - 1; depth >= 0; depth--) {
    await forEachBounded(foldersByDepth[depth] ?? [], TREE_CONCURRENCY, (path) =>
      removeOne(() => session.rmdir(path)),
    );
  }
}
