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
