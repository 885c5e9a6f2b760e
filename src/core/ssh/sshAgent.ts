import type { Duplex } from 'node:stream';
import { BaseAgent, createAgent, utils, type ParsedKey } from 'ssh2';

import { isCertificateType, parseCertificate, type SshCertificate } from './certificates';
import { certificateIdentities, isCertificateIdentity, signingFlagsOf } from './userCertificates';
import { WireReader, wireString, wireUint32 } from './wireReader';

/** SSH agent protocol (draft-miller-ssh-agent) messages used here. */
const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
const FAILURE = 5;
/** An agent answer larger than this is not an agent's (OpenSSH caps messages at 256 KiB). */
const MAX_MESSAGE = 256 * 1024;
/** Flags of a sign request asking RSA keys for SHA-2 signatures. */
const RSA_SHA2_256 = 2;
const RSA_SHA2_512 = 4;

/**
 * Identities the agent signs for under another blob: a CertificateFile certificate paired with a key
 * the agent holds without it. The agent knows only the plain key; the signature is the same.
 */
const signingBlobs = new WeakMap<object, Buffer>();

interface StreamSource {
  /** ssh2 answers `null` for no error. */
  getStream(callback: (error: Error | null | undefined, stream?: Duplex) => void): void;
}

/**
 * An SSH agent that also offers the certificates it holds. ssh2's own agent client drops every
 * identity it cannot parse, and certificates are among them, so a user whose key is certified by the
 * organisation's CA (`ssh-add` loads `id_ed25519-cert.pub` with the key) could not log in. This
 * client speaks the agent protocol itself, over the stream ssh2's agent for the same socket opens
 * (a Unix socket, a Windows pipe, Cygwin or Pageant: ssh2 knows how to reach each).
 */
export class CertificateAwareAgent extends BaseAgent<ParsedKey> {
  private readonly source: StreamSource;

  constructor(
    readonly socket: string,
    /** Certificates from CertificateFile: offered with the agent key each certifies. */
    private readonly certificateFiles: readonly SshCertificate[] = [],
  ) {
    super();
    this.source = createAgent(socket) as unknown as StreamSource;
  }

  override getIdentities(callback: (error: Error | undefined, keys?: ParsedKey[]) => void): void {
    this.request(Buffer.from([REQUEST_IDENTITIES]), (error, answer) => {
      if (error !== undefined || answer === undefined) {
        callback(error ?? new Error('The SSH agent did not answer'));
        return;
      }
      try {
        callback(undefined, identitiesIn(answer, this.certificateFiles));
      } catch (failure) {
        callback(failure as Error);
      }
    });
  }

  override sign(
    key: ParsedKey | Buffer | string,
    data: Buffer,
    options: { hash?: string } | ((error?: Error, signature?: Buffer) => void),
    callback?: (error?: Error, signature?: Buffer) => void,
  ): void {
    const done = typeof options === 'function' ? options : callback;
    const hash = typeof options === 'function' ? undefined : options.hash;
    if (done === undefined) {
      return;
    }
    const parsed = typeof key === 'object' && !Buffer.isBuffer(key) ? key : utils.parseKey(key);
    if (parsed instanceof Error) {
      done(parsed);
      return;
    }
    const flags = isCertificateIdentity(parsed)
      ? signingFlagsOf(parsed.signatureAlgorithm)
      : parsed.type === 'ssh-rsa'
        ? hash === 'sha512'
          ? RSA_SHA2_512
          : hash === 'sha256'
            ? RSA_SHA2_256
            : 0
        : 0;
    const message = Buffer.concat([
      Buffer.from([SIGN_REQUEST]),
      wireString(signingBlobs.get(parsed) ?? parsed.getPublicSSH()),
      wireString(data),
      wireUint32(flags),
    ]);
    this.request(message, (error, answer) => {
      if (error !== undefined || answer === undefined) {
        done(error ?? new Error('The SSH agent did not answer'));
        return;
      }
      try {
        const reader = new WireReader(answer);
        const type = reader.byte();
        if (type !== SIGN_RESPONSE) {
          done(
            new Error(type === FAILURE ? 'The SSH agent refused to sign' : `Unexpected agent answer ${type}`),
          );
          return;
        }
        // ssh2 wants the bare signature; it writes the algorithm name itself.
        const signature = new WireReader(reader.string());
        signature.string();
        done(undefined, Buffer.from(signature.string()));
      } catch (failure) {
        done(failure as Error);
      }
    });
  }

  /** Sends one message on a fresh stream and hands back the one answer (without its length). */
  private request(message: Buffer, callback: (error: Error | undefined, answer?: Buffer) => void): void {
    let answered = false;
    const finish = (error: Error | undefined, answer?: Buffer): void => {
      if (!answered) {
        answered = true;
        callback(error, answer);
      }
    };
    this.source.getStream((error, stream) => {
      if (error || stream === undefined) {
        finish(error ?? new Error('Could not reach the SSH agent'));
        return;
      }
      let received = Buffer.alloc(0);
      const end = (failure: Error | undefined, answer?: Buffer): void => {
        stream.destroy();
        finish(failure, answer);
      };
      stream.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 4) {
          return;
        }
        const length = received.readUInt32BE(0);
        if (length > MAX_MESSAGE) {
          end(new Error('The SSH agent sent an oversized answer'));
        } else if (received.length >= 4 + length) {
          end(undefined, received.subarray(4, 4 + length));
        }
      });
      stream.on('error', (failure: Error) => end(failure));
      stream.on('close', () => end(new Error('The SSH agent closed the connection without answering')));
      stream.write(Buffer.concat([wireUint32(message.length), message]));
    });
  }
}

/** The agent's identities as ssh2 keys: plain keys as they are, each certificate as the ways it signs. */
function identitiesIn(answer: Buffer, certificateFiles: readonly SshCertificate[]): ParsedKey[] {
  const reader = new WireReader(answer);
  const type = reader.byte();
  if (type !== IDENTITIES_ANSWER) {
    throw new Error(
      type === FAILURE ? 'The SSH agent refused to list its keys' : `Unexpected agent answer ${type}`,
    );
  }
  const count = reader.uint32();
  const plain: ParsedKey[] = [];
  const certified: ParsedKey[] = [];
  for (let index = 0; index < count; index++) {
    const blob = reader.string();
    const comment = reader.text();
    const keyType = new WireReader(blob).string().toString('latin1');
    if (isCertificateType(keyType)) {
      try {
        const certificate = parseCertificate(blob);
        const key = utils.parseKey(certificate.publicKey);
        if (!(key instanceof Error)) {
          certified.push(...certificateIdentities(key, certificate, `${comment} (agent)`));
        }
      } catch {
        // A certificate type this client cannot read: ssh does not offer it either.
      }
      continue;
    }
    const key = utils.parseKey(blob);
    if (!(key instanceof Error)) {
      plain.push(key);
      for (const certificate of certificateFiles.filter((c) => c.publicKey.equals(blob))) {
        for (const identity of certificateIdentities(
          key,
          certificate,
          `${comment} (agent, CertificateFile)`,
        )) {
          signingBlobs.set(identity, blob);
          certified.push(identity);
        }
      }
    }
  }
  // As ssh: a certificate is offered before the plain keys, so a server that trusts the CA is not
  // first shown keys it will refuse (each refusal counts towards MaxAuthTries).
  return [...certified, ...plain];
}
