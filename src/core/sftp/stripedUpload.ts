import { isRemoteFsError } from '../common/errors';
import type { FlowControl } from './flowControl';
import type { Handle, SftpSession } from './session';
import { WRITE_DEPTH, chunked, runRanges, stripesOf } from './transfer';

/**
 * What a fill of a file reports, once every request it made is answered and every other channel's
 * handle on the file closed (a failed CLOSE, which can mean data that never reached the disk, fails
 * the fill): the bytes written.
 */
export interface Filled {
  readonly bytes: number;
  /** Every channel's FSYNC was answered: the data is on disk, no FSYNC of the whole file is needed. */
  readonly flushed?: boolean;
}

/**
 * Writes all of `data` at offset 0 through `handle` (and `lanes`, which open the file themselves),
 * with WRITE_DEPTH requests in flight per channel. Resolves once the server acknowledged every WRITE
 * and closed every lane's handle.
 */
export function writeWholeFile(
  session: SftpSession,
  handle: Handle,
  path: string,
  data: Uint8Array,
  lanes: readonly SftpSession[] = [],
): Promise<Filled> {
  return startStripedUpload({ session, path, data, lanes, flush: false }).fill(handle);
}

/**
 * An upload of one buffer into one file, striped over the main channel and `lanes` (other SFTP
 * channels on the same connection: one channel's window no longer bounds it), started as the main
 * channel's OPEN goes out so that nothing waits a round trip it need not:
 *
 * - the lanes send their OPENs (without create) in the same flight as the main OPEN. A lane whose OPEN
 *   reached the server before the main OPEN created the file is told "no such file" and opens again
 *   once the main OPEN answered. No lane writes a byte before the main OPEN succeeded: a file the main
 *   OPEN could not create (it exists, for one) is never written;
 * - with `flush`, every channel sends its FSYNC right behind its last WRITE, and every lane its CLOSE
 *   right behind that. The server handles one channel's requests in order, and fsync(2) flushes the
 *   whole file as it is at that moment, so once every channel's FSYNC is answered all the data is on
 *   disk: the answers to the last WRITEs and to the FSYNCs come in one flight.
 */
export interface StripedUpload {
  /**
   * The main OPEN answered `handle`: writes the main stripe and lets the lanes write theirs. Resolves
   * once every WRITE (and, with `flush`, every FSYNC) is acknowledged and every lane's handle is
   * closed; rejects with the first failure.
   */
  fill(handle: Handle): Promise<Filled>;
  /**
   * The main OPEN failed or the upload is not wanted: the lanes close without writing. Resolves once
   * every lane is done with the file. Does nothing once `fill` was called.
   */
  abandon(): Promise<void>;
}

export interface StripedUploadOptions {
  readonly session: SftpSession;
  readonly path: string;
  readonly data: Uint8Array;
  readonly lanes: readonly SftpSession[];
  readonly flush: boolean;
}

export function startStripedUpload(options: StripedUploadOptions): StripedUpload {
  const { session, path, data, lanes, flush } = options;
  const source = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const stripes = stripesOf(source.length, session.limits.maxWriteLength, 1 + lanes.length);
  let letWrite: (go: boolean) => void = () => undefined;
  const mayWrite = new Promise<boolean>((resolve) => (letWrite = resolve));
  const onLanes = lanes.flatMap((lane, index) => {
    const stripe = stripes[index + 1];
    return stripe === undefined || stripe[0] === stripe[1]
      ? []
      : [uploadStripeOnLane({ lane, path, source, stripe, flow: session.flow, flush, mayWrite })];
  });
  const lanesDone = Promise.all(onLanes).then(() => undefined);
  lanesDone.catch(() => undefined); // reported by fill; not unhandled when the upload is abandoned

  return {
    async fill(handle: Handle): Promise<Filled> {
      letWrite(true);
      const main = writeThenFlush({
        session,
        handle,
        path,
        source,
        stripe: stripes[0] ?? [0, 0],
        flow: session.flow,
        flush,
      });
      await Promise.all([main.acknowledged, lanesDone]);
      return { bytes: source.length, flushed: flush };
    },
    async abandon(): Promise<void> {
      letWrite(false);
      await lanesDone.catch(() => undefined);
    },
  };
}

