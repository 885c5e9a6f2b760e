import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { RemoteFsError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ResolvedHost } from '../config/hostResolver';
import { describeCertificate } from './certificates';
import type { HostCertificateVerdict } from './hostCertificates';
import {
  judgeHostKey,
  keyTypeOfBlob,
  knownHostsNames,
  loadKnownHosts,
  sha256Fingerprint,
} from './knownHosts';

/** What a user is shown before trusting an unknown host. Implemented by the UI; tests script it. */
export interface UnknownHostKey {
  readonly host: string;
  readonly port: number;
  readonly keyType: string;
  readonly fingerprint: string;
  /** Key types already known for this host (a new type, not a changed key). */
  readonly otherKeyTypes: readonly string[];
  /** Why the host's certificate could not vouch for the key, when known_hosts trusts a CA for it. */
  readonly certificateProblem?: string;
}

export interface HostKeyPrompt {
  /** Resolves true to trust the key and record it in the user's known_hosts. */
  confirmUnknownHostKey(key: UnknownHostKey): Promise<boolean>;
}

export interface HostKeyAcceptance {
  /**
   * False when the key was accepted without being verified (StrictHostKeyChecking no with a changed
   * key): as in OpenSSH, passwords and keyboard-interactive answers are then not sent to the server.
   */
  readonly interactiveAuthAllowed: boolean;
}

/**
 * Decides whether to trust a presented host key, with OpenSSH's StrictHostKeyChecking meanings.
 * Resolves when trusted; rejects with EHOSTKEY saying why otherwise. Runs before any credential is sent.
 */
export async function verifyHostKey(
  host: ResolvedHost,
  blob: Buffer,
  prompt: HostKeyPrompt | undefined,
  logger: Logger,
  /** The host certificate's verdict, for a host known_hosts trusts through a CA (see hostCertificates.ts). */
  certificate?: HostCertificateVerdict,
): Promise<HostKeyAcceptance> {
  const [name = host.hostName, ...otherNames] = knownHostsNames(host);
  const entries = await loadKnownHosts([...host.userKnownHostsFiles, ...host.globalKnownHostsFiles]);
  if (certificate?.status === 'revoked') {
    throw new RemoteFsError(
      'EHOSTKEY',
      `The host ${name} cannot be trusted: ${certificate.reason}; refusing to connect`,
    );
  }
  let verdict = judgeHostKey(entries, name, blob);
  for (const otherName of otherNames) {
    // As ssh: a host on a non-default port whose key is listed under its bare name is known too.
    const other = judgeHostKey(entries, otherName, blob);
    if (verdict.status === 'unknown' && (other.status === 'known' || other.status === 'revoked')) {
      verdict = other;
    }
  }
  const keyType = keyTypeOfBlob(blob);
  const fingerprint = sha256Fingerprint(blob);

  switch (verdict.status) {
    case 'known':
      logger.debug(`Host key for ${name} matches ${verdict.entry.file}:${verdict.entry.line}`);
      return { interactiveAuthAllowed: true };
    case 'revoked':
      throw new RemoteFsError(
        'EHOSTKEY',
        `The host key of ${name} (${keyType} ${fingerprint}) is marked as revoked in ${verdict.entry.file}:${verdict.entry.line}; refusing to connect`,
      );
    case 'changed':
      if (host.strictHostKeyChecking === 'no') {
        logger.warn(
          `The host key of ${name} has changed (now ${keyType} ${fingerprint}; ${verdict.entry.file}:${verdict.entry.line} has another). ` +
            'StrictHostKeyChecking is no, so connecting anyway, with password and keyboard-interactive authentication disabled to avoid man-in-the-middle attacks.',
        );
        return { interactiveAuthAllowed: false };
      }
      throw new RemoteFsError(
        'EHOSTKEY',
        `The host key of ${name} has changed (now ${keyType} ${fingerprint}). This could be a man-in-the-middle attack, or the server was reinstalled. ` +
          `The offending key is in ${verdict.entry.file}:${verdict.entry.line}; remove it only if you know why the key changed`,
      );
    case 'unknown':
      break;
  }

  let certificateProblem: string | undefined;
  if (certificate?.status === 'trusted') {
    if (blob.equals(certificate.publicKey)) {
      logger.info(
        `The host key of ${name} (${keyType} ${fingerprint}) is vouched for by its ${describeCertificate(certificate.certificate)}, ` +
          `signed by the CA in ${certificate.authority.file}:${certificate.authority.line}`,
      );
      return { interactiveAuthAllowed: true };
    }
    certificateProblem = `its host certificate is for another key (${sha256Fingerprint(certificate.publicKey)})`;
  } else if (certificate?.status === 'unusable') {
    certificateProblem = certificate.reason;
  }

  const strictness = host.strictHostKeyChecking;
  let trusted = strictness === 'no' || strictness === 'accept-new';
  if (strictness === 'ask' && prompt !== undefined) {
    trusted = await prompt.confirmUnknownHostKey({
      host: host.hostKeyAlias ?? host.hostName,
      port: host.port,
      keyType,
      fingerprint,
      otherKeyTypes: verdict.otherKeyTypes,
      ...(certificateProblem === undefined ? {} : { certificateProblem }),
    });
  }
  if (!trusted) {
    const why =
      strictness === 'yes'
        ? 'StrictHostKeyChecking is yes'
        : prompt === undefined
          ? 'no prompt is available to confirm it'
          : 'it was not accepted';
    const notVouched =
      certificateProblem === undefined
        ? ''
        : ` A certificate authority is trusted for this host, but ${certificateProblem}.`;
    throw new RemoteFsError(
      'EHOSTKEY',
      `The host key of ${name} is unknown (${keyType} ${fingerprint}) and ${why}.${notVouched} ` +
        `Check the fingerprint with the server's administrator, then connect once with ssh to record it in ${host.userKnownHostsFiles[0] ?? '~/.ssh/known_hosts'}`,
    );
  }
  const file = host.userKnownHostsFiles[0];
  if (file !== undefined) {
    await appendKnownHost(file, `${name} ${keyType} ${blob.toString('base64')}`);
    logger.info(`Added the host key of ${name} (${keyType} ${fingerprint}) to ${file}`);
  }
  return { interactiveAuthAllowed: true };
}

async function appendKnownHost(file: string, line: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const current = await readFile(file, 'utf8').catch(() => '');
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${separator}${line}\n`, { mode: 0o600 });
}
