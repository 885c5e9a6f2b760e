import { RemoteFsError, throwIfCancelled } from '../common/errors';
import type { PrefaultedBuffer } from './prefaultedBuffer';
import { PreopenedLanes } from './preopenedLanes';
import type { Handle, SftpSession } from './session';
import type { Lanes } from './stripedUpload';

/**
 * Pipelined transfers: many READ/WRITE requests in flight, each as large as the server allows, so a
 * transfer costs a few round trips instead of one per chunk (the peers' stop-and-wait streams).
 * Depths come from the measurements in shared/notes/performance-anchors.md (reads: 64 x 255 KiB,
 * writes: 16 x 255 KiB were best on loopback).
 */
export const READ_DEPTH = 64;
export const WRITE_DEPTH = 16;
export const COPY_DEPTH = 16;

/**
 * Reads a whole file into one buffer. `sizeHint` (from a STAT) sizes the buffer; the file may still
 * grow or shrink while it is read: reads continue until the server says EOF, short reads are
 * re-requested, and more than `maxBytes` fails with ETOOLARGE instead of exhausting memory.
 *
 * Requests are as long as the session's readLength when they go out, so what the first answers teach
 * it (see ReadSize) shapes the rest of the transfer. As many go out at once as the expected size needs,
 * plus one that confirms the end (at most READ_DEPTH): a small file costs no READs past its end.
 *
 * With `lanes` (other SFTP channels on the same connection), the expected bytes are cut into one
 * contiguous stripe per channel, each read through that channel's own handle: one channel's receive
 * window then no longer bounds the download. The main channel keeps the tail that confirms EOF and
 * any growth found afterwards.
 *
 * The lanes may still be opening (four round trips, after the connection was idle): the main channel
 * does not wait for them. It starts on the whole file, and when the lanes are there, what it has not
 * asked for yet is shared out so that every channel ends up with about as many bytes still to come
 * (what the main channel already has in flight counts as its share). Lanes given as PreopenedLanes
 * read through the handles they opened beside the main OPEN (the caller releases the ones not used).
 * `prefaulted`, when the caller allocated the buffer as the OPEN went out (see PrefaultedBuffer), is
 * used if it has the size this read needs.
 */
