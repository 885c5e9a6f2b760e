import type { RemoteErrorCode } from '../core/common/errors';

/** The FileSystemError factories VS Code offers, plus `Unknown` for the plain constructor. */
export type FileSystemErrorKind =
  | 'FileNotFound'
  | 'FileExists'
  | 'FileNotADirectory'
  | 'FileIsADirectory'
  | 'NoPermissions'
  | 'Unavailable'
  | 'Unknown';

/**
 * Which FileSystemError each core error becomes. This table is the whole error policy of the
 * provider: VS Code reacts to the kind (FileNotFound offers "Create File", FileExists makes mkdirp
 * carry on, ...), and the message, which keeps the server's own text, is what the user reads.
 * It imports nothing from VS Code, so unit tests check it under plain Node.
 */
export const ERROR_KIND_BY_CODE: Readonly<Record<RemoteErrorCode, FileSystemErrorKind>> = {
  ENOENT: 'FileNotFound',
  EEXIST: 'FileExists',
  ENOTDIR: 'FileNotADirectory',
  EISDIR: 'FileIsADirectory',
  EACCES: 'NoPermissions',
  ECONNLOST: 'Unavailable',
  ECONNECT: 'Unavailable',
  ETIMEDOUT: 'Unavailable',
  EAUTH: 'Unavailable',
  EHOSTKEY: 'Unavailable',
  // No public factory fits these; the plain constructor keeps the message, which says what happened.
  ENOTEMPTY: 'Unknown',
  ENOSPC: 'Unknown',
  ETOOLARGE: 'Unknown',
  EUNSUPPORTED: 'Unknown',
  EINVAL: 'Unknown',
  EPROTO: 'Unknown',
  EFAILURE: 'Unknown',
  ECANCELED: 'Unknown',
};
