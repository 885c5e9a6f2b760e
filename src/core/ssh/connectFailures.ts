import { RemoteFsError, errorMessage, type RemoteErrorCode } from '../common/errors';

/**
 * Why a connection could not be made, as far as the client can tell. Each kind has one sentence in
 * REASONS: the user reads words ("nothing is listening on port 22"), the log keeps the technical
 * message with its errno and ssh2's wording.
 */
export type ConnectFailureKind =
  | 'unresolved' // the host name does not resolve
  | 'refused' // nothing listens on the port
  | 'unreachable' // no route to the host
  | 'reset' // the connection was reset before the login finished
  | 'no-answer' // TCP did not connect within ConnectTimeout
  | 'silent' // TCP connected, but no SSH greeting within ConnectTimeout
  | 'slow-handshake' // SSH started, key exchange not done within ConnectTimeout
  | 'not-ssh' // the port answered with something that is not SSH
  | 'closed' // the server closed the connection during the login
  | 'login-refused' // every key and password was refused
  | 'handshake' // the SSH handshake failed (no common algorithm, a protocol error)
  | 'other'; // a socket error without a sentence of its own

export interface ConnectFailureFacts {
  readonly hostName: string;
  readonly port: number;
  readonly timeoutMs?: number;
  /** What was tried (login-refused), or ssh2's own words (handshake). */
  readonly detail?: string;
}

interface Reason {
  readonly code: RemoteErrorCode;
  readonly text: (facts: ConnectFailureFacts, target: string) => string;
}

const seconds = (facts: ConnectFailureFacts): string => `${Math.round((facts.timeoutMs ?? 0) / 1000)} s`;
/** ` hostName` when the target (an alias) does not already show it. */
const alsoNamed = (facts: ConnectFailureFacts, target: string): string =>
  target.includes(facts.hostName) ? '' : ` ${facts.hostName}`;

/** The one table of connection failures and what the user is told about each. */
export const CONNECT_FAILURE_REASONS: Readonly<Record<ConnectFailureKind, Reason>> = {
  unresolved: {
    code: 'ECONNECT',
    text: (f, target) => `the name${alsoNamed(f, target)} does not resolve`,
  },
  refused: {
    code: 'ECONNECT',
    text: (f, target) =>
      `nothing is listening on port ${f.port}${alsoNamed(f, target) === '' ? '' : ` of ${f.hostName}`}`,
  },
  unreachable: {
    code: 'ECONNECT',
    text: (f) => `${f.hostName} cannot be reached from this network`,
  },
  reset: { code: 'ECONNECT', text: () => 'the connection was reset before the login finished' },
  'no-answer': { code: 'ETIMEDOUT', text: (f) => `the server did not answer within ${seconds(f)}` },
  silent: {
    code: 'ETIMEDOUT',
    text: (f) =>
      `the server did not answer within ${seconds(f)} (port ${f.port} accepted the connection but sent no SSH greeting)`,
  },
  'slow-handshake': {
    code: 'ETIMEDOUT',
    text: (f) => `the server did not complete the SSH handshake within ${seconds(f)}`,
  },
  'not-ssh': {
    code: 'ECONNLOST',
    text: (f) => `port ${f.port} does not speak SSH (something else answered, then closed the connection)`,
  },
  closed: { code: 'ECONNLOST', text: () => 'the server closed the connection during the login' },
  'login-refused': {
    code: 'EAUTH',
    text: (f) => `the server refused every key and password: ${f.detail ?? 'nothing could be offered'}`,
  },
  handshake: {
    code: 'ECONNECT',
    text: (f) => {
      const detail = (f.detail ?? '').replace(/^handshake failed:\s*/i, '').trim();
      return detail === ''
        ? 'the SSH handshake failed (the log has the details)'
        : `the SSH handshake failed: ${detail}`;
    },
  },
  other: { code: 'ECONNECT', text: () => 'the connection failed (the log has the details)' },
};

const KIND_BY_ERRNO: Readonly<Record<string, ConnectFailureKind>> = {
  ENOTFOUND: 'unresolved',
  EAI_AGAIN: 'unresolved',
  EAI_NONAME: 'unresolved',
  EAI_FAIL: 'unresolved',
  EAI_NODATA: 'unresolved',
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ETIMEDOUT: 'no-answer',
};

/** The kind of a socket error, from its errno code. */
export function socketFailureKind(errno: string | undefined): ConnectFailureKind {
  return (errno === undefined ? undefined : KIND_BY_ERRNO[errno]) ?? 'other';
}

/**
 * A failed connection attempt: `message` is the technical account for the log (errno, ssh2's text);
 * `describeConnectFailure` gives the sentence for the user.
 */
export class ConnectFailure extends RemoteFsError {
  constructor(
    readonly kind: ConnectFailureKind,
    readonly facts: ConnectFailureFacts,
    technical: string,
    cause?: unknown,
  ) {
    super(CONNECT_FAILURE_REASONS[kind].code, technical, cause === undefined ? {} : { cause });
  }
}

/**
 * The sentence the user reads when connecting to `target` (the authority as the user wrote it)
 * failed: "Cannot connect to <target>: <reason in words>". Errors that are not ConnectFailures (a
 * changed host key, a cancelled prompt, an invalid address) keep their own message as the reason.
 */
export function describeConnectFailure(error: unknown, target: string): string {
  if (error instanceof ConnectFailure) {
    return `Cannot connect to ${target}: ${CONNECT_FAILURE_REASONS[error.kind].text(error.facts, target)}`;
  }
  const message = errorMessage(error);
  if (message.startsWith('Cannot connect to ')) {
    return message;
  }
  const reason = /^[A-Z][a-z]/.test(message)
    ? `${message.charAt(0).toLowerCase()}${message.slice(1)}`
    : message;
  return `Cannot connect to ${target}: ${reason}`;
}

/** `error` as the user should see it: the same code, the worded message, the original kept as cause. */
export function userFacingConnectError(error: unknown, target: string): RemoteFsError {
  const code = error instanceof RemoteFsError ? error.code : 'ECONNECT';
  return new RemoteFsError(code, describeConnectFailure(error, target), { cause: error });
}
