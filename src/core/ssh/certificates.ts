import { createPublicKey, verify, type KeyObject } from 'node:crypto';

import { MalformedWire, WireReader, wireString } from './wireReader';

/**
 * OpenSSH certificates (PROTOCOL.certkeys): a public key, who it is for and when, signed by a
 * certificate authority. ssh2 cannot read them, so this module parses them and checks the CA's
 * signature with Node's own crypto.
 */
export interface SshCertificate {
  /** The whole certificate as sent on the wire. */
  readonly blob: Buffer;
  /** `ssh-ed25519-cert-v01@openssh.com`, ... */
  readonly certificateType: string;
  /** The certified key's own type: `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ... */
  readonly keyType: string;
  /** The certified key as a plain public key blob: what a server proves it holds, or an agent signs with. */
  readonly publicKey: Buffer;
  readonly serial: bigint;
  readonly kind: 'user' | 'host';
  readonly keyId: string;
  /** Names the certificate is valid for; empty means any (OpenSSH refuses that for hosts). */
  readonly principals: readonly string[];
  /** Seconds since the epoch; `validBefore` is 2^64-1 for "forever". */
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  readonly criticalOptions: readonly string[];
  readonly extensions: readonly string[];
  /** The CA's public key blob. */
  readonly signatureKey: Buffer;
  /** Everything the CA signed: the certificate up to its signature. */
  readonly signedPart: Buffer;
  readonly signature: Buffer;
}

/** Certificate types this module reads, with the plain key type each certifies. */
const CERTIFIED_KEY_TYPE: Readonly<Record<string, string>> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
};

export function isCertificateType(type: string): boolean {
  return type in CERTIFIED_KEY_TYPE;
}

/** Reads a certificate blob; throws with a reason for anything malformed or of an unknown type. */
export function parseCertificate(blob: Buffer): SshCertificate {
  const reader = new WireReader(blob);
  try {
    const certificateType = reader.string().toString('latin1');
    const keyType = CERTIFIED_KEY_TYPE[certificateType];
    if (keyType === undefined) {
      throw new Error(`unsupported certificate type ${certificateType}`);
    }
    reader.string(); // nonce
    const keyStart = reader.position;
    if (keyType === 'ssh-rsa') {
      reader.string(); // e
      reader.string(); // n
    } else if (keyType === 'ssh-ed25519') {
      reader.string();
    } else {
      reader.string(); // curve name
      reader.string(); // point
    }
    const publicKey = Buffer.concat([wireString(keyType), blob.subarray(keyStart, reader.position)]);
    const serial = reader.uint64();
    const kindCode = reader.uint32();
    if (kindCode !== 1 && kindCode !== 2) {
      throw new Error(`unknown certificate kind ${kindCode}`);
    }
    const keyId = reader.text();
    const principals = stringsIn(reader.string());
    const validAfter = reader.uint64();
    const validBefore = reader.uint64();
    const criticalOptions = namesIn(reader.string());
    const extensions = namesIn(reader.string());
    reader.string(); // reserved
    const signatureKey = reader.string();
    const signedPart = blob.subarray(0, reader.position);
    const signature = reader.string();
    if (!reader.atEnd) {
      throw new Error('trailing bytes after the signature');
    }
    return {
      blob,
      certificateType,
      keyType,
      publicKey,
      serial,
      kind: kindCode === 1 ? 'user' : 'host',
      keyId,
      principals,
      validAfter,
      validBefore,
      criticalOptions,
      extensions,
      signatureKey,
      signedPart,
      signature,
    };
  } catch (error) {
    if (error instanceof MalformedWire) {
      throw new Error(`malformed certificate: ${error.message}`);
    }
    throw error;
  }
}

/** A packed list of strings (the principals field). */
function stringsIn(field: Buffer): string[] {
  const reader = new WireReader(field);
  const values: string[] = [];
  while (!reader.atEnd) {
    values.push(reader.text());
  }
  return values;
}

/** A packed list of (name, data) pairs (critical options, extensions): the names. */
function namesIn(field: Buffer): string[] {
  const reader = new WireReader(field);
  const names: string[] = [];
  while (!reader.atEnd) {
    names.push(reader.text());
    reader.string();
  }
  return names;
}

/** True when the CA's signature over the certificate is valid. Never throws: a bad signature is false. */
export function hasValidSignature(certificate: SshCertificate): boolean {
  try {
    return verifySshSignature(certificate.signatureKey, certificate.signedPart, certificate.signature);
  } catch {
    return false;
  }
}

