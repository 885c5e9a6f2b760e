import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { SFTP } from 'ssh2/lib/protocol/SFTP.js';

import { MAX_READ_LENGTH, SAFE_READ_LENGTH } from './readSize';

/**
 * The few ssh2 internals we read, kept in one place. ssh2 stores the server's advertised extensions
 * and the `limits@openssh.com` answer on private fields and exposes no accessor. The version is pinned
 * in package.json; connection.test.ts, hostileServer.test.ts and readSizes.test.ts fail loudly if an
 * upgrade moves these fields.
 */
interface Ssh2SftpPrivate {
  _extensions?: Record<string, string>;
  _maxReadLen?: number;
  _maxWriteLen?: number;
  maxOpenHandles?: number;
}

export interface ServerLimits {
  /**
   * Largest READ the server answers in full, as it stated it (never more than ssh2 can receive), or
   * ssh2's default when it did not: see `stated`.
   */
  readonly maxReadLength: number;
  /** Largest WRITE the server accepts (OpenSSH's sftp-server exits on larger messages). */
  readonly maxWriteLength: number;
  /** The server's open-handle limit; Infinity when it did not say. */
  readonly maxOpenHandles: number;
  /**
   * True when the server answered limits@openssh.com. Otherwise the lengths are ssh2's guesses: 256 KiB
   * - 2 KiB for servers calling themselves OpenSSH or Dropbear, 34000 - 2 KiB (the SFTP drafts'
   * guaranteed minimum packet) for others.
   */
  readonly stated: boolean;
}

export function readServerExtensions(sftp: SFTPWrapper): ReadonlyMap<string, string> {
  const extensions = (sftp as unknown as Ssh2SftpPrivate)._extensions;
  return new Map(Object.entries(extensions ?? {}));
}

export function readServerLimits(sftp: SFTPWrapper): ServerLimits {
  const internals = sftp as unknown as Ssh2SftpPrivate;
  const positive = (value: number | undefined, fallback: number): number =>
    typeof value === 'number' && value > 0 ? value : fallback;
  return {
    // ProFTPD 1.3.10 states 512 KiB - 1 KiB, and a reply that long is fatal to ssh2 (it accepts
    // packets of at most 256 KiB): READs stay within what ssh2 can receive whatever the server says.
    maxReadLength: Math.min(positive(internals._maxReadLen, SAFE_READ_LENGTH), MAX_READ_LENGTH),
    maxWriteLength: positive(internals._maxWriteLen, SAFE_READ_LENGTH),
    maxOpenHandles: positive(internals.maxOpenHandles, Infinity),
    // ssh2 sets maxOpenHandles only from a limits@openssh.com answer (to Infinity for "no limit").
    stated: internals.maxOpenHandles !== undefined,
  };
}

/**
 * Lets ssh2 send READs of up to `length` bytes as one request. Without it, ssh2 cuts a longer READ
 * into requests of its own default length (34000 - 2 KiB for servers other than OpenSSH that state no
 * limits) and sends them one after the other. Answers false when ssh2's internals are not as expected.
 */
export function allowReadsOf(sftp: SFTPWrapper, length: number): boolean {
  const internals = sftp as unknown as Ssh2SftpPrivate;
  if (typeof internals._maxReadLen !== 'number') {
    return false;
  }
  internals._maxReadLen = Math.max(internals._maxReadLen, length);
  return true;
}

interface Ssh2ChannelPrivate {
  incoming?: { window: number };
  outgoing?: { id: number; state?: string };
  _protocol?: { channelWindowAdjust(recipient: number, amount: number): void };
  push?: (data: Buffer | null) => unknown;
}

/**
 * Grows the SFTP channel's receive window to `target` (bytes, or asked each time) and keeps it there. ssh2 opens every channel with
 * a fixed 2 MiB window and tops it up to that size only: at 50 ms round trip that caps a download at
 * about 20 MB/s however many READs are in flight. The window is topped up after each incoming packet,
 * before ssh2's own check, which then never fires. Answers false when ssh2's internals are not as
 * expected (the integration test fails loudly in that case).
 */
