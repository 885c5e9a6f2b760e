import { createDecipheriv } from 'node:crypto';

import { incrementInvocationCounter, isAesGcm } from './aesGcm';

/**
 * AES-GCM decryption of whole packets, in place of ssh2's JavaScript decipher (crypto.js,
 * AESGCMDecipherNative), which the .vsix runs because ssh2's native addon cannot load there.
 *
 * ssh2's decipher decrypts each piece of a packet as it arrives: a 32 KiB packet that spans three
 * socket reads (loopback delivers about 14 KiB per read) costs three cipher calls, three output
 * buffers and a fourth buffer the pieces are copied into. A profile of a 64 MiB download in the
 * extension host put those calls and copies among its largest costs. Here a packet that a read holds
 * whole is decrypted straight from it, and the pieces of one that spans reads are first gathered in
 * one reused buffer: one cipher call and one output buffer per packet. The checks are ssh2's (packet
 * length, the tag verified by Node's cipher before anything is passed on), and so is what is passed
 * on: the payload, to whatever `_onPayload` ssh2 has set at that moment (its key exchange swaps it).
 */

/** The fields of ssh2's decipher taken over. */
interface Ssh2GcmDecipher {
  readonly inSeqno: number;
  readonly _onPayload: (payload: Buffer) => unknown;
  readonly _decipherSSLName: string;
  readonly _decipherKey: Buffer;
  readonly _decipherIV: Buffer;
  readonly _decipherInstance?: unknown;
  readonly _tag?: Buffer;
  free?: () => void;
}

/** ssh2's limit on an incoming packet (crypto.js MAX_PACKET_SIZE), checked the same way. */
const MAX_PACKET_SIZE = 35000;
const TAG_LENGTH = 16;

/** True for ssh2's JavaScript AES-GCM decipher, which this replaces. */
export function isSsh2GcmDecipher(value: unknown): value is Ssh2GcmDecipher {
  const decipher = value as Partial<Ssh2GcmDecipher> | null | undefined;
  return (
    typeof decipher === 'object' &&
    decipher !== null &&
    !(decipher instanceof WholePacketGcmDecipher) &&
    isAesGcm(decipher._decipherSSLName) &&
    Buffer.isBuffer(decipher._decipherKey) &&
    Buffer.isBuffer(decipher._decipherIV) &&
    decipher._decipherIV.length === 12 &&
    typeof decipher._onPayload === 'function' &&
    typeof decipher.inSeqno === 'number' &&
    '_decipherInstance' in decipher &&
    Buffer.isBuffer(decipher._tag)
  );
}

export class WholePacketGcmDecipher {
  inSeqno: number;
  _onPayload: (payload: Buffer) => unknown;
  private readonly cipherName: string;
  private readonly key: Buffer;
  private readonly iv: Buffer;
  /** The packet length field, once its four bytes are in (they are the cipher's additional data). */
  private readonly lengthField = Buffer.alloc(4);
  private lengthBytes = 0;
  /** Encrypted bytes plus tag of the packet under way: `length + 16`. */
  private needed = 0;
  /** Where the pieces of a packet spanning reads are gathered; reused for every packet. */
  private readonly gathered = Buffer.allocUnsafe(MAX_PACKET_SIZE + TAG_LENGTH);
  private gatheredBytes = 0;

  constructor(from: Ssh2GcmDecipher) {
    this.inSeqno = from.inSeqno;
    this._onPayload = from._onPayload;
    this.cipherName = from._decipherSSLName;
    this.key = from._decipherKey;
    this.iv = Buffer.from(from._decipherIV);
  }

  free(): void {}

  /** ssh2's Decipher contract: consumes data[p, dataLen), answers where to resume when a payload handler asks. */
  decrypt(data: Buffer, p: number, dataLen: number): number | undefined {
    while (p < dataLen) {
      if (this.lengthBytes < 4) {
        while (this.lengthBytes < 4 && p < dataLen) {
          this.lengthField[this.lengthBytes++] = data[p++] ?? 0;
        }
        if (this.lengthBytes < 4) {
          return undefined;
        }
        const length = this.lengthField.readUInt32BE(0);
        if (length + 20 > MAX_PACKET_SIZE || length < 16 || (length & 15) !== 0) {
          throw new Error('Bad packet length');
        }
        this.needed = length + TAG_LENGTH;
      }
      let payload: Buffer;
      if (this.gatheredBytes === 0 && dataLen - p >= this.needed) {
        payload = this.open(data, p);
        p += this.needed;
      } else {
        const take = Math.min(this.needed - this.gatheredBytes, dataLen - p);
        data.copy(this.gathered, this.gatheredBytes, p, p + take);
        this.gatheredBytes += take;
        p += take;
        if (this.gatheredBytes < this.needed) {
          return undefined;
        }
        payload = this.open(this.gathered, 0);
      }
      this.lengthBytes = 0;
      this.gatheredBytes = 0;
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      incrementInvocationCounter(this.iv);
      const resumeAt = this._onPayload(payload);
      if (resumeAt !== undefined) {
        return resumeAt === false ? p : (resumeAt as number);
      }
    }
    return undefined;
  }

  /** Decrypts and authenticates the packet at source[at, at + needed); answers its payload. */
  private open(source: Buffer, at: number): Buffer {
    const length = this.needed - TAG_LENGTH;
    const gcm = createDecipheriv(this.cipherName as 'aes-128-gcm', this.key, this.iv);
    gcm.setAutoPadding(false);
    gcm.setAAD(this.lengthField);
    const plain = gcm.update(source.subarray(at, at + length));
    gcm.setAuthTag(source.subarray(at + length, at + this.needed));
    gcm.final(); // throws when the tag does not match: nothing of the packet is passed on
    const padding = plain[0] ?? 0;
    if (padding + 1 > plain.length) {
      throw new Error('Bad packet padding');
    }
    return plain.subarray(1, plain.length - padding);
  }
}

/**
 * From now on, whenever ssh2 installs its JavaScript AES-GCM decipher on this Protocol (after each
 * key exchange), a WholePacketGcmDecipher takes its place. Answers false, changing nothing, when the
 * Protocol does not look as expected.
 */
export function decryptWholePackets(protocol: unknown): boolean {
  const proto = protocol as Record<string, unknown> | undefined;
  if (proto === undefined || proto === null || !('_decipher' in proto)) {
    return false;
  }
  const descriptor = Object.getOwnPropertyDescriptor(proto, '_decipher');
  if (descriptor === undefined || !('value' in descriptor) || descriptor.configurable !== true) {
    return false;
  }
  let current: unknown = descriptor.value;
  Object.defineProperty(proto, '_decipher', {
    configurable: true,
    enumerable: descriptor.enumerable ?? true,
    get: () => current,
    set: (next: unknown) => {
      current = isSsh2GcmDecipher(next) ? new WholePacketGcmDecipher(next) : next;
    },
  });
  return true;
}

/**
 * True when the connection decrypts with ssh2's JavaScript AES-GCM decipher or the one replacing it
 * here: both copy every byte they need out of a received chunk (through the cipher, or into a buffer
 * of their own) and keep no reference to it, so their input may be a reused buffer. Other deciphers
 * (the unencrypted one of the first key exchange among them) keep views of their input.
 */
export function decipherKeepsNoInput(protocol: unknown): boolean {
  const decipher = (protocol as { _decipher?: unknown } | undefined)?._decipher;
  return decipher instanceof WholePacketGcmDecipher || isSsh2GcmDecipher(decipher);
}
