import type { SFTPWrapper } from 'ssh2';

/**
 * The few ssh2 internals we read, kept in one place. ssh2 stores the server's advertised extensions
 * and the `limits@openssh.com` answer on private fields and exposes no accessor. The version is pinned
 * in package.json, and test/unit/sftpInternals.test.ts fails loudly if an upgrade moves these fields.
 */
interface Ssh2SftpPrivate {
  _extensions?: Record<string, string>;
  _maxReadLen?: number;
  _maxWriteLen?: number;
  maxOpenHandles?: number;
}

export interface ServerLimits {
  /** Largest READ the server answers in full; larger ones come back short. */
  readonly maxReadLength: number;
  /** Largest WRITE the server accepts (OpenSSH's sftp-server exits on larger messages). */
  readonly maxWriteLength: number;
  /** The server's open-handle limit; Infinity when it did not say. */
  readonly maxOpenHandles: number;
}

export function readServerExtensions(sftp: SFTPWrapper): ReadonlyMap<string, string> {
  const extensions = (sftp as unknown as Ssh2SftpPrivate)._extensions;
  return new Map(Object.entries(extensions ?? {}));
}

export function readServerLimits(sftp: SFTPWrapper): ServerLimits {
  const internals = sftp as unknown as Ssh2SftpPrivate;
  const positive = (value: number | undefined, fallback: number): number =>
    typeof value === 'number' && value > 0 ? value : fallback;
  return {
    // ssh2's own defaults when the server did not advertise limits: 256 KiB - 2 KiB for OpenSSH,
    // 34000 - 2 KiB for others (the draft's guaranteed minimum packet).
    maxReadLength: positive(internals._maxReadLen, 32 * 1024),
    maxWriteLength: positive(internals._maxWriteLen, 32 * 1024),
    maxOpenHandles: positive(internals.maxOpenHandles, Infinity),
  };
}
