import { RemoteFsError, errorMessage, isRemoteFsError, withCode } from '../../common/errors';
import { parentOf } from '../../common/remotePath';
import type { Handle, SftpSession } from '../../sftp/session';
import { writeWholeFile } from '../../sftp/stripedUpload';
import { readWholeFile, streamCopy } from '../../sftp/transfer';
import { explainWriteFailure } from '../refine';
import {
  removeOrRemember,
  settle,
  unwrap,
  type Backup,
  type SaveContext,
  type SaveRequest,
  type Settled,
} from './saveContext';
import { backupSiblingOf } from './temporaries';

/**
 * Overwrites an existing file in place, keeping its inode, so its owner, group, mode and hard links
 * stay exactly as they were. The original is first copied beside it (server-side with copy-data when
 * offered), then the new bytes are written over it and only then is the file cut to the new length,
 * so it is never empty midway. If the write does not complete, the original content is put back from
 * the copy: at once when the server refused something, on reconnecting when the connection dropped.
 * A file the login user may not write fails with EACCES before anything is copied.
 */
export async function writeInPlace(context: SaveContext, request: SaveRequest): Promise<void> {
  const { session } = context;
  const { target } = request;
  await session.withFile(target, 'r+', {}, async (handle) => {
    // The size goes out with the copy's OPEN: it is needed only for a copy kept in memory.
    const size = settle(session.fstat(handle, target).then((attrs) => attrs.size ?? 0));
    const backup = await makeBackup(context, handle, target, size);
    const release = backup === undefined ? undefined : context.protect(backup);
    try {
      const filled = await request.fill(handle, target);
      await session.fsetstat(handle, { size: filled.bytes }, target);
      if (session.hasExtension('fsync@openssh.com')) {
        await session.fsync(handle, target);
      }
    } catch (error) {
      if (backup !== undefined && !session.stoppedBy(error)) {
        await putBack(context, handle, backup);
        release?.();
        await discard(context, backup);
      }
      // After a drop the backup stays protected: the file system restores it on reconnecting.
      throw await explainWriteFailure(session, error, parentOf(target), request.size);
    }
    release?.();
    if (backup !== undefined) {
      await discard(context, backup);
    }
  });
}

/** Puts a backup's content back into the file it was taken from, over a handle open on that file. */
export async function restoreBackup(session: SftpSession, handle: Handle, backup: Backup): Promise<void> {
  const { target } = backup;
  if (backup.path !== undefined) {
    await session.withFile(
      backup.path,
      'r',
      {},
      async (saved) => {
        if (session.hasExtension('copy-data')) {
          await session.copyData(saved, handle, target);
        } else {
          await streamCopy(session, saved, handle, target, backup.size);
        }
      },
      true,
    );
  } else if (backup.bytes !== undefined) {
    await writeWholeFile(session, handle, target, backup.bytes);
  }
  await session.fsetstat(handle, { size: backup.size }, target);
  if (session.hasExtension('fsync@openssh.com')) {
    await session.fsync(handle, target);
  }
}

/**
 * A copy of the file's current content: a file beside it readable by the login user only, or, where
 * the folder is not writable, the bytes in memory (up to a limit). Undefined when neither is possible:
 * the write then goes ahead unprotected, and the user is told. A copy that fails for lack of space
 * fails the save before the original is touched.
 */
async function makeBackup(
  context: SaveContext,
  handle: Handle,
  target: string,
  sizeSoon: Promise<Settled<number>>,
): Promise<Backup | undefined> {
  const { session } = context;
  const path = backupSiblingOf(target);
  try {
    await session.withFile(
      path,
      'wx',
      { mode: 0o600 },
      async (copy) => {
        if (session.hasExtension('copy-data')) {
          await session.copyData(handle, copy, path);
        } else {
          // The FSTAT went out before this OPEN, so it is usually answered by now; its size keeps the
          // copy's READs to what the file holds (see streamCopyBetween).
          const size = await sizeSoon;
          await streamCopy(session, handle, copy, path, size.ok ? size.value : undefined);
        }
        if (session.hasExtension('fsync@openssh.com')) {
          await session.fsync(copy, path);
        }
      },
      true,
    );
    return { target, path, size: await unwrap(sizeSoon) };
  } catch (error) {
    await removeOrRemember(context, path);
    if (!isRemoteFsError(error, 'EACCES')) {
      const size = await sizeSoon;
      const explained = await explainWriteFailure(
        session,
        error,
        parentOf(target),
        size.ok ? size.value : undefined,
      );
      throw explained instanceof RemoteFsError && explained.path === path
        ? withCode(
            explained,
            explained.code,
            `${explained.summary} while keeping a copy of the original`,
            target,
          )
        : explained;
    }
  }
  const size = await unwrap(sizeSoon);
  if (size <= context.maxBackupInMemoryBytes) {
    const bytes = await readWholeFile(session, handle, target, size, context.maxBackupInMemoryBytes);
    return { target, bytes, size: bytes.length };
  }
  context.logger.warn(
    `No copy of ${target} can be kept while it is overwritten: its folder is not writable and it is larger than ${context.maxBackupInMemoryBytes} bytes`,
  );
  context.onUnprotected(target);
  return undefined;
}

/** Restores after a refused write; if even that fails, the backup file is kept and named in the error. */
async function putBack(context: SaveContext, handle: Handle, backup: Backup): Promise<void> {
  try {
    await restoreBackup(context.session, handle, backup);
    context.logger.info(`Put the original content of ${backup.target} back after the save failed`);
  } catch (error) {
    if (context.session.stoppedBy(error)) {
      throw error; // still protected: restored on reconnecting
    }
    const kept = backup.path === undefined ? '' : `; the original content is kept in ${backup.path}`;
    context.logger.error(
      `Could not put back the original content of ${backup.target}${kept}: ${errorMessage(error)}`,
    );
    throw new RemoteFsError('EFAILURE', `The save failed and the original could not be put back${kept}`, {
      path: backup.target,
      cause: error,
    });
  }
}

async function discard(context: SaveContext, backup: Backup): Promise<void> {
  if (backup.path !== undefined) {
    await removeOrRemember(context, backup.path);
  }
}
