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

/** What a special file is called in messages, or undefined for files, folders and links. */
export function specialKindName(mode: number | undefined): string | undefined {
  switch ((mode ?? 0) & S_IFMT) {
    case 0o010000:
      return 'a FIFO (named pipe)';
    case 0o140000:
      return 'a socket';
    case 0o020000:
    case 0o060000:
      return 'a device';
    default:
      return undefined;
  }
}
