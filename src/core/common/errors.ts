/**
 * The one error type the core throws. `code` is stable and errno-like so that the adapter can map it
 * through a single table; `message` is English, for logs and bug reports, and keeps the server's own
 * text where there was one.
 */
export type RemoteErrorCode =
  | 'ENOENT' // no such file or folder
  | 'EEXIST' // already exists
  | 'ENOTDIR' // a path component, or the target, is not a folder
  | 'EISDIR' // the target is a folder
  | 'ENOTEMPTY' // folder not empty
  | 'EACCES' // permission denied (includes read-only servers)
  | 'ENOSPC' // no space or quota exceeded
  | 'ETOOLARGE' // larger than the configured maximum
  | 'EUNSUPPORTED' // the server does not support the operation
  | 'EINVAL' // bad argument (a malformed path or URI)
  | 'EPROTO' // the server broke the protocol (hostile or broken server)
  | 'ECONNLOST' // the connection went away while the request was pending
  | 'ECONNECT' // could not connect (refused, unreachable, DNS)
  | 'ETIMEDOUT' // no answer in time
  | 'EAUTH' // authentication failed
  | 'EHOSTKEY' // the host key is unknown, changed or revoked
  | 'ECANCELED' // the user cancelled a long operation
  | 'EFAILURE'; // the server failed and said nothing more specific

export interface RemoteErrorDetails {
  /** The remote path the operation was about, if any. */
  readonly path?: string;
  /** The text the server sent with its status, kept verbatim. */
  readonly serverMessage?: string;
  /** The raw SFTP status code, when the error came from one. */
  readonly sftpStatus?: number;
  readonly cause?: unknown;
}

export class RemoteFsError extends Error {
  override readonly name = 'RemoteFsError';
  readonly path: string | undefined;
  readonly serverMessage: string | undefined;
  readonly sftpStatus: number | undefined;

  constructor(
    readonly code: RemoteErrorCode,
    /** What happened, without the path or the server's text (those are in `message`). */
    readonly summary: string,
    details: RemoteErrorDetails = {},
  ) {
    super(composeMessage(summary, details), details.cause === undefined ? {} : { cause: details.cause });
    this.path = details.path;
    this.serverMessage = details.serverMessage;
    this.sftpStatus = details.sftpStatus;
  }
}

function composeMessage(summary: string, details: RemoteErrorDetails): string {
  let message = details.path === undefined ? summary : `${summary}: ${details.path}`;
  const serverText = details.serverMessage?.trim();
  if (serverText) {
    message += ` (Error message from server: ${serverText})`;
  }
  return message;
}

/** A copy of `error` with a more precise code, summary or path, keeping the server's text and cause. */
export function withCode(
  error: RemoteFsError,
  code: RemoteErrorCode,
  summary: string,
  path: string,
): RemoteFsError {
  return new RemoteFsError(code, summary, {
    path,
    ...(error.serverMessage === undefined ? {} : { serverMessage: error.serverMessage }),
    ...(error.sftpStatus === undefined ? {} : { sftpStatus: error.sftpStatus }),
    cause: error,
  });
}

/** `error` naming `path` when it names no path yet (a failed reconnect knows nothing of the file). */
export function aboutPath(error: unknown, path: string): unknown {
  return error instanceof RemoteFsError && error.path === undefined
    ? withCode(error, error.code, error.summary, path)
    : error;
}

export function isRemoteFsError(error: unknown, code?: RemoteErrorCode): error is RemoteFsError {
  return error instanceof RemoteFsError && (code === undefined || error.code === code);
}

/** Errors that mean "the transport is gone", after which a reconnect may help. */
export function isConnectionError(error: unknown): boolean {
  return (
    error instanceof RemoteFsError &&
    (error.code === 'ECONNLOST' || error.code === 'ECONNECT' || error.code === 'ETIMEDOUT')
  );
}

/** What a long operation throws when the user cancels it. */
export function cancelled(): RemoteFsError {
  return new RemoteFsError('ECANCELED', 'Cancelled');
}

/** Throws ECANCELED once `signal` is aborted: called between the steps of a long operation. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw cancelled();
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