/** Verifies an SSH signature blob (`string algorithm, string signature`) made by the key `keyBlob`. */
export function verifySshSignature(keyBlob: Buffer, data: Buffer, signatureBlob: Buffer): boolean {
  const key = publicKeyObject(keyBlob);
  const reader = new WireReader(signatureBlob);
  const algorithm = reader.string().toString('latin1');
  const signature = reader.string();
  const keyType = new WireReader(keyBlob).string().toString('latin1');
  switch (algorithm) {
    case 'ssh-ed25519':
      return keyType === 'ssh-ed25519' && verify(null, data, key, signature);
    case 'rsa-sha2-512':
    case 'rsa-sha2-256':
    case 'ssh-rsa': {
      const hash = algorithm === 'ssh-rsa' ? 'sha1' : algorithm === 'rsa-sha2-256' ? 'sha256' : 'sha512';
      return keyType === 'ssh-rsa' && verify(hash, data, key, signature);
    }
    default: {
      const curve = ECDSA_CURVES[algorithm];
      if (curve === undefined || keyType !== algorithm) {
        return false;
      }
      const parts = new WireReader(signature);
      const r = fixedWidth(parts.string(), curve.bytes);
      const s = fixedWidth(parts.string(), curve.bytes);
      return verify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s]));
    }
  }
}

const ECDSA_CURVES: Readonly<Record<string, { jwk: string; bytes: number; hash: string }>> = {
  'ecdsa-sha2-nistp256': { jwk: 'P-256', bytes: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { jwk: 'P-384', bytes: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { jwk: 'P-521', bytes: 66, hash: 'sha512' },
};

/** An SSH public key blob as a Node KeyObject (through JWK, which needs no ASN.1 encoding here). */
export function publicKeyObject(blob: Buffer): KeyObject {
  const reader = new WireReader(blob);
  const type = reader.string().toString('latin1');
  if (type === 'ssh-ed25519') {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: base64url(reader.string()) },
      format: 'jwk',
    });
  }
  if (type === 'ssh-rsa') {
    const e = unsigned(reader.string());
    const n = unsigned(reader.string());
    return createPublicKey({ key: { kty: 'RSA', n: base64url(n), e: base64url(e) }, format: 'jwk' });
  }
  const curve = ECDSA_CURVES[type];
  if (curve !== undefined) {
    reader.string(); // the curve's short name, implied by the type
    const point = reader.string();
    if (point[0] !== 4 || point.length !== 1 + 2 * curve.bytes) {
      throw new Error('only uncompressed ECDSA points are used by SSH');
    }
    const x = point.subarray(1, 1 + curve.bytes);
    const y = point.subarray(1 + curve.bytes);
    return createPublicKey({
      key: { kty: 'EC', crv: curve.jwk, x: base64url(x), y: base64url(y) },
      format: 'jwk',
    });
  }
  throw new Error(`unsupported key type ${type}`);
}

/** An mpint's magnitude without the sign byte SSH adds when the top bit is set. */
function unsigned(mpint: Buffer): Buffer {
  let start = 0;
  while (start < mpint.length - 1 && mpint[start] === 0) {
    start++;
  }
  return mpint.subarray(start);
}

/** An mpint as exactly `width` big-endian bytes (ECDSA's r and s in IEEE P1363 form). */
function fixedWidth(mpint: Buffer, width: number): Buffer {
  const magnitude = unsigned(mpint);
  if (magnitude.length > width) {
    throw new Error('ECDSA signature component too large');
  }
  return Buffer.concat([Buffer.alloc(width - magnitude.length), magnitude]);
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** Why a certificate may not be used now, or undefined when its dates allow it. */
export function validityProblem(certificate: SshCertificate, nowSeconds: number): string | undefined {
  const now = BigInt(Math.floor(nowSeconds));
  if (now < certificate.validAfter) {
    return `it is not valid before ${dateOf(certificate.validAfter)}`;
  }
  if (now >= certificate.validBefore) {
    return `it expired on ${dateOf(certificate.validBefore)}`;
  }
  return undefined;
}

function dateOf(seconds: bigint): string {
  return seconds > 8_640_000_000_000n ? 'forever' : new Date(Number(seconds) * 1000).toISOString();
}

/** The certificate in `ssh-keygen -L` terms, for logs and messages. */
export function describeCertificate(certificate: SshCertificate): string {
  return `${certificate.kind} certificate "${certificate.keyId}" (serial ${certificate.serial})`;
}
