import type { Logger } from '../common/logger';
import type { ResolvedHost } from '../config/hostResolver';
import { hostFieldMatches, knownHostsNames, loadKnownHostsSync, type KnownHostEntry } from './knownHosts';

/** The key type a known_hosts line records for each host-key algorithm (RSA signs three ways). */
const KEY_TYPE_OF_ALGORITHM: Readonly<Record<string, string>> = {
  'ssh-ed25519': 'ssh-ed25519',
  'ecdsa-sha2-nistp256': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521': 'ecdsa-sha2-nistp521',
  'rsa-sha2-512': 'ssh-rsa',
  'rsa-sha2-256': 'ssh-rsa',
  'ssh-rsa': 'ssh-rsa',
  'ssh-dss': 'ssh-dss',
};

/**
 * The host-key algorithm offer as OpenSSH's ssh orders it (sshconnect2.c order_hostkeyalgs): when the
 * key type of the first algorithm is recorded for the host, the offer stays as it is; otherwise the
 * algorithms whose key type is recorded come first, in their own order, then the rest. The server
 * takes the first algorithm it has a key for, so a host whose recorded key is RSA (keys recorded
 * years ago often are) presents that key instead of a newer one nobody has recorded.
 */
export function orderHostKeyAlgorithms(
  offer: readonly string[],
  entries: readonly KnownHostEntry[],
  name: string,
): string[] {
  const recorded = new Set(
    entries
      .filter((entry) => entry.marker === undefined && hostFieldMatches(entry.hostPatterns, name))
      .map((entry) => entry.keyType),
  );
  const isRecorded = (algorithm: string): boolean => {
    const keyType = KEY_TYPE_OF_ALGORITHM[algorithm];
    return keyType !== undefined && recorded.has(keyType);
  };
  const [best] = offer;
  if (best === undefined || isRecorded(best)) {
    return [...offer];
  }
  return [...offer.filter(isRecorded), ...offer.filter((algorithm) => !isRecorded(algorithm))];
}

/**
 * Puts the host-key algorithms of keys recorded for `host` first, as ssh does, unless the SSH config
 * names its own HostKeyAlgorithms list (ssh keeps that order; `+`, `-` and defaults are reordered).
 */
export function hostKeyOfferFor(host: ResolvedHost, offer: readonly string[], logger: Logger): string[] {
  const spec = host.algorithms.hostKeys?.trim();
  if (spec !== undefined && spec !== '' && !spec.startsWith('+') && !spec.startsWith('-')) {
    return [...offer];
  }
  // ssh looks the host up by HostKeyAlias, or by [host]:port, here (not by its bare name).
  const [name = host.hostName] = knownHostsNames(host);
  let entries: KnownHostEntry[];
  try {
    // Read synchronously: the connection's socket is already open, and an event it emits while this
    // waited would be missed (a server that closes at once would leave the handshake hanging).
    entries = loadKnownHostsSync([...host.userKnownHostsFiles, ...host.globalKnownHostsFiles]);
  } catch {
    return [...offer]; // the verifier reports an unreadable known_hosts file
  }
  const ordered = orderHostKeyAlgorithms(offer, entries, name);
  if (ordered[0] !== offer[0]) {
    logger.debug(`Preferring the host key algorithms recorded for ${name}: ${ordered.join(',')}`);
  }
  return ordered;
}
