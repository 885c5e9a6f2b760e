import type { Attributes } from 'ssh2';

import { RemoteFsError, errorMessage, isRemoteFsError, withCode } from '../../common/errors';
import { baseName, parentOf } from '../../common/remotePath';
import { kindOfMode } from '../../sftp/attrs';
import type { SftpSession } from '../../sftp/session';
import { explainCreateFailure, explainWriteFailure } from '../refine';
import {
  removeOrRemember,
  settle,
  unwrap,
  type SaveContext,
  type SaveRequest,
  type Settled,
  type StartedFill,
} from './saveContext';
import { ownerMayNotWrite, reasonAgainstRename } from './savePlan';
import { temporarySiblingOf } from './temporaries';

/** Replacing by rename would change something the user can see; the file must be written in place. */
export class RenameWouldShow extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Replaces a file so that readers see the old content or the new one, never a mix: write a temporary
 * sibling, give it the original's owner, group and mode, fsync it when the server offers
 * fsync@openssh.com, close it, then rename it over the original with posix-rename@openssh.com. On any
 * failure the temporary is removed and the original is left untouched. Answers the new file's
 * attributes.
 *
 * Round trips: the temporary's OPEN (the other channels' OPENs and the LSTAT in its flight); the
 * WRITEs with every channel's FSYNC behind them; then, once every FSYNC is answered (the data is on
 * disk), FSTAT, CLOSE and RENAME in one flight. Without fsync@openssh.com the RENAME waits for the
 * CLOSE's answer, the only sign of data that did not reach the disk.
 *
 * Throws RenameWouldShow, having touched nothing, when the result would differ from the original in
 * more than content (another owner or group, a split hard link, a folder that is not writable, no
 * posix-rename): the caller then writes in place.
 */
export async function replaceByRename(context: SaveContext, request: SaveRequest): Promise<Attributes> {
  const { session } = context;
  const { target } = request;
  const posixRename = session.hasExtension('posix-rename@openssh.com');
  const precondition = settle(Promise.resolve(request.existing));
  // The link count is asked while the temporary is written (a listing of the folder, since SFTP v3
  // attributes have none); it is needed only before the rename.
  const links = settle(
    precondition.then((outcome) =>
      outcome.ok && outcome.value !== undefined && kindOfMode(outcome.value.mode) === 'file'
        ? (request.links ?? linkCountOf(session, target))
        : undefined,
    ),
  );
  const temporary = temporarySiblingOf(target);
  const flush = session.hasExtension('fsync@openssh.com');

  let existing: Attributes | undefined;
  let written: Attributes;
  /** Why the temporary must not replace the original after all (then it went nowhere). */
  let refusal: Error | undefined;
  let started: StartedFill | undefined;
  /** The RENAME, when it went out in the flight of the temporary's CLOSE, and the FSTAT before it. */
  let renamed: Promise<Settled<void>> | undefined;
  let statBeforeClose: Promise<Settled<Attributes>> | undefined;
  const putInPlace = (): Promise<void> =>
    // Plain RENAME never replaces on OpenSSH: a file created meanwhile by someone else is not clobbered.
    existing === undefined ? session.rename(temporary, target) : session.posixRename(temporary, target);
  try {
    const opening = session.withFile(
      temporary,
      'wx',
      {},
      async (handle) => {
        existing = await unwrap(precondition);
        const early =
          existing === undefined
            ? undefined
            : reasonAgainstRename({ existing, posixRename, identity: context.identity() });
        if (early !== undefined) {
          throw new RenameWouldShow(early);
        }
        // Who we are, from a file we just created, before its owner changes (asked once per host).
        const created =
          existing !== undefined && context.identity() === undefined
            ? settle(session.fstat(handle, temporary))
            : undefined;
        // Owner and group first: changing them clears set-user-ID and set-group-ID bits, which the mode
        // then restores. The server applies its umask to OPEN's mode, so the exact bits are set here.
        const owner =
          existing?.uid === undefined || existing.gid === undefined
            ? undefined
            : settle(session.fsetstat(handle, { uid: existing.uid, gid: existing.gid }, temporary));
        const permissions = existing?.mode === undefined ? request.permissions : existing.mode & 0o7777;
        const modeSet =
          permissions === undefined
            ? undefined
            : settle(session.fsetstat(handle, { mode: permissions }, temporary));
        // The fill settles before anything fails this use of the handle, which then closes it: no
        // WRITE may follow the CLOSE (the server may give the handle to the next file opened).
        const filled = await (started === undefined ? request.fill(handle, temporary) : started.fill(handle));
        if (modeSet !== undefined) {
          await unwrap(modeSet);
        }
        // Answered by now: they went out before the WRITEs, on the same channel.
        const ownerKept = await owner;
        learnIdentityFrom(context, await created);
        const whyNot = (): Promise<Error | undefined> =>
          refusalToRename(context, { existing, posixRename, ownerKept, links, target });
        if (filled.flushed === true) {
          // Every channel's FSYNC came back with its last WRITEs: the data is on disk. The FSTAT, the
          // CLOSE and, when nothing speaks against it, the RENAME go out in one flight.
          const attributes = (statBeforeClose = settle(session.fstat(handle, temporary)));
          const verdict = await whyNot();
          return { attributes, refusal: verdict, renameNow: verdict === undefined };
        }
        // FSYNC and FSTAT go out in the same flight as the CLOSE that follows: the server handles one
        // channel's requests in order, so the data is on disk before the CLOSE. The RENAME waits for
        // the CLOSE's answer.
        const flushed = settle(flush ? session.fsync(handle, temporary) : Promise.resolve());
        const attributes = settle(session.fstat(handle, temporary));
        return { flushed, attributes, refusal: await whyNot(), renameNow: false };
      },
      false,
      ({ renameNow }) => {
        if (renameNow) {
          renamed = settle(putInPlace());
        }
      },
    );
    // The other channels' OPENs follow the temporary's in the same flight.
    started = request.startFill?.(temporary, { flush });
    const pending = await opening;
    if (pending.flushed !== undefined) {
      await unwrap(pending.flushed);
    }
    written = await unwrap(pending.attributes);
    refusal = pending.refusal;
  } catch (error) {
    await started?.abandon();
    if (renamed !== undefined && (await renamed).ok) {
      // Only the CLOSE after an answered FSYNC failed: the new content is in place and on disk.
      context.logger.warn(`Saved ${target}, but closing the temporary failed: ${errorMessage(error)}`);
      const attributes = await statBeforeClose;
      return attributes?.ok === true ? attributes.value : session.stat(target);
    }
    await removeOrRemember(context, temporary);
    // A save that must not go ahead fails for that reason, whatever else went wrong meanwhile.
    existing = await unwrap(precondition);
    if (error instanceof RenameWouldShow) {
      throw error;
    }
    const explained = await explainCreateFailure(
      session,
      await explainWriteFailure(session, error, parentOf(target), request.size),
      temporary,
    );
    if (isRemoteFsError(explained, 'EACCES') && existing !== undefined) {
      throw new RenameWouldShow('its folder is not writable');
    }
    if (explained instanceof RemoteFsError && explained.path === temporary) {
      // Name the file the user saved, not our temporary.
      throw withCode(explained, explained.code, `${explained.summary} while saving`, target);
    }
    throw explained;
  }

  if (refusal !== undefined) {
    await removeOrRemember(context, temporary);
    throw refusal;
  }
  const outcome = await (renamed ?? settle(putInPlace()));
  if (!outcome.ok) {
    const error = outcome.error;
    await removeOrRemember(context, temporary);
    if (existing !== undefined && isRemoteFsError(error, 'EACCES')) {
      // A sticky folder lets only a file's owner replace it, for one.
      throw new RenameWouldShow(`the folder refuses to let it be replaced (${errorMessage(error)})`);
    }
    throw error;
  }
  // A rename keeps the inode, so these are the attributes of the saved file.
  return written;
}