export async function readWholeFile(
  session: SftpSession,
  handle: Handle,
  path: string,
  sizeHint: number,
  maxBytes: number,
  lanes: Lanes | PreopenedLanes = [],
  onLanesJoined?: (count: number) => void,
  prefaulted?: PrefaultedBuffer,
): Promise<Buffer> {
  const chunk = session.readLength;
  // The main session's flow control paces every channel of the connection.
  const flow = session.flow;
  if (sizeHint > maxBytes) {
    throw tooLarge(path, sizeHint, maxBytes);
  }
  // One chunk of slack beyond the expected end: the request for it is how EOF is confirmed, and it is
  // sent in the same flight as the others, so an unchanged file needs no extra round trip.
  let buffer = prefaulted?.claim(sizeHint + chunk) ?? Buffer.allocUnsafe(sizeHint + chunk);
  let eofAt = Infinity;
  /** Bytes the main channel has taken from its queue and not yet had answered. */
  let mainInFlight = 0;
  const readRanges = (reader: SftpSession, readerHandle: Handle, ranges: ReadRange[]): Promise<void> =>
    runRanges(ranges, READ_DEPTH, async (range, requeue) => {
      if (range.offset >= eofAt) {
        return;
      }
      const isMain = reader === session;
      if (isMain) {
        mainInFlight += range.length;
      }
      let length = range.length;
      let got = 0;
      try {
        // A range longer than the session now reads (it learned the server's cap meanwhile, or the
        // line is thin: see FlowControl) goes out in part; the rest is queued at once, for the same
        // flight.
        length = await flow.admit(Math.min(range.length, reader.readLength));
        if (length < range.length) {
          if (isMain) {
            mainInFlight -= range.length - length;
          }
          requeue({ offset: range.offset + length, length: range.length - length });
        }
        try {
          got = await reader.read(readerHandle, buffer, range.offset, length, range.offset, path);
        } finally {
          flow.done(length, got);
        }
      } finally {
        if (isMain) {
          mainInFlight -= length;
        }
      }
      if (got > 0 && range.afterShort !== undefined) {
        reader.readAnsweredShort(range.afterShort);
      }
      if (got === 0) {
        eofAt = Math.min(eofAt, range.offset);
      } else if (got < length) {
        // An answer that stopped short of the size the STAT reported may be the server's cap, which
        // the answer to the rest confirms; one at or past that size is a file that grew.
        const rest = { offset: range.offset + got, length: length - got };
        requeue(range.offset + got < sizeHint ? { ...rest, afterShort: got } : rest);
      }
    });

  // The main channel's queue: the expected bytes in order, then the READ that confirms the end (and
  // any remainders requeued behind it). Lanes that join take their stripes from its unsent front.
  const mainQueue: ReadRange[] = [
    ...chunked([0, sizeHint], chunk),
    ...chunked([sizeHint, sizeHint + chunk], chunk),
  ];
  let mainDone = false;
  const preopened = lanes instanceof PreopenedLanes ? lanes : undefined;
  const sessions: Lanes = lanes instanceof PreopenedLanes ? lanes.sessions : lanes;
  /** The reads of lanes that joined; they share the buffer, so nothing returns before they end. */
  let laneReads: Promise<unknown> | undefined;
  const join = (joining: readonly SftpSession[]): void => {
    if (mainDone) {
      return;
    }
    const unsent = mainQueue.findIndex((range) => range.offset >= sizeHint || range.afterShort !== undefined);
    const stripes = shareUnsentFront(mainQueue, unsent < 0 ? mainQueue.length : unsent, {
      inFlight: mainInFlight,
      channels: joining.length,
      chunk,
    });
    if (stripes.length === 0) {
      return;
    }
    onLanesJoined?.(stripes.filter(([stripeStart, stripeEnd]) => stripeEnd > stripeStart).length);
    laneReads = Promise.all(
      joining.map((lane, index) => {
        const stripe = stripes[index];
        if (stripe === undefined || stripe[0] === stripe[1]) {
          return undefined;
        }
        lane.shareRoundTripOf(session);
        const readStripe = (laneHandle: Handle): Promise<void> =>
          readRanges(lane, laneHandle, chunked(stripe, chunk));
        return preopened !== undefined
          ? preopened.read(index, readStripe)
          : lane.withFile(path, 'r', {}, readStripe);
      }),
    );
    laneReads.catch(() => undefined); // awaited below, once the main channel is done
  };
  // Lanes already open take their stripes before the main channel's first READ goes out; lanes still
  // opening join whenever they are there, unless the main channel has finished by then.
  if ('then' in sessions) {
    sessions.then(join, () => undefined);
  } else {
    join(sessions);
  }
  try {
    await readRanges(session, handle, mainQueue);
  } catch (error) {
    mainDone = true;
    await laneReads?.catch(() => undefined);
    throw error;
  }
  mainDone = true;
  await laneReads;
  // Every byte up to the buffer's end was there and no EOF yet: the file grew while we read it. How
  // much is unknown, so the reads in flight start at one and double while data keeps coming: the
  // requests past the new end are never more than those that found data.
  let coveredUpTo = buffer.length;
  let inFlight = 1;
  while (eofAt === Infinity) {
    if (coveredUpTo > maxBytes) {
      throw tooLarge(path, coveredUpTo, maxBytes);
    }
    const step = session.readLength;
    const end = Math.min(coveredUpTo + inFlight * step, maxBytes + step);
    if (end > buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(end, buffer.length * 2), maxBytes + step));
      buffer.copy(grown, 0, 0, coveredUpTo);
      buffer = grown;
    }
    await readRanges(session, handle, chunked([coveredUpTo, end], step));
    coveredUpTo = end;
    inFlight = Math.min(inFlight * 2, READ_DEPTH);
  }
  return buffer.subarray(0, eofAt);
}

/** A READ to send; `afterShort` when it asks for the rest after an answer of that many bytes. */
interface ReadRange extends Range {
  readonly afterShort?: number;
}

export interface Range {
  readonly offset: number;
  readonly length: number;
}

/** `[start, end)` cut into requests of at most `chunk` bytes. */
export function chunked([start, end]: readonly [number, number], chunk: number): Range[] {
  const ranges: Range[] = [];
  for (let offset = start; offset < end; offset += chunk) {
    ranges.push({ offset, length: Math.min(chunk, end - offset) });
  }
  return ranges;
}

/**
 * Shares out the first `frontLength` ranges of a channel's `queue` (consecutive, not sent yet) between
 * that channel and `channels` more that join it: every channel ends up with about the same still to
 * come, what the first one has `inFlight` counting as its share. The queue keeps the first channel's
 * part; the answer is one `[start, end)` stripe per joining channel (the last ones may be empty), or
 * none when there is nothing to share.
 */
export function shareUnsentFront(
  queue: Range[],
  frontLength: number,
  { inFlight, channels, chunk }: { inFlight: number; channels: number; chunk: number },
): Array<[number, number]> {
  const first = queue[0];
  const last = queue[frontLength - 1];
  if (channels === 0 || frontLength === 0 || first === undefined || last === undefined) {
    return [];
  }
  const start = first.offset;
  const end = last.offset + last.length;
  const share = Math.ceil((end - start + inFlight) / (1 + channels) / chunk) * chunk;
  const kept = Math.min(end - start, Math.max(0, share - inFlight));
  queue.splice(0, frontLength, ...chunked([start, start + kept], chunk));
  const from = start + kept;
  return stripesOf(end - from, chunk, channels).map(([stripeStart, stripeEnd]) => [
    from + stripeStart,
    from + stripeEnd,
  ]);
}