export function enlargeReceiveWindow(sftp: SFTPWrapper, target: number | (() => number)): boolean {
  const bytes = typeof target === 'number' ? () => target : target;
  const channel = sftp as unknown as Ssh2ChannelPrivate;
  const incoming = channel.incoming;
  const outgoing = channel.outgoing;
  const protocol = channel._protocol;
  const originalPush = channel.push;
  if (
    incoming === undefined ||
    outgoing === undefined ||
    protocol === undefined ||
    typeof incoming.window !== 'number' ||
    typeof protocol.channelWindowAdjust !== 'function' ||
    typeof originalPush !== 'function'
  ) {
    return false;
  }
  const topUp = (): void => {
    const amount = bytes() - incoming.window;
    if (amount > 0 && outgoing.state !== 'closed') {
      incoming.window += amount;
      protocol.channelWindowAdjust(outgoing.id, amount);
    }
  };
  channel.push = (data: Buffer | null): unknown => {
    const result = originalPush.call(sftp, data);
    if (data !== null && incoming.window <= bytes() / 2) {
      topUp();
    }
    return result;
  };
  topUp();
  return true;
}

/**
 * Catches what ssh2's reply parsing throws. Its handlers trust the server in places (a STATUS OK in
 * answer to a READDIR makes ssh2 read `.length` of nothing), and a throw there unwinds into the
 * socket's data event: an uncaught exception, which in VS Code takes the extension host down with it.
 * Answers false when ssh2's internals are not as expected.
 */
export function guardReplyParsing(sftp: SFTPWrapper, onThrow: (error: unknown) => void): boolean {
  const channel = sftp as unknown as Ssh2ChannelPrivate;
  const originalPush = channel.push;
  if (typeof originalPush !== 'function') {
    return false;
  }
  channel.push = (data: Buffer | null): unknown => {
    try {
      return originalPush.call(sftp, data);
    } catch (error) {
      onThrow(error);
      return true;
    }
  };
  return true;
}

interface Ssh2PendingRequest {
  cb?: (error?: unknown, data?: unknown, bytes?: unknown) => unknown;
  buffer?: Buffer;
}

interface Ssh2PendingRequests {
  _writeReqid?: number;
  _requests?: Record<number, Ssh2PendingRequest>;
}

/**
 * Makes the READ just sent (call it right after `sftp.read(...)`) report a reply no server may send
 * to `onWrongReply`, as OpenSSH's own client treats it as fatal:
 * - anything but DATA or an error STATUS (an ATTRS, a HANDLE, a STATUS OK): ssh2 turns those into a
 *   read of 0 bytes, which means end of file, so a download would end early and look complete;
 * - DATA longer than asked for: ssh2 copies what fits and drops the rest without a word. The request's
 *   target is widened by one byte to see it; a valid reply never reaches that byte, and an invalid
 *   one fails the whole transfer, so what it overwrote is never used.
 * Answers false when ssh2's internals are not as expected.
 */
export function guardReadReply(sftp: SFTPWrapper, length: number, onWrongReply: () => void): boolean {
  const internals = sftp as unknown as Ssh2PendingRequests;
  const id = internals._writeReqid;
  const request = id === undefined ? undefined : internals._requests?.[id];
  const original = request?.cb;
  const target = request?.buffer;
  if (request === undefined || typeof original !== 'function' || !Buffer.isBuffer(target)) {
    return false;
  }
  if (target.byteOffset + length < target.buffer.byteLength) {
    request.buffer = Buffer.from(target.buffer, target.byteOffset, length + 1);
  }
  request.cb = (error, data, bytes) => {
    if (!error && (typeof bytes !== 'number' || bytes > length)) {
      onWrongReply();
      return undefined;
    }
    return original(error, data, bytes);
  };
  return true;
}

/** The channel's current receive window, for the test that guards enlargeReceiveWindow. */
export function receiveWindowOf(sftp: SFTPWrapper): number | undefined {
  return (sftp as unknown as Ssh2ChannelPrivate).incoming?.window;
}

interface Ssh2ClientPrivate {
  _protocol?: { ping?: () => void };
  _callbacks?: Array<(failed: boolean) => void>;
}

/**
 * Sends OpenSSH's `keepalive@openssh.com` global request on the connection and calls `answered` when
 * the server replies (success or failure alike: either proves it is alive). ssh2 does this for its own
 * keepalive timer through the same private fields, queueing a callback so replies stay in order.
 * Answers false when the internals are not there (the caller then cannot tell busy from dead).
 */
export function pingConnection(client: Client, answered: () => void): boolean {
  const internals = client as unknown as Ssh2ClientPrivate;
  if (typeof internals._protocol?.ping !== 'function' || !Array.isArray(internals._callbacks)) {
    return false;
  }
  internals._callbacks.push(() => answered());
  internals._protocol.ping();
  return true;
}

