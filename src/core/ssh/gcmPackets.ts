import { createCipheriv, randomFillSync } from 'node:crypto';

import { incrementInvocationCounter, isAesGcm } from './aesGcm';

/**
 * SSH CHANNEL_DATA packets sealed with AES-GCM straight from the caller's bytes.
 *
 * Without its native addon (the .vsix never has it) ssh2 sends channel data by copying it into a
 * fresh plaintext packet and handing that to Node's cipher, which returns the ciphertext in another
 * fresh buffer; the SFTP layer above made a copy of its own first. An upload of 64 MiB thus left
 * 192 MiB of short-lived buffers behind, and in the extension host, whose heap holds every other
 * extension, the garbage collector they set off took 45 % of a profiled upload. Here the packet's
 * few header bytes, the caller's data and the padding go through one cipher in turn: the ciphertext
 * is the only copy.
 *
 * The cipher state is ssh2's own (its AES-GCM cipher's key, IV and sequence number), so packets
 * sealed here and packets ssh2 seals interleave correctly. Only used when ssh2 runs its JavaScript
 * AES-GCM cipher, no key exchange is under way (ssh2 holds packets back then) and there is no
 * compression; callers fall back to ssh2 otherwise.
 */

/** The fields of ssh2's JavaScript AES-GCM cipher (crypto.js, AESGCMCipherNative) used here. */
interface Ssh2GcmCipher {
  readonly _encSSLName: string;
  readonly _encKey: Buffer;
  readonly _encIV: Buffer;
  readonly _onWrite: (data: Buffer) => void;
  readonly _dead: boolean;
  outSeqno: number;
}

/** The fields of ssh2's Protocol used here. */
interface Ssh2Protocol {
  readonly _cipher?: unknown;
  readonly _kexinit?: unknown;
  readonly _packetRW?: { readonly write?: object };
}

const CHANNEL_DATA = 94;
/** uint32 packet length, byte padding length, byte type, uint32 recipient, uint32 data length. */
const HEADER_LENGTH = 4 + 1 + 1 + 4 + 4;

function gcmCipherOf(protocol: unknown): Ssh2GcmCipher | undefined {
  const proto = protocol as Ssh2Protocol | undefined;
  if (proto === undefined || proto._kexinit !== undefined) {
    return undefined; // mid key exchange: ssh2 queues packets and re-keys the cipher
  }
  const writer = proto._packetRW?.write;
  if (writer === undefined || '_zlib' in writer) {
    return undefined; // compression: packets must go through ssh2's deflate
  }
  const cipher = proto._cipher as Partial<Ssh2GcmCipher> | undefined;
  if (
    cipher === undefined ||
    !isAesGcm(cipher._encSSLName) ||
    !Buffer.isBuffer(cipher._encKey) ||
    !Buffer.isBuffer(cipher._encIV) ||
    cipher._encIV.length !== 12 ||
    typeof cipher._onWrite !== 'function' ||
    typeof cipher.outSeqno !== 'number' ||
    cipher._dead === true
  ) {
    return undefined; // another cipher, or ssh2's native addon (it encrypts in place, without copies)
  }
  return cipher as Ssh2GcmCipher;
}

/** True when `sealChannelData` can send on this ssh2 Protocol right now. */
export function canSealDirectly(protocol: unknown): boolean {
  return gcmCipherOf(protocol) !== undefined;
}

/**
 * Sends one CHANNEL_DATA packet to `recipient` carrying `parts` in order, encrypted with the
 * connection's AES-GCM cipher. The parts are read, not kept. The caller has already taken the bytes
 * from the channel's window and kept the packet within the channel's maximum packet size. Answers
 * false, sending nothing, when the connection is not in a state where this is safe.
 */
export function sealChannelData(protocol: unknown, recipient: number, parts: readonly Uint8Array[]): boolean {
  const cipher = gcmCipherOf(protocol);
  if (cipher === undefined) {
    return false;
  }
  let dataLength = 0;
  for (const part of parts) {
    dataLength += part.length;
  }
  // RFC 4253 6: padding of at least 4 bytes bringing padding length, payload and padding to a multiple
  // of the block size (the length field is outside it with AES-GCM, RFC 5647 7.2).
  const payloadLength = 1 + 4 + 4 + dataLength;
  let paddingLength = 16 - ((1 + payloadLength) & 15);
  if (paddingLength < 4) {
    paddingLength += 16;
  }
  const header = Buffer.allocUnsafe(HEADER_LENGTH);
  header.writeUInt32BE(1 + payloadLength + paddingLength, 0);
  header[4] = paddingLength;
  header[5] = CHANNEL_DATA;
  header.writeUInt32BE(recipient, 6);
  header.writeUInt32BE(dataLength, 10);
  const padding = randomFillSync(Buffer.allocUnsafe(paddingLength));

  const gcm = createCipheriv(cipher._encSSLName as 'aes-128-gcm', cipher._encKey, cipher._encIV);
  gcm.setAutoPadding(false);
  const lengthField = header.subarray(0, 4);
  gcm.setAAD(lengthField);
  cipher._onWrite(lengthField);
  cipher._onWrite(gcm.update(header.subarray(4)));
  for (const part of parts) {
    if (part.length > 0) {
      cipher._onWrite(gcm.update(part));
    }
  }
  cipher._onWrite(gcm.update(padding));
  const rest = gcm.final();
  if (rest.length > 0) {
    cipher._onWrite(rest);
  }
  cipher._onWrite(gcm.getAuthTag());
  incrementInvocationCounter(cipher._encIV);
  cipher.outSeqno = (cipher.outSeqno + 1) >>> 0;
  return true;
}
