import { createECDH, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';

import { WireReader, wireString, wireUint32 } from './wireReader';

/**
 * Asks a server for its host certificate, as `ssh-keyscan -c` does: the start of a key exchange that
 * offers only certificate host-key algorithms, stopped at the server's reply, which carries the
 * certificate. ssh2 cannot negotiate certificate host keys (its key exchange checks the signature
 * type against the negotiated algorithm and parses only plain keys, both inside closures no hook
 * reaches), so the certificate is fetched on a second connection and the real connection proves the
 * server holds the certified key: its key exchange is signed with that key (hostCertificates.ts).
 * Nothing secret is sent: no credentials, and the exchange never completes.
 */

const MSG_DISCONNECT = 1;
const MSG_IGNORE = 2;
const MSG_DEBUG = 4;
const MSG_KEXINIT = 20;
const MSG_KEX_ECDH_INIT = 30;
const MSG_KEX_ECDH_REPLY = 31;

/** Key exchanges this scan can start: every OpenSSH since 6.5, ProFTPD and Dropbear offer one. */
const KEX_CURVES: ReadonlyArray<[name: string, curve: 'x25519' | string]> = [
  ['curve25519-sha256', 'x25519'],
  ['curve25519-sha256@libssh.org', 'x25519'],
  ['ecdh-sha2-nistp256', 'prime256v1'],
  ['ecdh-sha2-nistp384', 'secp384r1'],
  ['ecdh-sha2-nistp521', 'secp521r1'],
];
/** Offered only so that negotiation succeeds; the exchange stops before any of them is used. */
const CIPHERS =
  'aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com';
const MACS =
  'hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1';
/** Longer than any version banner or key-exchange message a server sends before keys are set. */
const MAX_PREAMBLE = 64 * 1024;
const MAX_PACKET = 256 * 1024;

export type HostCertificateScan =
  | { readonly certificate: Buffer; readonly algorithm: string }
  | { readonly certificate: undefined; readonly reason: string };

/**
 * Runs the scan over `stream` (already connected to the server, as the real connection will be).
 * `algorithms` are the certificate host-key algorithms to offer, preferred first.
 */
export function scanHostCertificate(
  stream: Duplex,
  algorithms: readonly string[],
  timeoutMs: number,
): Promise<HostCertificateScan> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let identified = false;
    /** The certificate algorithm negotiated, once the server's KEXINIT arrived. */
    let negotiated: string | undefined;
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const finish = (outcome: HostCertificateScan): void => {
      cleanUp();
      resolve(outcome);
    };
    const fail = (error: Error): void => {
      cleanUp();
      reject(error);
    };
    const cleanUp = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('error', fail);
      stream.off('close', onClose);
    };
    const onClose = (): void => fail(new Error('the server closed the connection'));

    const onMessage = (payload: Buffer): void => {
      const reader = new WireReader(payload);
      const type = reader.byte();
      if (type === MSG_IGNORE || type === MSG_DEBUG) {
        return;
      }
      if (type === MSG_DISCONNECT) {
        reader.uint32();
        fail(new Error(`the server ended the exchange: ${reader.text()}`));
        return;
      }
      if (type === MSG_KEXINIT && negotiated === undefined) {
        // RFC 4253 §7.1: the first of the client's algorithms that the server also lists.
        reader.bytes(16); // cookie
        const serverKex = reader.nameList();
        const serverHostKeys = reader.nameList();
        const algorithm = algorithms.find((name) => serverHostKeys.includes(name));
        if (algorithm === undefined) {
          finish({ certificate: undefined, reason: 'the server offers no host certificate' });
          return;
        }
        const kex = KEX_CURVES.find(([name]) => serverKex.includes(name));
        if (kex === undefined) {
          finish({
            certificate: undefined,
            reason: 'the server offers no key exchange the certificate scan knows',
          });
          return;
        }
        negotiated = algorithm;
        stream.write(
          packet(Buffer.concat([Buffer.from([MSG_KEX_ECDH_INIT]), wireString(ephemeralPublicKey(kex[1]))])),
        );
        return;
      }
      if (type === MSG_KEX_ECDH_REPLY && negotiated !== undefined) {
        finish({ certificate: Buffer.from(reader.string()), algorithm: negotiated });
        return;
      }
      fail(new Error(`unexpected message ${type} during the key exchange`));
    };

    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        if (!identified) {
          // Servers may send other lines before their version (RFC 4253 §4.2).
          for (;;) {
            const end = buffered.indexOf(0x0a);
            if (end < 0) {
              if (buffered.length > MAX_PREAMBLE) {
                throw new Error('no SSH version line from the server');
              }
              return;
            }
            const line = buffered.subarray(0, end).toString('latin1');
            buffered = buffered.subarray(end + 1);
            if (line.startsWith('SSH-')) {
              if (!line.startsWith('SSH-2.0-') && !line.startsWith('SSH-1.99-')) {
                throw new Error(`the server speaks ${line.trim()}`);
              }
              identified = true;
              break;
            }
          }
        }
        while (buffered.length >= 4) {
          const length = buffered.readUInt32BE(0);
          if (length > MAX_PACKET || length < 5) {
            throw new Error('the server sent a malformed packet');
          }
          if (buffered.length < 4 + length) {
            return;
          }
          const padding = buffered[4] as number;
          const payload = buffered.subarray(5, 4 + length - padding);
          buffered = buffered.subarray(4 + length);
          onMessage(payload);
        }
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    };

    stream.on('data', onData);
    stream.once('error', fail);
    stream.once('close', onClose);
    // Both sides send their version and KEXINIT at once (RFC 4253 §4.2, §7.1).
    stream.write('SSH-2.0-sftpfs_certscan\r\n');
    stream.write(packet(kexInit(algorithms)));
  });
}

function kexInit(hostKeyAlgorithms: readonly string[]): Buffer {
  return Buffer.concat([
    Buffer.from([MSG_KEXINIT]),
    randomBytes(16),
    wireString(KEX_CURVES.map(([name]) => name).join(',')),
    wireString(hostKeyAlgorithms.join(',')),
    wireString(CIPHERS),
    wireString(CIPHERS),
    wireString(MACS),
    wireString(MACS),
    wireString('none'),
    wireString('none'),
    wireString(''),
    wireString(''),
    Buffer.from([0]), // no guessed packet follows
    wireUint32(0),
  ]);
}

/** An ephemeral public key for the exchange; its private half is never needed (nothing is derived). */
function ephemeralPublicKey(curve: string): Buffer {
  if (curve === 'x25519') {
    const { publicKey } = generateKeyPairSync('x25519');
    const { x } = publicKey.export({ format: 'jwk' });
    return Buffer.from(x ?? '', 'base64url');
  }
  const ecdh = createECDH(curve);
  return ecdh.generateKeys();
}

/** An unencrypted binary packet (RFC 4253 §6): padded to 8 bytes, with at least 4 bytes of padding. */
function packet(payload: Buffer): Buffer {
  let padding = 8 - ((4 + 1 + payload.length) % 8);
  if (padding < 4) {
    padding += 8;
  }
  return Buffer.concat([
    wireUint32(1 + payload.length + padding),
    Buffer.from([padding]),
    payload,
    randomBytes(padding),
  ]);
}
