import { RemoteFsError, type RemoteErrorCode } from '../common/errors';

/**
 * Why files could not be opened as root through sudo. Each kind has one sentence in
 * SUDO_FAILURE_REASONS: the user reads what to do about it, the log keeps what sudo printed.
 */
export type SudoFailureKind =
  | 'no-shell' // an SFTP-only account: no command, so no sudo, can run
  | 'sudo-missing' // sudo is not installed on the server
  | 'not-allowed' // sudoers gives the account no right to run the SFTP server as root
  | 'wrong-password' // sudo refused the password three times
  | 'requiretty' // sudoers has `Defaults requiretty` for the account
  | 'no-sftp-server' // no SFTP server program where sshd's configuration or the usual places say
  | 'no-prompt' // sudo wants a password and nothing here can ask the user for one
  | 'other'; // sudo failed in a way without a sentence of its own (its words are kept)

export interface SudoFailureFacts {
  readonly user: string;
  readonly host: string;
  /** What sudo printed (not-allowed, other), or the places looked in (no-sftp-server). */
  readonly detail?: string;
}

interface Reason {
  readonly code: RemoteErrorCode;
  readonly text: (facts: SudoFailureFacts) => string;
}

const said = (facts: SudoFailureFacts): string =>
  facts.detail === undefined || facts.detail === '' ? '' : ` (sudo said: ${facts.detail})`;

/** The one table of sudo failures and what the user is told about each. */
export const SUDO_FAILURE_REASONS: Readonly<Record<SudoFailureKind, Reason>> = {
  'no-shell': {
    code: 'EUNSUPPORTED',
    text: (f) =>
      `${f.user} on ${f.host} has no shell (an SFTP-only account), so sudo cannot run there: files cannot be opened as root`,
  },
  'sudo-missing': {
    code: 'EUNSUPPORTED',
    text: (f) => `sudo is not installed on ${f.host}: files cannot be opened as root`,
  },
  'not-allowed': {
    code: 'EACCES',
    text: (f) => `${f.user} may not run the SFTP server as root with sudo on ${f.host}${said(f)}`,
  },
  'wrong-password': {
    code: 'EAUTH',
    text: (f) => `sudo on ${f.host} refused the password of ${f.user} three times`,
  },
  requiretty: {
    code: 'EUNSUPPORTED',
    text: (f) =>
      `sudo on ${f.host} runs only from a terminal (Defaults requiretty); an administrator can allow ${f.user} with the sudoers line "Defaults:${f.user} !requiretty"`,
  },
  'no-sftp-server': {
    code: 'EUNSUPPORTED',
    text: (f) =>
      `no SFTP server program was found on ${f.host} to run as root${f.detail === undefined ? '' : ` (looked for ${f.detail})`}`,
  },
  'no-prompt': {
    code: 'EAUTH',
    text: (f) => `sudo on ${f.host} asks ${f.user} for a password, and there is no way to ask for it here`,
  },
  other: {
    code: 'EFAILURE',
    text: (f) =>
      `sudo could not start the SFTP server as root on ${f.host}${f.detail === undefined || f.detail === '' ? '' : `: ${f.detail}`}`,
  },
};

/** A failure to open files as root; the message is the sentence the user reads. */
export class SudoFailure extends RemoteFsError {
  constructor(
    readonly kind: SudoFailureKind,
    readonly facts: SudoFailureFacts,
    cause?: unknown,
  ) {
    super(
      SUDO_FAILURE_REASONS[kind].code,
      `Cannot open files as root: ${SUDO_FAILURE_REASONS[kind].text(facts)}`,
      cause === undefined ? {} : { cause },
    );
  }
}

/** What a sudo run's stderr and exit status say, run with LC_ALL=C so that sudo speaks English. */
export type SudoVerdict =
  | 'password-required' // `sudo -n`: a password is needed
  | 'wrong-password'
  | 'requiretty'
  | 'not-allowed'
  | 'sudo-missing'
  | 'no-sftp-server'
  | 'other';

/** sudo's own words for each verdict (sudo 1.8 and 1.9, Debian's and upstream's wording), first match wins. */
const VERDICTS: ReadonlyArray<readonly [SudoVerdict, RegExp]> = [
  ['requiretty', /you must have a tty|a terminal is required|no tty present/i],
  ['not-allowed', /is not in the sudoers file|is not allowed to (execute|run)|may not run sudo/i],
  ['wrong-password', /incorrect password attempt|sorry, try again/i],
  ['password-required', /a password is required/i],
  ['no-sftp-server', /^sudo: .*: command not found/im],
];

/** Reads what sudo (or the shell, when sudo is missing) printed before it gave up. */
export function readSudoVerdict(stderr: string, exitCode: number | undefined): SudoVerdict {
  for (const [verdict, pattern] of VERDICTS) {
    if (pattern.test(stderr)) {
      return verdict;
    }
  }
  // The shell's "sudo: not found" / "sudo: command not found" (exit 127): sudo itself exits 1.
  return exitCode === 127 ? 'sudo-missing' : 'other';
}

/** The lines of sudo's stderr worth showing: its complaints, without blank lines, at most three. */
export function sudoWords(stderr: string): string {
  return stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(0, 3)
    .join(' ')
    .slice(0, 300);
}
