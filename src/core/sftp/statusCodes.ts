import { RemoteFsError, type RemoteErrorCode } from '../common/errors';

/**
 * Every SFTP status code (0–8 from version 3, 9–31 from the later drafts some servers send anyway),
 * with the core error it becomes. This table is the only place that interprets a status number.
 *
 * OpenSSH answers most failures (EEXIST, ENOTEMPTY, EISDIR, ENOSPC, ...) with the generic FAILURE (4);
 * the filesystem layer refines those with a follow-up STAT where it can.
 */
interface StatusEntry {
  readonly name: string;
  readonly code: RemoteErrorCode;
  readonly summary: string;
}

const STATUS_TABLE: ReadonlyMap<number, StatusEntry> = new Map<number, StatusEntry>([
  [1, { name: 'EOF', code: 'EPROTO', summary: 'Unexpected end of file' }],
  [2, { name: 'NO_SUCH_FILE', code: 'ENOENT', summary: 'No such file or folder' }],
  [3, { name: 'PERMISSION_DENIED', code: 'EACCES', summary: 'Permission denied' }],
  [4, { name: 'FAILURE', code: 'EFAILURE', summary: 'The server reported a failure' }],
  [5, { name: 'BAD_MESSAGE', code: 'EPROTO', summary: 'The server rejected the request as malformed' }],
  [6, { name: 'NO_CONNECTION', code: 'ECONNLOST', summary: 'No connection to the server' }],
  [7, { name: 'CONNECTION_LOST', code: 'ECONNLOST', summary: 'The connection to the server was lost' }],
  [
    8,
    { name: 'OP_UNSUPPORTED', code: 'EUNSUPPORTED', summary: 'The server does not support this operation' },
  ],
  [9, { name: 'INVALID_HANDLE', code: 'EPROTO', summary: 'The server reported an invalid handle' }],
  [10, { name: 'NO_SUCH_PATH', code: 'ENOENT', summary: 'No such path' }],
  [11, { name: 'FILE_ALREADY_EXISTS', code: 'EEXIST', summary: 'File already exists' }],
  [12, { name: 'WRITE_PROTECT', code: 'EACCES', summary: 'The file system is write-protected' }],
  [13, { name: 'NO_MEDIA', code: 'EFAILURE', summary: 'No media in the drive' }],
  [14, { name: 'NO_SPACE_ON_FILESYSTEM', code: 'ENOSPC', summary: 'No space left on the server' }],
  [15, { name: 'QUOTA_EXCEEDED', code: 'ENOSPC', summary: 'Disk quota exceeded on the server' }],
  [16, { name: 'UNKNOWN_PRINCIPAL', code: 'EINVAL', summary: 'Unknown user or group' }],
  [17, { name: 'LOCK_CONFLICT', code: 'EACCES', summary: 'The file is locked by another process' }],
  [18, { name: 'DIR_NOT_EMPTY', code: 'ENOTEMPTY', summary: 'Folder is not empty' }],
  [19, { name: 'NOT_A_DIRECTORY', code: 'ENOTDIR', summary: 'Not a folder' }],
  [20, { name: 'INVALID_FILENAME', code: 'EINVAL', summary: 'Invalid file name' }],
  [21, { name: 'LINK_LOOP', code: 'EINVAL', summary: 'Too many levels of symbolic links' }],
  [22, { name: 'CANNOT_DELETE', code: 'EACCES', summary: 'The file cannot be deleted' }],
  [23, { name: 'INVALID_PARAMETER', code: 'EINVAL', summary: 'Invalid parameter' }],
  [24, { name: 'FILE_IS_A_DIRECTORY', code: 'EISDIR', summary: 'Is a folder' }],
  [25, { name: 'BYTE_RANGE_LOCK_CONFLICT', code: 'EACCES', summary: 'A byte range is locked' }],
  [26, { name: 'BYTE_RANGE_LOCK_REFUSED', code: 'EACCES', summary: 'A byte range lock was refused' }],
  [27, { name: 'DELETE_PENDING', code: 'EACCES', summary: 'The file is being deleted' }],
  [28, { name: 'FILE_CORRUPT', code: 'EFAILURE', summary: 'The file is corrupt' }],
  [29, { name: 'OWNER_INVALID', code: 'EINVAL', summary: 'Invalid owner' }],
  [30, { name: 'GROUP_INVALID', code: 'EINVAL', summary: 'Invalid group' }],
  [31, { name: 'NO_MATCHING_BYTE_RANGE_LOCK', code: 'EINVAL', summary: 'No matching byte range lock' }],
]);

export const SFTP_STATUS_EOF = 1;

export function describeStatus(status: number): StatusEntry {
  return (
    STATUS_TABLE.get(status) ?? {
      name: `UNKNOWN_${status}`,
      code: 'EFAILURE',
      summary: `The server answered with unknown status ${status}`,
    }
  );
}

/** All status numbers the table knows, for tests that check it is complete. */
export function knownStatuses(): number[] {
  return [...STATUS_TABLE.keys()];
}

/**
 * Converts whatever ssh2 handed to a callback into a RemoteFsError. ssh2 signals a STATUS reply with a
 * numeric `code`; a lost channel fails every pending request with "No response from server" and no
 * code. Already-converted errors pass through untouched, so nothing is converted twice.
 */
export function toRemoteError(error: unknown, path?: string): RemoteFsError {
  if (error instanceof RemoteFsError) {
    return error;
  }
  const withPath = path === undefined ? {} : { path };
  const raw = error as { code?: unknown; message?: unknown } | undefined;
  if (typeof raw?.code === 'number') {
    const entry = describeStatus(raw.code);
    const serverMessage = typeof raw.message === 'string' ? raw.message : '';
    // ssh2 substitutes its own name (e.g. "Failure") when the server sent no text; that adds nothing.
    const isOwnText = serverMessage !== '' && serverMessage.toUpperCase().replace(/ /g, '_') !== entry.name;
    return new RemoteFsError(entry.code, entry.summary, {
      ...withPath,
      sftpStatus: raw.code,
      ...(isOwnText ? { serverMessage } : {}),
      cause: error,
    });
  }
  const message = typeof raw?.message === 'string' ? raw.message : String(error);
  if (/No response from server|not connected|channel.*(closed|ended)|Connection lost/i.test(message)) {
    return new RemoteFsError('ECONNLOST', 'The connection to the server was lost', {
      ...withPath,
      cause: error,
    });
  }
  return new RemoteFsError('EPROTO', `Unexpected SFTP error (${message})`, { ...withPath, cause: error });
}
