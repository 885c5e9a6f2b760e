import type { Client } from 'ssh2';
import { convertSignature, sendPacket } from 'ssh2/lib/protocol/utils.js';

import { isCertificateIdentity, type CertificateIdentity } from './userCertificates';
import { wireString } from './wireReader';

const USERAUTH_REQUEST = 50;

type Signer = (data: Buffer, done: (signature: Buffer) => void) => void;

/** The ssh2 protocol internals a certificate login needs, all in this file. */
interface Ssh2ProtocolPrivate {
  authPK(username: string, key: unknown, keyAlgorithm?: string | Signer, sign?: Signer): void;
  _kex?: { sessionID?: Buffer };
  _authsQueue?: string[];
  _packetRW?: {
    write: { alloc(length: number): Buffer; allocStart: number; finalize(packet: Buffer): Buffer };
  };
  [CERTIFICATES_ENABLED]?: true;
}

const CERTIFICATES_ENABLED = Symbol('sftpfs.certificateAuth');

/**
 * Teaches one ssh2 client to log in with user certificates. ssh2 writes a public-key login request
 * with a single algorithm name used both for the key and inside the signature; a certificate login
 * needs two (RFC 4252 §7 with PROTOCOL.certkeys): the certificate algorithm for the key
 * (`ssh-ed25519-cert-v01@openssh.com`) and the certified key's own algorithm for the signature
 * (`ssh-ed25519`), which sshd checks. So requests for a CertificateIdentity are written here; every
 * other key still goes through ssh2 unchanged. Returns false when ssh2's internals are not as this
 * code expects (an ssh2 upgrade): certificates are then not offered, and the log says why.
 */
export function enableCertificateAuth(client: Client): boolean {
  const protocol = (client as unknown as { _protocol?: Ssh2ProtocolPrivate })._protocol;
  if (protocol === undefined || typeof protocol.authPK !== 'function' || protocol._packetRW === undefined) {
    return false;
  }
  if (protocol[CERTIFICATES_ENABLED]) {
    return true;
  }
  const ssh2AuthPK = protocol.authPK.bind(protocol);
  protocol.authPK = (username, key, keyAlgorithm, sign) => {
    if (!isCertificateIdentity(key)) {
      ssh2AuthPK(username, key, keyAlgorithm, sign);
      return;
    }
    const signer = typeof keyAlgorithm === 'function' ? keyAlgorithm : sign;
    requestWithCertificate(protocol, username, key, signer);
  };
  protocol[CERTIFICATES_ENABLED] = true;
  return true;
}

function requestWithCertificate(
  protocol: Ssh2ProtocolPrivate,
  username: string,
  identity: CertificateIdentity,
  sign: Signer | undefined,
): void {
  const request = (signed: boolean): Buffer =>
    Buffer.concat([
      Buffer.from([USERAUTH_REQUEST]),
      wireString(username),
      wireString('ssh-connection'),
      wireString('publickey'),
      Buffer.from([signed ? 1 : 0]),
      wireString(identity.type),
      wireString(identity.certificate.blob),
    ]);
  if (sign === undefined) {
    // The query ("would this key do?"), answered by USERAUTH_PK_OK, which ssh2 handles.
    send(protocol, request(false));
    return;
  }
  const sessionId = protocol._kex?.sessionID;
  if (sessionId === undefined) {
    throw new Error('ssh2 internals changed: no session identifier for a certificate login');
  }
  const signedRequest = request(true);
  sign(Buffer.concat([wireString(sessionId), signedRequest]), (signature) => {
    const encoded = convertSignature(signature, identity.certificate.keyType);
    if (!encoded) {
      throw new Error('Could not encode the certificate login signature');
    }
    const signatureBlob = wireString(
      Buffer.concat([wireString(identity.signatureAlgorithm), wireString(encoded)]),
    );
    send(protocol, Buffer.concat([signedRequest, signatureBlob]));
  });
}

function send(protocol: Ssh2ProtocolPrivate, payload: Buffer): void {
  const writer = protocol._packetRW?.write;
  if (writer === undefined) {
    throw new Error('ssh2 internals changed: no packet writer');
  }
  const packet = writer.alloc(payload.length);
  packet.set(payload, writer.allocStart);
  // ssh2 reads the answers to login requests in the order they were sent.
  protocol._authsQueue?.push('publickey');
  sendPacket(protocol, writer.finalize(packet));
}
