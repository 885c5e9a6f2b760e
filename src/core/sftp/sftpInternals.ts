import type { Client, SFTPWrapper } from 'ssh2';

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
 * Grows the SFTP channel's receive window to `bytes` and keeps it there. ssh2 opens every channel with
 * a fixed 2 MiB window and tops it up to that size only: at 50 ms round trip that caps a download at
 * about 20 MB/s however many READs are in flight. The window is topped up after each incoming packet,
 * before ssh2's own check, which then never fires. Answers false when ssh2's internals are not as
 * expected (the integration test fails loudly in that case).
 */
export function enlargeReceiveWindow(sftp: SFTPWrapper, bytes: number): boolean {
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
    const amount = bytes - incoming.window;
    if (amount > 0 && outgoing.state !== 'closed') {
      incoming.window += amount;
      protocol.channelWindowAdjust(outgoing.id, amount);
    }
  };
  channel.push = (data: Buffer | null): unknown => {
    const result = originalPush.call(sftp, data);
    if (data !== null && incoming.window <= bytes / 2) {
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

interface Ssh2PendingRequests {
  _writeReqid?: number;
  _requests?: Record<
    number,
    { cb?: (error?: unknown, data?: unknown, bytes?: unknown) => unknown; buffer?: Buffer }
  >;
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
