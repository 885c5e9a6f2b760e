import type { Attributes } from 'ssh2';

import type { Logger } from '../../common/logger';
import type { Handle, SftpSession } from '../../sftp/session';
import type { Filled } from '../../sftp/stripedUpload';
import type { Identity } from './savePlan';

/** One save: what to write where. */
export interface SaveRequest {
  /** The path that receives the new content (for a symlink, the link's target, as the server resolved it). */
  readonly target: string;
  /**
   * The attributes of the current file at `target`, or undefined when it does not exist yet. They may
   * still be on their way: the temporary is created meanwhile, so the LSTAT costs no round trip of its
   * own. If the promise rejects (the save must not go ahead), nothing is written and the rejection is
   * what the save fails with.
   */
  readonly existing: Attributes | undefined | Promise<Attributes | undefined>;
  /** Hard links of the file, when a listing told a moment ago. */
  readonly links?: number;
  /** Permission bits for a new file (an existing file keeps its own). */
  readonly permissions?: number;
  /** How many bytes the new content takes, when known: a failure can then be told apart as "no space". */
  readonly size?: number;
  /**
   * Writes the content into the open file (from offset 0) and answers how many bytes it wrote. Used
   * for a temporary and for the file itself alike, and may run a second time after a first attempt
   * was abandoned.
   */
  readonly fill: (handle: Handle, path: string) => Promise<Filled>;
  /**
   * Where given, a file the save creates is filled this way instead: started as the file's OPEN goes
   * out (other channels open it in the same flight), told the handle once that OPEN succeeded, with
   * every channel's FSYNC behind its last WRITE when `flush`. Abandoned if the OPEN failed.
   */
  readonly startFill?: (path: string, options: { readonly flush: boolean }) => StartedFill;
}

/** A fill started before the file's OPEN was answered (SaveRequest.startFill). */
export interface StartedFill {
  fill(handle: Handle): Promise<Filled>;
  /** Nothing is written; resolves once no other channel uses the file. Does nothing after `fill`. */
  abandon(): Promise<void>;
}

/** A copy of a file's content kept while the file is overwritten in place. */
export interface Backup {
  readonly target: string;
  /** A file beside the target (mode 0600), or the bytes themselves when the folder is not writable. */
  readonly path?: string;
  readonly bytes?: Buffer;
  readonly size: number;
}

/** What a save needs from the file system it belongs to. */
export interface SaveContext {
  readonly session: SftpSession;
  readonly logger: Logger;
  /** The login user, once learned on this host. */
  identity(): Identity | undefined;
  learnIdentity(identity: Identity): void;
  /** Told about a temporary that could not be removed (the connection was gone), to remove it later. */
  onOrphan(path: string): void;
  /**
   * Keeps `backup` until the returned release is called: if the connection drops meanwhile, the
   * original content is put back as soon as the server can be reached again.
   */
  protect(backup: Backup): () => void;
  /** Told when a file had to be overwritten in place with no backup at all: the user should know. */
  onUnprotected(target: string): void;
  /** The largest original kept in memory when no backup file can be made beside it. */
  readonly maxBackupInMemoryBytes: number;
  /**
   * False where a cut save could not be put right afterwards (the reader thread's connection never
   * comes back to restore a backup): a file that must be written in place fails with InPlaceRefused.
   */
  readonly inPlaceAllowed: boolean;
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects, so one sent ahead can wait without an unhandled rejection. */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

export async function unwrap<T>(settled: Promise<Settled<T>>): Promise<T> {
  const outcome = await settled;
  if (!outcome.ok) {
    throw outcome.error;
  }
  return outcome.value;
}

/** Removes a temporary of ours; one that cannot be removed for a lost connection is remembered. */
export async function removeOrRemember(context: SaveContext, path: string): Promise<void> {
  try {
    await context.session.unlink(path);
  } catch (error) {
    if (context.session.stoppedBy(error)) {
      context.onOrphan(path);
    }
    // Otherwise it was never created, or is already gone.
  }
}