/** ssh2's SFTP packet parser state (SFTP.js `push`), read to hand it whole packets only. */
interface Ssh2SftpParser {
  push(data: Buffer | null): unknown;
  _pktLen?: number;
  _pktLenBytes?: number;
  _pktPos?: number;
  _version?: number;
  _maxInPktLen?: number;
  _requests?: Record<number, Ssh2PendingRequest | undefined>;
}

/** A DATA reply being copied straight into its READ's buffer. */
interface DirectReply {
  readonly request: Ssh2PendingRequest & { buffer: Buffer };
  /** Bytes of the reply's data that fit the READ's buffer, and those after them (a reply too long). */
  readonly fits: number;
  copied: number;
  toSkip: number;
}

const SFTP_DATA = 103;
/** uint32 length, byte type, uint32 request id, uint32 data length: what precedes a DATA reply's bytes. */
const DATA_HEADER = 13;

/**
 * Copies the bytes of DATA replies straight into the buffer their READ gave, as they arrive. ssh2
 * first gathers each reply (255 KiB, spread over eight or so SSH packets) into a buffer of its own and
 * then copies it into the READ's buffer: one allocation and one copy of every byte read, which a
 * profile of a 64 MiB read in the extension host shows among the largest costs. Every other packet,
 * and a DATA reply whose header arrives split, still goes through ssh2's parser, which is handed
 * whole packets at a time so the two never disagree about where a packet starts. What the READ's
 * callback receives is what ssh2 would give it (the buffer, and the bytes that fit it). Answers false
 * when ssh2's parser is not as expected (nothing is changed then).
 */
export function receiveDataDirectly(sftp: SFTPWrapper): boolean {
  const parser = sftp as unknown as Ssh2SftpParser;
  if (
    typeof parser.push !== 'function' ||
    typeof parser._pktLenBytes !== 'number' ||
    typeof parser._pktPos !== 'number' ||
    typeof parser._pktLen !== 'number' ||
    typeof parser._requests !== 'object'
  ) {
    return false;
  }
  const ssh2Push = parser.push.bind(parser);
  let reply: DirectReply | undefined;

  /** Bytes ssh2 needs to finish the packet it is in the middle of; 0 at a packet boundary. */
  const ssh2Needs = (): number => {
    const lengthBytes = parser._pktLenBytes ?? 0;
    if (lengthBytes === 0) {
      return 0;
    }
    return lengthBytes < 4 ? 4 - lengthBytes : (parser._pktLen ?? 0) - (parser._pktPos ?? 0);
  };

  /** A DATA reply starting at `at` that can be taken over, or undefined. */
  const startReply = (data: Buffer, at: number): DirectReply | undefined => {
    if (data.length - at < DATA_HEADER || data[at + 4] !== SFTP_DATA || parser._version === -1) {
      return undefined;
    }
    const length = data.readUInt32BE(at);
    const id = data.readUInt32BE(at + 5);
    const dataLength = data.readUInt32BE(at + 9);
    const request = parser._requests?.[id];
    if (
      length !== DATA_HEADER - 4 + dataLength ||
      length > (parser._maxInPktLen ?? 0) ||
      request === undefined ||
      typeof request.cb !== 'function' ||
      !Buffer.isBuffer(request.buffer)
    ) {
      return undefined; // ssh2 answers it (or reports the violation) as it always did
    }
    delete parser._requests?.[id];
    const fits = Math.min(dataLength, request.buffer.length);
    return { request: request as DirectReply['request'], fits, copied: 0, toSkip: dataLength - fits };
  };

  parser.push = (data: Buffer | null): unknown => {
    if (data === null) {
      const interrupted = reply;
      reply = undefined;
      // ssh2 fails the requests still waiting; this one is no longer in its list.
      interrupted?.request.cb?.(new Error('No response from server'));
      return ssh2Push(null);
    }
    let at = 0;
    while (at < data.length) {
      if (reply !== undefined) {
        const current = reply;
        const copy = Math.min(current.fits - current.copied, data.length - at);
        if (copy > 0) {
          data.copy(current.request.buffer, current.copied, at, at + copy);
          current.copied += copy;
          at += copy;
        }
        const skip = Math.min(current.toSkip, data.length - at);
        current.toSkip -= skip;
        at += skip;
        if (current.copied === current.fits && current.toSkip === 0) {
          reply = undefined;
          current.request.cb?.(undefined, current.request.buffer, current.fits);
        }
        continue;
      }
      const needed = ssh2Needs();
      if (needed > 0) {
        const end = Math.min(data.length, at + needed);
        ssh2Push(data.subarray(at, end));
        at = end;
        continue;
      }
      reply = startReply(data, at);
      if (reply !== undefined) {
        at += DATA_HEADER;
        if (reply.fits === 0 && reply.toSkip === 0) {
          const empty = reply;
          reply = undefined;
          empty.request.cb?.(undefined, empty.request.buffer, 0);
        }
        continue;
      }
      // Any other packet, or a header split across chunks: ssh2 takes it, whole if it is all here.
      const length = data.length - at >= 4 ? data.readUInt32BE(at) : Infinity;
      const end = Math.min(data.length, at + 4 + length);
      ssh2Push(data.subarray(at, end));
      at = end;
    }
    return undefined;
  };
  return true;
}

