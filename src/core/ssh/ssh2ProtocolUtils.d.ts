/** The two helpers of ssh2's protocol layer that certificateAuth.ts reuses; ssh2 ships no types for them. */
declare module 'ssh2/lib/protocol/utils.js' {
  /** Encrypts and sends a finished packet, or queues it while a key exchange is in progress. */
  export function sendPacket(protocol: unknown, packet: Buffer, bypass?: boolean): boolean;
  /** OpenSSL's DER ECDSA/DSA signatures in SSH's own encoding; other signatures unchanged. */
  export function convertSignature(signature: Buffer, keyType: string): Buffer | false | undefined;
}
