import type { SFTPWrapper } from 'ssh2';

import { canSealDirectly, sealChannelData } from '../ssh/gcmPackets';

/**
 * SFTP WRITE requests sent from the caller's buffer, without ssh2's copies.
 *
 * ssh2's `write` copies the data into a buffer holding the whole request, then each SSH packet's
 * worth into a packet buffer, and (without its native addon, as in the .vsix) Node's cipher returns a
 * third copy. Here the request's header and the caller's bytes are sealed into SSH packets directly
 * (ssh/gcmPackets.ts), so the ciphertext is the only copy.
 *
 * What the channel's window cannot take now waits in ssh2's own queue of outgoing bytes (`_buffer`),
 * as views of the caller's buffer, and leaves when the server opens the window, in order with
 * everything ssh2 queues. The caller's buffer must therefore stay unchanged until the request is
 * answered, which every caller of SftpSession.write guarantees: it awaits the answer before reusing
 * the buffer, and when a session fails its requests early it ends the channel and drops the queue
 * (`dropQueuedWrites`), so nothing queued can leave after the caller has been told.
 *
 * These are ssh2 internals (SFTP.js `write`, `tryWritePayload`, `drainBuffer`) used the way ssh2 uses
 * them; the version is pinned, and sealedTransfers.test.ts (run without the addon by npm test) fails
 * if this path stops being taken.
 */

interface Ssh2Outgoing {
  readonly id: number;
  window: number;
  readonly packetSize: number;
  readonly state: string;
}

interface Ssh2SftpWriter {
  readonly outgoing?: Partial<Ssh2Outgoing>;
  _buffer?: Uint8Array[];
  readonly _protocol?: { channelData?: (channel: number, data: Uint8Array) => void };
  readonly _requests?: Record<number, { cb?: (error?: Error | null) => void }>;
  readonly _maxWriteLen?: number;
  _writeReqid?: number;
  _waitWindow?: boolean;
  _chunkcb?: (() => void) | undefined;
}

type ReadySftp = Ssh2SftpWriter & {
  readonly outgoing: Ssh2Outgoing;
  _buffer: Uint8Array[];
  readonly _protocol: NonNullable<Ssh2SftpWriter['_protocol']>;
};

const SFTP_WRITE = 6;
/** As ssh2 computes request ids (SFTP.js MAX_REQID). */
const MAX_REQID = 2 ** 32 - 1;

/** The ssh2 fields used here are as expected and the channel is open. */
function openChannel(sftp: Ssh2SftpWriter): sftp is ReadySftp {
  const outgoing = sftp.outgoing;
  return (
    outgoing !== undefined &&
    outgoing.state === 'open' &&
    typeof outgoing.id === 'number' &&
    typeof outgoing.window === 'number' &&
    typeof outgoing.packetSize === 'number' &&
    outgoing.packetSize > 0 &&
    typeof sftp._writeReqid === 'number' &&
    typeof sftp._requests === 'object' &&
    Array.isArray(sftp._buffer) &&
    typeof sftp._protocol?.channelData === 'function'
  );
}

/**
 * Sends `segments` (consecutive bytes of the channel's stream) as far as the window allows, each SSH
 * packet at most the channel's packet size. Answers the segments' part that did not fit, as views.
 */
function sendAsWindowAllows(sftp: ReadySftp, segments: readonly Uint8Array[]): Uint8Array[] {
  const outgoing = sftp.outgoing;
  let index = 0;
  let at = 0;
  while (index < segments.length && outgoing.window > 0) {
    const room = Math.min(outgoing.window, outgoing.packetSize);
    const parts: Uint8Array[] = [];
    let taken = 0;
    while (index < segments.length && taken < room) {
      const segment = segments[index] as Uint8Array;
      const take = Math.min(segment.length - at, room - taken);
      parts.push(segment.subarray(at, at + take));
      taken += take;
      at += take;
      if (at === segment.length) {
        index++;
        at = 0;
      }
    }
    if (taken === 0) {
      break; // only empty segments left
    }
    outgoing.window -= taken;
    if (!sealChannelData(sftp._protocol, outgoing.id, parts)) {
      // A key exchange began (only possible in a drain, which runs on incoming packets): ssh2 queues
      // its packets until it ends, and takes copies.
      for (const part of parts) {
        sftp._protocol.channelData?.(outgoing.id, part);
      }
    }
  }
  const rest: Uint8Array[] = [];
  for (; index < segments.length; index++) {
    const segment = segments[index] as Uint8Array;
    if (segment.length > at) {
      rest.push(at === 0 ? segment : segment.subarray(at));
    }
    at = 0;
  }
  return rest;
}

