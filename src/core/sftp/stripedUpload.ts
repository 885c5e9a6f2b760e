import { isRemoteFsError } from '../common/errors';
import type { FlowControl } from './flowControl';
import type { Handle, SftpSession } from './session';
import { WRITE_DEPTH, chunked, runRanges, shareUnsentFront, type Range } from './transfer';

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
  lanes: Lanes = [],
): Promise<Filled> {
  return startStripedUpload({ session, path, data, lanes, flush: false }).fill(handle);
}

/** The other channels of a transfer: at once when they are open, a promise while they are opening. */
export type Lanes = readonly SftpSession[] | PromiseLike<readonly SftpSession[]>;

/**
 * An upload of one buffer into one file, striped over the main channel and `lanes` (other SFTP
 * channels on the same connection: one channel's window no longer bounds it), started as the main
 * channel's OPEN goes out so that nothing waits a round trip it need not:
 *
 * - the lanes send their OPENs (without create) in the same flight as the main OPEN. A lane whose OPEN
 *   reached the server before the main OPEN created the file is told "no such file" and opens again
 *   once the main OPEN answered. No lane writes a byte before the main OPEN succeeded: a file the main
 *   OPEN could not create (it exists, for one) is never written;
 * - lanes still being opened (four round trips, after the connection was idle) are not waited
 *   for: the main channel starts on the whole file, and lanes that come before it has sent its last
 *   WRITE take a share of what it has not sent yet (what it has in flight counts as its share);
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
   * The main OPEN failed or the upload is not wanted: the lanes close without writing, and lanes
   * still to come open nothing. Resolves once every lane is done with the file. Does nothing once
   * `fill` was called.
   */
  abandon(): Promise<void>;
}

export interface StripedUploadOptions {
  readonly session: SftpSession;
  readonly path: string;
  readonly data: Uint8Array;
  readonly lanes: Lanes;
  readonly flush: boolean;
  /**
   * For content still being copied in: undefined when bytes [0, end) are in place, else a promise
   * that settles once they are (or rejects: the WRITE then fails). Every WRITE asks before it goes out.
   */
  readonly contentReady?: ContentReady;
}

/** See StripedUploadOptions.contentReady. */
export type ContentReady = (end: number) => Promise<void> | undefined;

export function startStripedUpload(options: StripedUploadOptions): StripedUpload {
  const { session, path, data, lanes, flush, contentReady } = options;
  const source = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const chunk = session.limits.maxWriteLength;
  let letWrite: (go: boolean) => void = () => undefined;
  const mayWrite = new Promise<boolean>((resolve) => (letWrite = resolve));
  /** The main channel's WRITEs still to send, in offset order; lanes that join take from the front. */
  const mainQueue = chunked([0, source.length], chunk);
  let main: ChannelWrites | undefined;
  let abandoned = false;
  const onLanes: Array<Promise<void>> = [];

  const join = (joining: readonly SftpSession[]): void => {
    if (abandoned || main?.lastSent === true) {
      return;
    }
    const stripes = shareUnsentFront(mainQueue, contiguousFront(mainQueue), {
      inFlight: main?.outstandingBytes ?? 0,
      channels: joining.length,
      chunk,
    });
    joining.forEach((lane, index) => {
      const stripe = stripes[index];
      if (stripe !== undefined && stripe[0] !== stripe[1]) {
        const upload = uploadStripeOnLane({
          lane,
          path,
          source,
          stripe,
          flow: session.flow,
          flush,
          mayWrite,
          contentReady,
        });
        upload.catch(() => undefined); // reported by fill; not unhandled when the upload is abandoned
        onLanes.push(upload);
      }
    });
    // The lanes may have taken all the main channel had left to send.
    main?.queueChanged();
  };
  // Lanes already open are given their stripes now, so their OPENs go out with the main OPEN.
  if ('then' in lanes) {
    lanes.then(join, () => undefined);
  } else {
    join(lanes);
  }

  return {
    async fill(handle: Handle): Promise<Filled> {
      letWrite(true);
      main = writeThenFlush({
        session,
        handle,
        path,
        source,
        queue: mainQueue,
        flow: session.flow,
        flush,
        contentReady,
      });
      try {
        await main.acknowledged;
      } catch (error) {
        abandoned = true;
        // The lanes write into the same file: they are done with it before the save goes on.
        await Promise.allSettled(onLanes);
        throw error;
      }
      // No lane joins once the main channel's last WRITE went out.
      abandoned = true;
      await Promise.all(onLanes);
      return { bytes: source.length, flushed: flush };
    },
    async abandon(): Promise<void> {
      abandoned = true;
      letWrite(false);
      await Promise.all(onLanes.map((upload) => upload.catch(() => undefined)));
    },
  };
}

/** How many leading ranges of `queue` follow one another without a gap (a requeued rest comes later). */
function contiguousFront(queue: readonly Range[]): number {
  let length = 0;
  while (length < queue.length) {
    const previous = queue[length - 1];
    const range = queue[length];
    if (
      range === undefined ||
      (previous !== undefined && previous.offset + previous.length !== range.offset)
    ) {
      break;
    }
    length++;
  }
  return length;
}

