import type { Algorithms } from 'ssh2';

/**
 * The algorithm preferences we offer. aes128-gcm comes first: the bundled extension runs on ssh2's
 * JavaScript fallbacks, where it is far faster than chacha20-poly1305 (see performance-anchors.md).
 * SHA-1 host-key signatures (ssh-rsa), SHA-1 MACs and SHA-1 key exchanges are left out, as OpenSSH
 * itself does by default.
 */
export const PREFERRED_ALGORITHMS: Algorithms = {
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
  compress: ['none'],
};
