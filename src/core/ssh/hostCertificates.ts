import { errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ResolvedHost } from '../config/hostResolver';
import {
  describeCertificate,
  hasValidSignature,
  parseCertificate,
  validityProblem,
  type SshCertificate,
} from './certificates';
import { scanHostCertificate } from './hostCertificateScan';
import {
  hostFieldMatches,
  knownHostsNames,
  loadKnownHosts,
  sha256Fingerprint,
  wildcardMatch,
  type KnownHostEntry,
} from './knownHosts';
import type { Transport } from './transport';

/**
 * Host certificates with OpenSSH's rules (sshconnect.c check_host_cert, sshkey_cert_check_host): a
 * host with no key recorded in known_hosts but an `@cert-authority` line for its name is trusted when
 * it presents a host certificate signed by that CA, naming the host among its principals, within its
 * dates, with no critical options, and neither the CA nor the key revoked.
 */
export type HostCertificateVerdict =
  /** The certificate holds: the key it certifies is trusted for this connection (and not recorded). */
  | {
      readonly status: 'trusted';
      readonly publicKey: Buffer;
      readonly keyType: string;
      readonly certificate: SshCertificate;
      readonly authority: KnownHostEntry;
    }
  /** A CA, the certificate or its key is marked @revoked: refuse whatever StrictHostKeyChecking says. */
  | { readonly status: 'revoked'; readonly reason: string }
  /** No usable certificate: the plain key is judged as usual, and messages say why the certificate did not help. */
  | { readonly status: 'unusable'; readonly reason: string };

/** The certificate algorithms of each key type, as a server names them in its host-key list. */
const CERTIFICATE_ALGORITHMS = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
];

/** The name a host certificate must list as a principal: the alias, or the host name ssh connects to. */
function principalName(host: ResolvedHost): string {
  return (host.hostKeyAlias ?? host.hostName).toLowerCase();
}

/** `@cert-authority` lines for the host, when no plain key is recorded for it (then a certificate is what trusts it). */
export function authoritiesToConsult(
  entries: readonly KnownHostEntry[],
  names: readonly string[],
): KnownHostEntry[] {
  const forHost = (entry: KnownHostEntry): boolean =>
    names.some((name) => hostFieldMatches(entry.hostPatterns, name));
  if (entries.some((entry) => entry.marker === undefined && forHost(entry))) {
    return [];
  }
  return entries.filter((entry) => entry.marker === 'cert-authority' && forHost(entry));
}

/** Judges a presented host certificate blob against known_hosts, at `nowSeconds`. */
export function judgeHostCertificate(
  blob: Buffer,
  entries: readonly KnownHostEntry[],
  authorities: readonly KnownHostEntry[],
  principal: string,
  nowSeconds: number,
): HostCertificateVerdict {
  let certificate: SshCertificate;
  try {
    certificate = parseCertificate(blob);
  } catch (error) {
    return { status: 'unusable', reason: `its host certificate cannot be read (${errorMessage(error)})` };
  }
  const described = describeCertificate(certificate);
  const revoked = entries.find(
    (entry) =>
      entry.marker === 'revoked' &&
      [certificate.signatureKey, certificate.publicKey, certificate.blob].some(
        (key) => key.toString('base64') === entry.keyBase64,
      ),
  );
  if (revoked !== undefined) {
    return {
      status: 'revoked',
      reason: `its ${described}, its key or the CA that signed it is marked as revoked in ${revoked.file}:${revoked.line}`,
    };
  }
  if (certificate.kind !== 'host') {
    return { status: 'unusable', reason: `it presented a user certificate as its host key` };
  }
  const caKey = certificate.signatureKey.toString('base64');
  const authority = authorities.find((entry) => entry.keyBase64 === caKey);
  if (authority === undefined) {
    return {
      status: 'unusable',
      reason: `its ${described} is signed by a CA (${sha256Fingerprint(certificate.signatureKey)}) that no @cert-authority line trusts for this host`,
    };
  }
  if (!hasValidSignature(certificate)) {
    return { status: 'unusable', reason: `the CA signature of its ${described} is not valid` };
  }
  const dates = validityProblem(certificate, nowSeconds);
  if (dates !== undefined) {
    return { status: 'unusable', reason: `its ${described} cannot be used: ${dates}` };
  }
  if (certificate.principals.length === 0) {
    return {
      status: 'unusable',
      reason: `its ${described} names no host (OpenSSH refuses such host certificates)`,
    };
  }
  if (!certificate.principals.some((pattern) => wildcardMatch(pattern, principal))) {
    return {
      status: 'unusable',
      reason: `its ${described} is for ${certificate.principals.join(', ')}, not for ${principal}`,
    };
  }
  if (certificate.criticalOptions.length > 0) {
    return {
      status: 'unusable',
      reason: `its ${described} has critical options (${certificate.criticalOptions.join(', ')}), which host certificates may not have`,
    };
  }
  return {
    status: 'trusted',
    publicKey: certificate.publicKey,
    keyType: certificate.keyType,
    certificate,
    authority,
  };
}

/**
 * For a host known only through `@cert-authority` lines: fetches its certificate over a connection
 * of its own (`openScan`, the same route the real connection takes) and judges it. Undefined when
 * known_hosts gives no reason to look (a key is recorded, or no CA applies), as ssh does not either.
 */
export async function hostCertificateFor(
  host: ResolvedHost,
  openScan: () => Promise<Transport>,
  logger: Logger,
): Promise<HostCertificateVerdict | undefined> {
  let entries: KnownHostEntry[];
  try {
    entries = await loadKnownHosts([...host.userKnownHostsFiles, ...host.globalKnownHostsFiles]);
  } catch {
    return undefined; // the host-key verifier reports an unreadable known_hosts file
  }
  const names = knownHostsNames(host);
  const authorities = authoritiesToConsult(entries, names);
  if (authorities.length === 0) {
    return undefined;
  }
  // A CA of one key type signs host keys of any type: every certificate algorithm is asked for.
  logger.debug(
    `${names[0]} is trusted through ${authorities.length} @cert-authority line(s); asking it for its host certificate`,
  );
  let transport: Transport | undefined;
  try {
    transport = await openScan();
    const scan = await scanHostCertificate(transport.stream, CERTIFICATE_ALGORITHMS, host.connectTimeoutMs);
    if (scan.certificate === undefined) {
      return { status: 'unusable', reason: scan.reason };
    }
    const verdict = judgeHostCertificate(
      scan.certificate,
      entries,
      authorities,
      principalName(host),
      Date.now() / 1000,
    );
    logger.debug(
      verdict.status === 'trusted'
        ? `${describeCertificate(verdict.certificate)} (${scan.algorithm}) is signed by the CA in ${verdict.authority.file}:${verdict.authority.line}`
        : `The host certificate of ${names[0]} is not trusted: ${verdict.reason}`,
    );
    return verdict;
  } catch (error) {
    return {
      status: 'unusable',
      reason: `its host certificate could not be fetched (${errorMessage(error)})`,
    };
  } finally {
    transport?.dispose();
  }
}

/** The host-key offer with the certified key's algorithms first, so the server proves that key. */
export function preferCertifiedKey(offer: readonly string[], keyType: string): string[] {
  const forKey = (algorithm: string): boolean =>
    keyType === 'ssh-rsa'
      ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].includes(algorithm)
      : algorithm === keyType;
  return [...offer.filter(forKey), ...offer.filter((algorithm) => !forKey(algorithm))];
}
