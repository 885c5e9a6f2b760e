import { readFile } from 'node:fs/promises';
import type { ParsedKey } from 'ssh2';

import { errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import { describeCertificate, parseCertificate, validityProblem, type SshCertificate } from './certificates';

/**
 * A user certificate as ssh2 sees a key: the private key it certifies (inherited, so ssh2 still
 * recognises it as a parsed key and can sign with it), presenting the certificate as its public
 * part and the certificate algorithm as its type. `certificateAuth.ts` sends it in the login
 * request, signing with `signatureAlgorithm`.
 */
export interface CertificateIdentity extends ParsedKey {
  readonly certificate: SshCertificate;
  /** The algorithm of the signature inside the login request: the certified key's own (`ssh-ed25519`, `rsa-sha2-512`, ...). */
  readonly signatureAlgorithm: string;
}

export function isCertificateIdentity(key: unknown): key is CertificateIdentity {
  return (
    typeof key === 'object' &&
    key !== null &&
    Object.prototype.hasOwnProperty.call(key, 'certificate') &&
    Object.prototype.hasOwnProperty.call(key, 'signatureAlgorithm')
  );
}

/**
 * The ways a certificate can sign a login: one for Ed25519 and ECDSA keys; for RSA the SHA-512 then
 * the SHA-256 form (OpenSSH 8.8 and later refuse the SHA-1 `ssh-rsa-cert-v01` form, older servers
 * without rsa-sha2 are not offered a certificate they could not check).
 */
export function certificateIdentities(
  key: ParsedKey,
  certificate: SshCertificate,
  comment: string,
): CertificateIdentity[] {
  const forms: Array<[algorithm: string, signatureAlgorithm: string, hash: string | undefined]> =
    certificate.keyType === 'ssh-rsa'
      ? [
          ['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-512', 'sha512'],
          ['rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-256', 'sha256'],
        ]
      : [[certificate.certificateType, certificate.keyType, undefined]];
  return forms.map(([algorithm, signatureAlgorithm, hash]) => {
    const identity: unknown = Object.create(key, {
      type: { value: algorithm, enumerable: true },
      comment: { value: comment, enumerable: true },
      certificate: { value: certificate, enumerable: true },
      signatureAlgorithm: { value: signatureAlgorithm, enumerable: true },
      getPublicSSH: { value: () => certificate.blob },
      // ssh2 asks for a hash only for plain RSA keys; the certificate's algorithm decides it here.
      sign: { value: (data: Buffer) => key.sign(data, hash) },
    });
    return identity as CertificateIdentity;
  });
}

/** Agent sign-request flags that select the RSA signature's hash (draft-miller-ssh-agent §4.5.1). */
export function signingFlagsOf(signatureAlgorithm: string): number {
  return signatureAlgorithm === 'rsa-sha2-512' ? 4 : signatureAlgorithm === 'rsa-sha2-256' ? 2 : 0;
}

/** A certificate file (`ssh-ed25519-cert-v01@openssh.com AAAA... comment`), or why it cannot be used. */
export async function readCertificateFile(file: string): Promise<SshCertificate> {
  const text = await readFile(file, 'utf8');
  const [, base64] = text.trim().split(/\s+/);
  if (base64 === undefined) {
    throw new Error('it is not an OpenSSH certificate file');
  }
  return parseCertificate(Buffer.from(base64, 'base64'));
}

/**
 * The usable user certificates for one identity, as ssh finds them: `<identity>-cert.pub` beside the
 * key, and every CertificateFile whose certified key is this key. A certificate that is for hosts,
 * out of its dates, or unreadable is reported through `unusable` and left out: offering it would
 * only cost an authentication attempt.
 */
export async function certificatesFor(
  identityFile: string,
  key: ParsedKey,
  certificateFiles: readonly string[],
  logger: Logger,
  unusable: (reason: string) => void,
  nowSeconds = Date.now() / 1000,
): Promise<SshCertificate[]> {
  const publicKey = key.getPublicSSH();
  const found: SshCertificate[] = [];
  const besideKey = `${identityFile}-cert.pub`;
  for (const file of [besideKey, ...certificateFiles]) {
    let certificate: SshCertificate;
    try {
      certificate = await readCertificateFile(file);
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      if (!(missing && file === besideKey)) {
        logger.warn(`Skipping certificate ${file}: ${missing ? 'it does not exist' : errorMessage(error)}`);
        if (certificateFiles.includes(file) && !missing) {
          unusable(`${file} (${errorMessage(error)})`);
        }
      }
      continue;
    }
    if (!certificate.publicKey.equals(publicKey) || found.some((c) => c.blob.equals(certificate.blob))) {
      continue; // a CertificateFile for another identity
    }
    const problem =
      certificate.kind !== 'user' ? 'it is a host certificate' : validityProblem(certificate, nowSeconds);
    if (problem !== undefined) {
      logger.warn(`Not offering certificate ${file}: ${problem}`);
      unusable(`${file} (${problem})`);
      continue;
    }
    logger.debug(`Found ${describeCertificate(certificate)} in ${file} for ${identityFile}`);
    found.push(certificate);
  }
  return found;
}