/** `[0, size)` cut into `count` contiguous stripes of whole chunks (the last ones may be empty). */
export function stripesOf(size: number, chunk: number, count: number): Array<[number, number]> {
  const stripe = Math.ceil(Math.ceil(size / chunk) / count) * chunk;
  return Array.from({ length: count }, (_, index) => [
    Math.min(index * stripe, size),
    Math.min((index + 1) * stripe, size),
  ]);
}

/**
 * Copies one open file into another through this client without holding the whole file: COPY_DEPTH
 * workers each read one chunk and write it, until the source reports EOF.
 */
export function streamCopy(
  session: SftpSession,
  source: Handle,
  target: Handle,
  path: string,
  sizeHint?: number,
): Promise<number> {
  return streamCopyBetween(
    { session, handle: source, path },
    { session, handle: target, path },
    { sizeHint },
  );
}

/** An open file on one session. */
export interface OpenFile {
  readonly session: SftpSession;
  readonly handle: Handle;
  readonly path: string;
}

/**
 * Copies an open file into another, possibly on another host's session, chunk by chunk with up to
 * COPY_DEPTH chunks in flight; answers the bytes copied. With the source's expected size, no more
 * workers run than it has chunks, and only one of them reads past that size: a small file costs its
 * reads and one more that sees the end, not 16 (a file that grew meanwhile is still read to its end,
 * by that one worker). `signal` stops it between chunks.
 */
export async function streamCopyBetween(
  source: OpenFile,
  target: OpenFile,
  options: { readonly signal?: AbortSignal | undefined; readonly sizeHint?: number | undefined } = {},
): Promise<number> {
  const { signal, sizeHint } = options;
  // Chunks are as long as both sides allow: a READ as long as the source session now asks for, a
  // WRITE no longer than the target's limit (writes are never tried longer, see ReadSize).
  const chunk = Math.min(source.session.readLength, target.session.limits.maxWriteLength);
  const expectedEnd = sizeHint ?? Infinity;
  const depth =
    sizeHint === undefined ? COPY_DEPTH : Math.max(1, Math.min(COPY_DEPTH, Math.ceil(sizeHint / chunk)));
  let nextOffset = 0;
  let eofAt = Infinity;
  /** The one worker allowed past the expected end, once one has gone there. */
  let pastTheEnd: object | undefined;
  const worker = async (): Promise<void> => {
    const self = {};
    const scratch = Buffer.allocUnsafe(chunk);
    while (nextOffset < eofAt) {
      throwIfCancelled(signal);
      if (nextOffset >= expectedEnd) {
        pastTheEnd ??= self;
        if (pastTheEnd !== self) {
          return;
        }
      }
      const offset = nextOffset;
      // The chunk that reaches the expected end stops there, so the READ that sees the end is the
      // one at the expected end, sent by the one worker allowed there.
      const length = offset < expectedEnd ? Math.min(chunk, expectedEnd - offset) : chunk;
      nextOffset += length;
      let filled = 0;
      let shortAnswer: number | undefined;
      while (filled < length) {
        const asked = Math.min(length - filled, source.session.readLength);
        const got = await source.session.read(
          source.handle,
          scratch,
          filled,
          asked,
          offset + filled,
          source.path,
        );
        if (got > 0 && shortAnswer !== undefined) {
          source.session.readAnsweredShort(shortAnswer);
        }
        if (got === 0) {
          eofAt = Math.min(eofAt, offset + filled);
          break;
        }
        filled += got;
        // As in readWholeFile: a short answer before the expected end may be the server's cap, which
        // the answer to the next READ confirms.
        shortAnswer = got < asked && offset + filled < expectedEnd ? got : undefined;
      }
      if (filled > 0) {
        await target.session.write(target.handle, scratch, 0, filled, offset, target.path);
      }
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
  return eofAt;
}

/**
 * Runs `task` over a queue of ranges with `depth` in flight. A task may requeue a remainder (a short
 * read). The queue is the array given, consumed from its front: the caller may take ranges it has
 * not reached yet (readWholeFile hands them to channels that join). Rejects with the first error,
 * after the requests already sent have settled, so no callback writes into a buffer the caller has
 * given up.
 */
export async function runRanges<R>(
  initial: R[],
  depth: number,
  task: (range: R, requeue: (range: R) => void) => Promise<void>,
): Promise<void> {
  const queue = initial;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (let range = queue.shift(); range !== undefined && failure === undefined; range = queue.shift()) {
      try {
        await task(range, (rest) => queue.push(rest));
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Workers that find the queue empty stop; a requeue from a running worker is picked up by that
  // worker's next iteration, so the queue always drains.
  await Promise.all(Array.from({ length: Math.min(depth, Math.max(queue.length, 1)) }, worker));
  if (failure !== undefined) {
    throw failure.error;
  }
}

function tooLarge(path: string, size: number, maxBytes: number): RemoteFsError {
  const mib = (n: number): string => (n / (1024 * 1024)).toFixed(1);
  return new RemoteFsError(
    'ETOOLARGE',
    `File is larger than the configured maximum of ${mib(maxBytes)} MiB (at least ${mib(size)} MiB; see the setting sftpfs.maxReadFileSizeMB)`,
    { path },
  );
}