/**
 * ssh2's `drainBuffer`, sending with sealChannelData: called by ssh2 when the server opens the window
 * of a channel that has bytes waiting. ssh2 may also put its own drain in place; both send the queue
 * in order, and either one is fine.
 */
function drainQueued(this: Ssh2SftpWriter): void {
  this._chunkcb = undefined;
  const queued = this._buffer ?? [];
  this._buffer = [];
  if (!openChannel(this)) {
    return; // as ssh2: bytes for a channel being closed are dropped
  }
  const rest = sendAsWindowAllows(this, queued);
  if (rest.length > 0) {
    this._buffer = rest;
    this._waitWindow = true;
    this._chunkcb = drainQueued;
  }
}

/**
 * Sends WRITE(handle, position, buffer[offset, offset + length)) and registers `done` for its STATUS
 * reply, as ssh2's `write` would. Answers false, having sent nothing, when the fast path does not
 * apply (another cipher, a key exchange under way, an unexpected ssh2); the caller then uses ssh2's
 * `write`.
 */
export function writeDirectly(
  sftp: SFTPWrapper,
  handle: Buffer,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
  done: (error?: Error | null) => void,
): boolean {
  const writer = sftp as unknown as Ssh2SftpWriter;
  if (
    length <= 0 ||
    length > (writer._maxWriteLen ?? 0) ||
    offset < 0 ||
    offset + length > buffer.length ||
    !openChannel(writer) ||
    !canSealDirectly(writer._protocol)
  ) {
    return false;
  }
  // uint32 length, byte type, uint32 id, string handle, uint64 offset, uint32 data length.
  const header = Buffer.allocUnsafe(4 + 1 + 4 + 4 + handle.length + 8 + 4);
  const id = (writer._writeReqid = ((writer._writeReqid ?? 0) + 1) & MAX_REQID);
  let at = header.writeUInt32BE(header.length - 4 + length, 0);
  at = header.writeUInt8(SFTP_WRITE, at);
  at = header.writeUInt32BE(id >>> 0, at);
  at = header.writeUInt32BE(handle.length, at);
  at += handle.copy(header, at);
  at = header.writeBigUInt64BE(BigInt(position), at);
  header.writeUInt32BE(length, at);
  writer._requests![id] = { cb: done };

  const segments = [header, buffer.subarray(offset, offset + length)];
  if (writer._buffer.length > 0) {
    // Bytes are already waiting for window (and a drain is in place): these go after them.
    writer._buffer.push(...segments);
    return true;
  }
  const rest = sendAsWindowAllows(writer, segments);
  if (rest.length > 0) {
    writer._buffer.push(...rest);
    writer._waitWindow = true;
    writer._chunkcb = drainQueued;
  }
  return true;
}

/** True when WRITE requests on this session are sealed from the caller's buffer (for the log). */
export function sealsWritesDirectly(sftp: SFTPWrapper): boolean {
  const writer = sftp as unknown as Ssh2SftpWriter;
  return openChannel(writer) && canSealDirectly(writer._protocol);
}

/**
 * Forgets bytes waiting for window on a session that has failed its requests, so that none of them
 * (views of buffers their callers may reuse) can leave later.
 */
export function dropQueuedWrites(sftp: SFTPWrapper): void {
  const writer = sftp as unknown as Ssh2SftpWriter;
  if (Array.isArray(writer._buffer)) {
    writer._buffer = [];
  }
}