/** One channel's share of an upload: the ranges of `source` in `queue`, written through `handle`. */
interface WritesOnChannel {
  readonly session: SftpSession;
  readonly handle: Handle;
  readonly path: string;
  readonly source: Buffer;
  readonly queue: Range[];
  readonly flow: FlowControl;
  readonly contentReady: ContentReady | undefined;
}

/** A channel's WRITEs under way. */
interface ChannelWrites {
  /** Resolves once the last request went out; rejects if a WRITE failed before. */
  readonly issued: Promise<void>;
  /** Resolves once the server answered every request. */
  readonly acknowledged: Promise<void>;
  /** The last WRITE went out (and the FSYNC behind it). */
  readonly lastSent: boolean;
  /** Bytes taken from the queue and not answered yet. */
  readonly outstandingBytes: number;
  /** Someone took ranges from the queue: if nothing is left, the last WRITE may already be out. */
  queueChanged(): void;
}

/**
 * Writes the ranges in `queue` through `handle`; with `flush`, sends an FSYNC right behind the last
 * WRITE, in the same tick.
 */
function writeThenFlush(options: WritesOnChannel & { readonly flush: boolean }): ChannelWrites {
  const { session, handle, path, flush } = options;
  let flushed: Promise<void> | undefined;
  let lastWriteSent: () => void = () => undefined;
  const allWritesSent = new Promise<void>((resolve) => (lastWriteSent = resolve));
  const writes = writeRange({
    ...options,
    onLastWriteSent: () => {
      flushed = flush ? session.fsync(handle, path) : undefined;
      lastWriteSent();
    },
  });
  // A failed WRITE ends the queue before its last one went out; `written` then says why.
  const issued = Promise.race([allWritesSent, writes.done]);
  const acknowledged = issued.then(() => Promise.all([writes.done, flushed])).then(() => undefined);
  acknowledged.catch(() => undefined); // awaited by the caller; not unhandled if `issued` failed first
  return {
    issued,
    acknowledged,
    get lastSent() {
      return writes.lastSent;
    },
    get outstandingBytes() {
      return writes.outstandingBytes;
    },
    queueChanged: () => writes.queueChanged(),
  };
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
  contentReady: ContentReady | undefined;
}): Promise<void> {
  const { lane, path, mayWrite, stripe } = options;
  let acknowledged: Promise<void> = Promise.resolve();
  const openAndWrite = (): Promise<void> =>
    lane.withFile(path, 'r+', {}, async (handle) => {
      if (await mayWrite) {
        const queue = chunked(stripe, lane.limits.maxWriteLength);
        const writes = writeThenFlush({ ...options, session: lane, handle, queue });
        acknowledged = writes.acknowledged;
        // Returning once the last request is out puts the CLOSE in the same flight.
        await writes.issued;
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
 * Writes the ranges in `queue` of `source` through `handle`, WRITE_DEPTH requests in flight, each as
 * long as the flow control admits. `onLastWriteSent` is called in the same tick as the last WRITE
 * goes out (at once for an empty queue, or when others took what was left), so a request sent from it
 * follows that WRITE on the channel. `done` rejects with the first failure, after the WRITEs already
 * sent have settled.
 */
function writeRange(options: WritesOnChannel & { readonly onLastWriteSent?: () => void }): {
  done: Promise<void>;
  readonly lastSent: boolean;
  readonly outstandingBytes: number;
  queueChanged(): void;
} {
  const { session, handle, path, source, queue, flow, onLastWriteSent, contentReady } = options;
  /** Ranges taken from the queue whose WRITE has not gone out yet (waiting for the flow control). */
  let taking = 0;
  let outstandingBytes = 0;
  let lastSent = false;
  const sentAll = (): void => {
    if (!lastSent && taking === 0 && queue.length === 0) {
      lastSent = true;
      onLastWriteSent?.();
    }
  };
  sentAll();
  const done = runRanges(queue, WRITE_DEPTH, async (range, requeue) => {
    taking++;
    let held = range.length;
    outstandingBytes += held;
    try {
      let length: number;
      try {
        // Not admitted before its bytes are there: what waits holds none of the line's share.
        const copying = contentReady?.(range.offset + range.length);
        if (copying !== undefined) {
          await copying;
        }
        length = await flow.admit(range.length);
      } finally {
        taking--;
      }
      if (length < range.length) {
        requeue({ offset: range.offset + length, length: range.length - length });
        outstandingBytes -= held - length;
        held = length;
      }
      let written = 0;
      try {
        const sent = session.write(handle, source, range.offset, length, range.offset, path);
        sentAll();
        await sent;
        written = length;
      } finally {
        flow.done(length, written);
      }
    } finally {
      outstandingBytes -= held;
    }
  });
  return {
    done,
    get lastSent() {
      return lastSent;
    },
    get outstandingBytes() {
      return outstandingBytes;
    },
    queueChanged: sentAll,
  };
}