/** Learns the login's uid and gid from the FSTAT of a file it just created. */
function learnIdentityFrom(context: SaveContext, created: Settled<Attributes> | undefined): void {
  if (created?.ok === true && created.value.uid !== undefined && created.value.gid !== undefined) {
    context.learnIdentity({ uid: created.value.uid, gid: created.value.gid });
  }
}

/**
 * Why the written temporary must not replace `existing` after all, as the error the save fails
 * with: the file is read-only for its owner, or the result would show (see reasonAgainstRename).
 */
async function refusalToRename(
  context: SaveContext,
  facts: {
    existing: Attributes | undefined;
    posixRename: boolean;
    ownerKept: Settled<void> | undefined;
    links: Promise<Settled<number | 'unknown' | undefined>>;
    target: string;
  },
): Promise<Error | undefined> {
  const { existing } = facts;
  if (existing === undefined) {
    return undefined;
  }
  const identity = context.identity();
  if (identity !== undefined && ownerMayNotWrite(existing, identity)) {
    return new RemoteFsError('EACCES', 'The file is read-only', { path: facts.target });
  }
  const reason = reasonAgainstRename({
    existing,
    posixRename: facts.posixRename,
    identity,
    ownerKept: facts.ownerKept?.ok !== false,
    links: await linksOrUnknown(facts.links),
  });
  return reason === undefined ? undefined : new RenameWouldShow(reason);
}

async function linksOrUnknown(
  links: Promise<Settled<number | 'unknown' | undefined>>,
): Promise<number | 'unknown' | undefined> {
  const outcome = await links;
  return outcome.ok ? outcome.value : 'unknown';
}

/**
 * How many hard links `path` has, from the long name of its entry in its folder's listing (SFTP v3
 * attributes have no link count); 'unknown' when the listing does not say.
 */
async function linkCountOf(session: SftpSession, path: string): Promise<number | 'unknown'> {
  const name = baseName(path);
  const entries = await session.readdir(parentOf(path), (entry) => entry === name);
  return entries.find((entry) => entry.filename === name)?.links ?? 'unknown';
}
