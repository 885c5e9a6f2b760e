import type { Attributes } from 'ssh2';

/** What kind of thing an SFTP ATTRS block describes, from the S_IFMT bits of its mode. */
export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export function kindOfMode(mode: number | undefined): EntryKind {
  switch ((mode ?? 0) & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'directory';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

/** The core's view of a remote entry: plain data, times in milliseconds. */
export interface RemoteStat {
  readonly kind: EntryKind;
  readonly size: number;
  /** Modification time in milliseconds since the epoch (SFTP v3 carries whole seconds). */
  readonly mtimeMs: number;
  /** The permission bits (mode & 0o7777), when the server sent them. */
  readonly permissions: number | undefined;
}

export function toRemoteStat(attrs: Attributes): RemoteStat {
  return {
    kind: kindOfMode(attrs.mode),
    size: typeof attrs.size === 'number' && Number.isFinite(attrs.size) && attrs.size >= 0 ? attrs.size : 0,
    mtimeMs: typeof attrs.mtime === 'number' ? attrs.mtime * 1000 : 0,
    permissions: typeof attrs.mode === 'number' ? attrs.mode & 0o7777 : undefined,
  };
}