/** One channel's share of an upload: `stripe` of `source`, written through `handle` on `session`. */
interface StripeOnChannel {
  readonly session: SftpSession;
  readonly handle: Handle;
  readonly path: string;
  readonly source: Buffer;
  readonly stripe: readonly [number, number];
  readonly flow: FlowControl;
}

/**
 * Writes `stripe` through `handle`; with `flush`, sends an FSYNC right behind the last WRITE, in the
 * same tick. `issued` resolves once the last request went out (rejecting if a WRITE failed before),
 * `acknowledged` once the server answered every one of them.
 */
function writeThenFlush(options: StripeOnChannel & { readonly flush: boolean }): {
  issued: Promise<void>;
  acknowledged: Promise<void>;
} {
  const { session, handle, path, flush } = options;
  let flushed: Promise<void> | undefined;
  let lastWriteSent: () => void = () => undefined;
  const allWritesSent = new Promise<void>((resolve) => (lastWriteSent = resolve));
  const written = writeRange({
    ...options,
    onLastWriteSent: () => {
      flushed = flush ? session.fsync(handle, path) : undefined;
      lastWriteSent();
    },
  });
  // A failed WRITE ends the stripe before its last one went out; `written` then says why.
  const issued = Promise.race([allWritesSent, written]);
  const acknowledged = issued.then(() => Promise.all([written, flushed])).then(() => undefined);
  acknowledged.catch(() => undefined); // awaited by the caller; not unhandled if `issued` failed first
  return { issued, acknowledged };
}

/**
 * Opens the file on `lane` at once and writes `stripe` once `mayWrite` says so. Resolves once the
 * lane's WRITEs (and FSYNC) are answered and its handle is closed: the CLOSE goes out right behind
 * the last request, so it costs no round trip of its own. A failed OPEN, WRITE, FSYNC or CLOSE rejects.
 */
async function uploadStripeOnLane(options: {
  lane: SftpSession;
  path: string;
  source: Buffer;
  stripe: readonly [number, number];
  flow: FlowControl;
  flush: boolean;
  mayWrite: Promise<boolean>;
}): Promise<void> {
  const { lane, path, mayWrite } = options;
  let acknowledged: Promise<void> = Promise.resolve();
  const openAndWrite = (): Promise<void> =>
    lane.withFile(path, 'r+', {}, async (handle) => {
      if (await mayWrite) {
        const stripe = writeThenFlush({ ...options, session: lane, handle });
        acknowledged = stripe.acknowledged;
        // Returning once the last request is out puts the CLOSE in the same flight.
        await stripe.issued;
      }
    });
  try {
    await openAndWrite();
  } catch (error) {
    // The OPEN overtook the main channel's, which creates the file: open again once that one answered.
    if (!isRemoteFsError(error, 'ENOENT') || !(await mayWrite)) {
      throw error;
    }
    await openAndWrite();
  }
  await acknowledged;
}

/**
 * Writes `stripe` of `source` through `handle`, WRITE_DEPTH requests in flight, each as long as the
 * flow control admits. `onLastWriteSent` is called in the same tick as the last WRITE goes out (at
 * once for an empty stripe), so a request sent from it follows that WRITE on the channel. Rejects with
 * the first failure, after the WRITEs already sent have settled.
 */
async function writeRange(
  options: StripeOnChannel & { readonly onLastWriteSent?: () => void },
): Promise<void> {
  const { session, handle, path, source, stripe, flow, onLastWriteSent } = options;
  let unsent = stripe[1] - stripe[0];
  if (unsent === 0) {
    onLastWriteSent?.();
  }
  await runRanges(chunked(stripe, session.limits.maxWriteLength), WRITE_DEPTH, async (range, requeue) => {
    const length = await flow.admit(range.length);
    if (length < range.length) {
      requeue({ offset: range.offset + length, length: range.length - length });
    }
    let written = 0;
    try {
      const sent = session.write(handle, source, range.offset, length, range.offset, path);
      unsent -= length;
      if (unsent === 0) {
        onLastWriteSent?.();
      }
      await sent;
      written = length;
    } finally {
      flow.done(length, written);
    }
  });
}
