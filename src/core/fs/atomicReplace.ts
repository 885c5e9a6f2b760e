import { randomBytes } from 'node:crypto';
import type { Attributes } from 'ssh2';

import { RemoteFsError, withCode } from '../common/errors';
import type { Logger } from '../common/logger';
import { baseName, joinRemote, parentOf } from '../common/remotePath';
import type { Handle, SftpSession } from '../sftp/session';
import type { Filled } from '../sftp/transfer';
import { explainCreateFailure, explainWriteFailure } from './refine';

/** Every temporary file of ours carries this marker, so crash leftovers can be recognised later. */
export const TEMP_MARKER = '.sftpfs-';

/**
 * What makes temporary names unique: random per process (other clients and earlier runs), then a
 * counter (this process). Drawing random bytes for every save cost more CPU than the save's requests
 * when VS Code copies a folder of small files.
 */
const temporaryPrefix = randomBytes(6).toString('hex');
let temporaryCount = 0;

/** Names must stay under NAME_MAX (255 bytes) even for long originals. */
export function temporarySiblingOf(target: string): string {
  const name = Buffer.from(baseName(target))
    .subarray(0, 180)
    .toString()
    .replace(/\uFFFD+$/, '');
  const unique = `${temporaryPrefix}${(temporaryCount++).toString(36)}`;
  return joinRemote(parentOf(target), `.${name}${TEMP_MARKER}${unique}.tmp`);
}

export interface ReplaceRequest {
  /** The path that receives the new content (for a symlink, the link's target). */
  readonly target: string;
  /**
   * The attributes of the current file at `target`, or undefined when it does not exist yet. They may
   * still be on their way: the temporary is created meanwhile, so the LSTAT costs no round trip of its
   * own. If the promise rejects (the save must not go ahead), the temporary is removed and the
   * rejection is what the save fails with.
   */
  readonly existing: Attributes | undefined | Promise<Attributes | undefined>;
  /** Permission bits for the result; defaults to the existing file's. */
  readonly permissions?: number;
  /** How many bytes the new content takes, when known: a failure can then be told apart as "no space". */
  readonly size?: number;
  /** Writes the content into the open file and answers how many bytes it wrote. */
  readonly fill: (handle: Handle, path: string) => Promise<Filled>;
  /** True when the caller already holds a handle (see SftpSession.withFile). */
  readonly inner?: boolean;
  /** Told about a temporary that could not be removed (the connection was gone), to remove it later. */
  readonly onOrphan: (temporary: string) => void;
  /** Told when the save went ahead without being atomic, and why: the user should know. */
  readonly onNotAtomic?: (reason: NonAtomicReason) => void;
}

/**
 * Why a save could not be atomic: the folder is not writable (so the file was overwritten in place),
 * or the server cannot replace a file in one rename (so the original was moved aside first).
 */
export type NonAtomicReason = 'folderNotWritable' | 'noPosixRename';

/**
 * Replaces a file so that readers see the old content or the new one, never a mix: write a temporary
 * sibling with the original's permissions, fsync it when the server offers fsync@openssh.com, close
 * it, then rename it over the original with posix-rename@openssh.com. On any failure the temporary is
 * removed and the original is left untouched. Answers the new file's attributes when known.
 *
 * Where that is impossible it falls back deliberately, says so in the log and tells `onNotAtomic`:
 * without posix-rename, the original is moved aside first (a short window without a file, never a
 * truncated one); when the folder is not writable but the file is, the file is overwritten in place.
 */
