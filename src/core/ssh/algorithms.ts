import type { Algorithms } from 'ssh2';

import { RemoteFsError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { AlgorithmPreferences } from '../config/hostResolver';
import { wildcardMatch } from './knownHosts';

/**
 * What ssh2 1.17 implements, from lib/protocol/constants.js SUPPORTED_*. Kept as data so a list in
 * ssh_config can be checked without ssh2 internals; the unit test compares it with ssh2's own lists.
 */
export const SSH2_SUPPORTED = {
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'chacha20-poly1305@openssh.com',
    'aes256-ctr',
    'aes256-cbc',
    'aes192-cbc',
    'aes128-cbc',
    '3des-cbc',
    'aes128-gcm',
    'aes256-gcm',
  ],
  kex: [
    'curve25519-sha256@libssh.org',
    'curve25519-sha256',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group14-sha256',
    'diffie-hellman-group15-sha512',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group17-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group-exchange-sha1',
    'diffie-hellman-group14-sha1',
    'diffie-hellman-group1-sha1',
  ],
  serverHostKey: [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
    'ssh-dss',
  ],
  hmac: [
    'hmac-sha2-256-etm@openssh.com',
    'hmac-sha2-512-etm@openssh.com',
    'hmac-sha1-etm@openssh.com',
    'hmac-sha2-256',
    'hmac-sha2-512',
    'hmac-sha1',
    'hmac-md5',
    'hmac-sha2-256-96',
    'hmac-sha2-512-96',
    'hmac-ripemd160',
    'hmac-sha1-96',
    'hmac-md5-96',
  ],
} as const;

/**
 * Our defaults. aes128-gcm comes first: the bundled extension runs on ssh2's JavaScript fallbacks,
 * where it is far faster than chacha20-poly1305 (see performance-anchors.md). SHA-1 host-key
 * signatures (ssh-rsa), SHA-1 MACs and SHA-1 key exchanges are left out unless the SSH config adds
 * them, as OpenSSH itself does.
 */
export const DEFAULT_ALGORITHMS = {
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  serverHostKey: [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
};

/** The algorithm lists offered to one host, most preferred first. */
export interface AlgorithmOffer {
  readonly cipher: string[];
  readonly kex: string[];
  readonly serverHostKey: string[];
  readonly hmac: string[];
  readonly compress: string[];
}

/** The offer as ssh2 takes it: the names are ones it supports (SSH2_SUPPORTED). */
export function asSsh2Algorithms(offer: AlgorithmOffer): Algorithms {
  return offer as Algorithms;
}

/** The algorithm offer for one host: our defaults changed by the host's Ciphers/KexAlgorithms/... lines. */
export function chooseAlgorithms(preferences: AlgorithmPreferences, logger: Logger): AlgorithmOffer {
  return {
    cipher: applyList(
      'Ciphers',
      preferences.ciphers,
      DEFAULT_ALGORITHMS.cipher,
      SSH2_SUPPORTED.cipher,
      logger,
    ),
    kex: applyList('KexAlgorithms', preferences.kex, DEFAULT_ALGORITHMS.kex, SSH2_SUPPORTED.kex, logger),
    serverHostKey: applyList(
      'HostKeyAlgorithms',
      preferences.hostKeys,
      DEFAULT_ALGORITHMS.serverHostKey,
      SSH2_SUPPORTED.serverHostKey,
      logger,
    ),
    hmac: applyList('MACs', preferences.macs, DEFAULT_ALGORITHMS.hmac, SSH2_SUPPORTED.hmac, logger),
    compress: preferences.compression ? ['zlib@openssh.com', 'zlib', 'none'] : ['none'],
  };
}

/**
 * OpenSSH's list syntax: `a,b` replaces the defaults, `+a` appends, `-a*` removes (patterns allowed),
 * `^a` puts first. Entries ssh2 cannot do are logged and dropped; an empty result is an error.
 */
export function applyList(
  keyword: string,
  spec: string | undefined,
  defaults: readonly string[],
  supported: readonly string[],
  logger: Logger,
): string[] {
  if (spec === undefined || spec.trim() === '') {
    return [...defaults];
  }
  const mode = '+-^'.includes(spec[0] ?? '') ? spec[0] : '';
  const items = (mode === '' ? spec : spec.slice(1))
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  let result: string[];
  if (mode === '-') {
    result = defaults.filter((name) => !items.some((pattern) => wildcardMatch(pattern, name)));
  } else {
    const unsupported = items.filter((item) => !supported.includes(item));
    if (unsupported.length > 0) {
      logger.warn(`${keyword}: ignoring what ssh2 does not support: ${unsupported.join(', ')}`);
    }
    const usable = items.filter((item) => supported.includes(item));
    result = mode === '+' ? [...defaults, ...usable] : mode === '^' ? [...usable, ...defaults] : usable;
  }
  const unique = [...new Set(result)];
  if (unique.length === 0) {
    throw new RemoteFsError(
      'EINVAL',
      `${keyword} in the SSH config leaves nothing this client supports (${spec})`,
    );
  }
  return unique;
}
