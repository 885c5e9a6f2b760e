/** What ssh2's JavaScript AES-GCM cipher and decipher share, and so do the replacements built on them. */

/** Node's names of the ciphers ssh2 negotiates as aes128-gcm@openssh.com and aes256-gcm@openssh.com. */
const AES_GCM = new Set(['aes-128-gcm', 'aes-256-gcm']);

export function isAesGcm(cipherName: unknown): cipherName is 'aes-128-gcm' | 'aes-256-gcm' {
  return typeof cipherName === 'string' && AES_GCM.has(cipherName);
}

/** The IV's invocation counter (its last 8 bytes) plus one, as RFC 5647 and ssh2 do after each packet. */
export function incrementInvocationCounter(iv: Buffer): void {
  for (let i = 11; i >= 4; i--) {
    iv[i] = ((iv[i] ?? 0) + 1) & 0xff;
    if (iv[i] !== 0) {
      return;
    }
  }
}