/** ssh2's channel table (Client._chanMgr): local channel id to the object its packets go to. */
interface Ssh2ChannelTable {
  get(id: number): unknown;
  update(id: number, channel: unknown): void;
}

/** The parts of an ssh2 channel that say where its packets go and how much may be sent. */
interface Ssh2ChannelState {
  incoming?: { id: number; window: number; packetSize: number; state: string };
  outgoing?: { id: number; window: number; packetSize: number; state: string };
}

/** ssh2's SFTP object as sftpOverExecChannel sets it up: a channel in all but name. */
interface Ssh2SftpChannel {
  subtype?: string;
  stderr: unknown;
  push(data: Buffer | null): unknown;
  _init(): void;
}

export interface ExecChannelHooks {
  /** What the command writes on stderr, as it comes. */
  readonly onStderr: (chunk: Buffer) => void;
  /**
   * What the command's output passes through before SFTP reads it: whatever the login shell's
   * startup files printed before the command ran is cut off here.
   */
  readonly stdout: (chunk: Buffer) => Buffer;
}

/**
 * Turns an exec channel that was just opened into ssh2's SFTP client over that same channel, and
 * sends SFTP's INIT. ssh2 starts SFTP only as the `sftp` subsystem, which runs whatever server sshd
 * is configured with, as the login user; a command (`sudo … sftp-server`) is the only way to another
 * server process. The SFTP object takes the channel's place in ssh2's channel table, so every later
 * packet of the channel (data, stderr, exit status, close) goes to it; the old channel object is told
 * only its 'close', for whoever counts channels.
 *
 * Call it in ssh2's exec callback, before a packet of the channel can arrive. Answers undefined,
 * having changed nothing, when ssh2's internals are not as expected.
 */
export function sftpOverExecChannel(
  client: Client,
  channel: ClientChannel,
  hooks: ExecChannelHooks,
): SFTPWrapper | undefined {
  const table = (client as unknown as { _chanMgr?: Ssh2ChannelTable })._chanMgr;
  const { incoming, outgoing } = channel as unknown as Ssh2ChannelState;
  if (
    incoming === undefined ||
    outgoing === undefined ||
    typeof table?.get !== 'function' ||
    typeof table.update !== 'function' ||
    table.get(incoming.id) !== channel
  ) {
    return undefined;
  }
  const sftp = new SFTP(client, { type: 'session', incoming, outgoing }, {});
  const internals = sftp as unknown as Ssh2SftpChannel;
  if (typeof internals.push !== 'function' || typeof internals._init !== 'function') {
    return undefined;
  }
  internals.subtype = 'exec';
  // ssh2 gives its SFTP object a stderr that drops everything; the command's is wanted here. ssh2
  // pushes stderr data to it, and null at the end.
  const stderr = {
    readable: true,
    push: (data: Buffer | null): boolean => {
      if (data === null) {
        stderr.readable = false;
      } else {
        hooks.onStderr(data);
      }
      return true;
    },
    on: () => stderr,
    once: () => stderr,
    emit: () => false,
    end: () => undefined,
  };
  internals.stderr = stderr;
  const ssh2Push = internals.push.bind(sftp);
  internals.push = (data: Buffer | null): unknown => {
    if (data === null) {
      return ssh2Push(null);
    }
    const chunk = hooks.stdout(data);
    return chunk.length === 0 ? undefined : ssh2Push(chunk);
  };
  table.update(incoming.id, sftp);
  sftp.once('close', () => channel.emit('close'));
  internals._init();
  return sftp;
}
