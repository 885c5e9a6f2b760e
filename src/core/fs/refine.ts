import type { Attributes } from 'ssh2';

import { RemoteFsError, isConnectionError, withCode } from '../common/errors';
import { parentOf } from '../common/remotePath';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';

/** lstat that answers `undefined` for a missing path instead of throwing. */
export async function lstatOrUndefined(session: SftpSession, path: string): Promise<Attributes | undefined> {
  try {
    return await session.lstat(path);
  } catch (error) {
    if (error instanceof RemoteFsError && error.code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

/**
 * SFTP v3 has no status for "exists", "not empty" or "parent missing", and OpenSSH folds them all
 * into FAILURE (or NO_SUCH_FILE). When creating `path` failed, a STAT of the path and of its parent
 * says which it was. Connection errors and anything the probes cannot explain pass through unchanged.
 */
export async function explainCreateFailure(
  session: SftpSession,
  error: unknown,
  path: string,
): Promise<unknown> {
  if (!(error instanceof RemoteFsError) || isConnectionError(error)) {
    return error;
  }
  if (error.code !== 'EFAILURE' && error.code !== 'ENOENT') {
    return error;
  }
  try {
    if (error.code === 'EFAILURE' && (await lstatOrUndefined(session, path)) !== undefined) {
      return withCode(error, 'EEXIST', 'Already exists', path);
    }
    const parent = parentOf(path);
    const parentAttrs = await lstatOrUndefined(session, parent);
    if (parentAttrs === undefined) {
      return withCode(error, 'ENOENT', 'Parent folder does not exist', parent);
    }
    if (kindOfMode(parentAttrs.mode) !== 'directory' && kindOfMode(parentAttrs.mode) !== 'symlink') {
      return withCode(error, 'ENOTDIR', 'Parent is not a folder', parent);
    }
  } catch {
    // The probe itself failed (connection lost, say): the original error is the better report.
  }
  return error;
}

/**
 * OpenSSH reports a full disk as a bare FAILURE. When writing `size` bytes under `folder` failed that
 * way and the server says less space than that is free, the error becomes ENOSPC ("no space"). Any
 * other error, or an unknown size, passes through unchanged.
 */
export async function explainWriteFailure(
  session: SftpSession,
  error: unknown,
  folder: string,
  size: number | undefined,
): Promise<unknown> {
  if (!(error instanceof RemoteFsError) || error.code !== 'EFAILURE' || size === undefined) {
    return error;
  }
  const free = await session.freeSpace(folder).catch(() => undefined);
  if (free === undefined || free >= size) {
    return error;
  }
  const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);
  return withCode(
    error,
    'ENOSPC',
    `No space left on the server (${mib(free)} MiB free, ${mib(size)} MiB needed)`,
    error.path ?? folder,
  );
}