export async function replaceAtomically(
  session: SftpSession,
  logger: Logger,
  request: ReplaceRequest,
): Promise<Attributes | undefined> {
  const { target } = request;
  const precondition = settle(Promise.resolve(request.existing));
  const temporary = temporarySiblingOf(target);

  let written: Attributes;
  let existing: Attributes | undefined;
  try {
    const pending = await session.withFile(
      temporary,
      'wx',
      {},
      async (handle) => {
        existing = await unwrap(precondition);
        const permissions =
          request.permissions ?? (existing?.mode === undefined ? undefined : existing.mode & 0o7777);
        // The server applies its umask to OPEN's mode, so the exact bits are set on the handle.
        const setMode =
          permissions === undefined ? undefined : session.fsetstat(handle, { mode: permissions }, temporary);
        const [, filled] = await Promise.all([setMode, request.fill(handle, temporary)]);
        // FSYNC and FSTAT go out in the same flight as the CLOSE that follows, and as the CLOSEs of
        // other channels' handles: one round trip for all. The server handles one channel's requests
        // in order, so the data is on disk before the CLOSE.
        const otherHandlesClosed = settle(filled.settled ?? Promise.resolve());
        const flushed = settle(
          session.hasExtension('fsync@openssh.com') ? session.fsync(handle, temporary) : Promise.resolve(),
        );
        const attributes = settle(session.fstat(handle, temporary));
        return { otherHandlesClosed, flushed, attributes };
      },
      request.inner,
    );
    await unwrap(pending.otherHandlesClosed);
    await unwrap(pending.flushed);
    written = await unwrap(pending.attributes);
  } catch (error) {
    await removeOrRemember(session, temporary, request.onOrphan);
    // A save that must not go ahead fails for that reason, whatever else went wrong meanwhile.
    existing = await unwrap(precondition);
    const explained = await explainCreateFailure(
      session,
      await explainWriteFailure(session, error, parentOf(target), request.size),
      temporary,
    );
    if (explained instanceof RemoteFsError && explained.code === 'EACCES' && existing !== undefined) {
      logger.warn(
        `The folder of ${target} is not writable, so an atomic save is impossible; overwriting the file in place instead.`,
      );
      await overwriteInPlace(session, request);
      request.onNotAtomic?.('folderNotWritable');
      return undefined;
    }
    if (explained instanceof RemoteFsError && explained.path === temporary) {
      // Name the file the user saved, not our temporary.
      throw withCode(explained, explained.code, `${explained.summary} while saving`, target);
    }
    throw explained;
  }

  try {
    if (await moveIntoPlace(session, logger, temporary, target, existing !== undefined)) {
      request.onNotAtomic?.('noPosixRename');
    }
  } catch (error) {
    await removeOrRemember(session, temporary, request.onOrphan);
    throw error;
  }
  // A rename keeps the inode, so these are the attributes of the saved file.
  return written;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects, so one sent ahead can wait without an unhandled rejection. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

async function unwrap<T>(settled: Promise<Settled<T>>): Promise<T> {
  const outcome = await settled;
  if (!outcome.ok) {
    throw outcome.error;
  }
  return outcome.value;
}

/** Renames the temporary over `target`; answers true when that took more than one atomic step. */
async function moveIntoPlace(
  session: SftpSession,
  logger: Logger,
  temporary: string,
  target: string,
  targetExists: boolean,
): Promise<boolean> {
  if (session.hasExtension('posix-rename@openssh.com')) {
    await session.posixRename(temporary, target);
    return false;
  }
  if (!targetExists) {
    await session.rename(temporary, target);
    return false;
  }
  // Plain SFTP RENAME refuses to replace on OpenSSH-like servers. Move the original aside, move the new
  // file in, then drop the original: at no point is there a partially written file at `target`.
  logger.warn(`The server lacks posix-rename@openssh.com; replacing ${target} in three steps (not atomic).`);
  const aside = temporarySiblingOf(target);
  await session.rename(target, aside);
  try {
    await session.rename(temporary, target);
  } catch (error) {
    await session.rename(aside, target).catch(() => undefined);
    throw error;
  }
  await removeQuietly(session, aside);
  return true;
}

/** Overwrites without truncating first, then trims to the new length: never an empty file midway. */
async function overwriteInPlace(session: SftpSession, request: ReplaceRequest): Promise<void> {
  await session.withFile(
    request.target,
    'r+',
    {},
    async (handle) => {
      const filled = await request.fill(handle, request.target);
      await session.fsetstat(handle, { size: filled.bytes }, request.target);
      await filled.settled;
      if (session.hasExtension('fsync@openssh.com')) {
        await session.fsync(handle, request.target);
      }
    },
    request.inner,
  );
}

async function removeQuietly(session: SftpSession, path: string): Promise<void> {
  await session.unlink(path).catch(() => undefined);
}

async function removeOrRemember(
  session: SftpSession,
  temporary: string,
  onOrphan: (path: string) => void,
): Promise<void> {
  try {
    await session.unlink(temporary);
  } catch (error) {
    if (session.stoppedBy(error)) {
      onOrphan(temporary);
    }
    // Otherwise it was never created, or is already gone.
  }
}
