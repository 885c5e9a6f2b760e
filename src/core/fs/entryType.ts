/** What a provider reports about an entry: its kind and whether it was reached through a link. */
export interface EntryType {
  readonly kind: 'file' | 'directory' | 'unknown';
  readonly symlink: boolean;
}

export interface EntryStat {
  readonly type: EntryType;
  readonly size: number;
  readonly mtimeMs: number;
  /** SFTP v3 has no change time; the modification time stands in for it. */
  readonly ctimeMs: number;
  /** The login user certainly cannot write it (its mode bits, or a server that refuses all writes). */
  readonly notWritable?: boolean;
}

export interface WriteOptions {
  readonly create: boolean;
  readonly overwrite: boolean;
}
