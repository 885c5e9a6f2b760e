import { cancelled } from '../common/errors';
import type { Logger } from '../common/logger';
import type { SftpSession, SftpSessionOptions } from '../sftp/session';
import type { CredentialPrompts } from './credentials';
import { hasShell, runCommand, shellQuote } from './remoteCommand';
import { CommandSftpFailure, type SshConnection } from './sshConnection';
import { SudoFailure, readSudoVerdict, sudoWords, type SudoFailureKind } from './sudoFailures';

/**
 * Where OpenSSH's sftp-server is, after the path sshd's own configuration names: Debian and Ubuntu,
 * Fedora and RHEL, Arch, the BSDs and macOS, a source build.
 */
export const USUAL_SFTP_SERVER_PATHS: readonly string[] = [
  '/usr/lib/openssh/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/lib/ssh/sftp-server',
  '/usr/libexec/sftp-server',
  '/usr/lib/sftp-server',
  '/usr/local/libexec/sftp-server',
];

/** sudo's password tries, as sudo itself allows by default (passwd_tries). */
const PASSWORD_TRIES = 3;
const COMMAND_TIMEOUT_MS = 20_000;

export interface SudoSftpOptions {
  readonly logger: Logger;
  /** How the password is asked; without it only NOPASSWD rules work. */
  readonly prompts?: CredentialPrompts;
  readonly session?: SftpSessionOptions;
  /** What the password is remembered under (see sudoPasswordKey in credentials.ts). */
  readonly passwordKey: string;
  /** The host as the user named it: what prompts and messages show. */
  readonly hostLabel: string;
  /** When given, the only places sftp-server is looked for (sshd's configuration is not read): tests. */
  readonly sftpServerPaths?: readonly string[];
}

/**
 * An SFTP session as root on `connection`: the server's sftp-server run by `sudo` on an exec channel
 * of the same SSH connection, with the ordinary session code over it.
 *
 * First `sudo -n` (a NOPASSWD rule, or credentials sudo still remembers, need nothing more); when sudo
 * wants a password, the user is asked (up to three times, as sudo allows), each answer is checked by
 * a run of the same command that ends at once, and only a password sudo took starts the session:
 * `sudo -S -k` reads exactly one line, the password, and the SFTP server gets the rest. A wrong
 * password never reaches sudo together with SFTP's bytes, which sudo would count as a second wrong
 * try against the account's lockout limit. The password is never logged.
 */
export async function openSudoSftp(
  connection: SshConnection,
  options: SudoSftpOptions,
): Promise<SftpSession> {
  const user = connection.host.user;
  const facts = { user, host: options.hostLabel };
  const fail = (kind: SudoFailureKind, detail?: string, cause?: unknown): SudoFailure =>
    new SudoFailure(kind, detail === undefined ? facts : { ...facts, detail }, cause);

  const shell = await hasShell(connection);
  if (shell === false) {
    throw fail('no-shell');
  }
  if (shell === undefined) {
    throw fail('other', 'the server did not answer whether the account has a shell');
  }
  const server = await locateSftpServer(connection, options.sftpServerPaths);
  if (server.kind === 'no-sudo') {
    throw fail('sudo-missing');
  }
  if (server.kind === 'none') {
    throw fail('no-sftp-server', server.lookedFor.join(', '));
  }
  if (server.kind === 'unknown') {
    throw fail('other', 'the search for the SFTP server program did not finish');
  }
  const { logger } = options;
  const program = shellQuote(server.path);
  logger.debug(`Starting ${server.path} as root with sudo`);

  /** A start that failed, in words: what sudo said, or that it never answered. */
  const explain = (error: unknown): unknown => {
    if (!(error instanceof CommandSftpFailure)) {
      return error;
    }
    if (error.timeoutMs !== undefined) {
      return fail(
        'other',
        `no answer within ${error.timeoutMs / 1000} s (does sudo ask for more than a password?)`,
        error,
      );
    }
    return refusal(error.stderr, error.exitCode, error);
  };
  /** What sudo's stderr and exit status say went wrong, other than a password to ask or ask again. */
  const refusal = (stderr: string, exitCode: number | undefined, cause?: unknown): SudoFailure => {
    const verdict = readSudoVerdict(stderr, exitCode);
    switch (verdict) {
      case 'no-sftp-server':
        return fail(verdict, server.path, cause);
      case 'password-required':
      case 'wrong-password':
        return fail('other', sudoWords(stderr), cause);
      default:
        return fail(verdict, sudoWords(stderr), cause);
    }
  };
  try {
    return await connection.openSftpOverCommand(
      `LC_ALL=C exec sudo -n -- ${program}`,
      undefined,
      options.session,
    );
  } catch (error) {
    const wantsPassword =
      error instanceof CommandSftpFailure &&
      error.timeoutMs === undefined &&
      readSudoVerdict(error.stderr, error.exitCode) === 'password-required';
    if (!wantsPassword) {
      throw explain(error);
    }
    logger.debug('sudo asks for a password');
  }

  const prompts = options.prompts;
  if (prompts === undefined) {
    throw fail('no-prompt');
  }
  for (let attempt = 1; attempt <= PASSWORD_TRIES; attempt++) {
    const secret = await prompts.password({
      user,
      host: options.hostLabel,
      key: options.passwordKey,
      attempt,
      purpose: 'sudo',
    });
    if (secret === undefined) {
      throw cancelled();
    }
    const line = Buffer.from(`${secret.value}\n`, 'utf8');
    // -k: sudo asks for the password even where it remembers an earlier one, so it always reads the line.
    const check = await runCommand(connection, `LC_ALL=C sudo -k -S -p '' -- ${program}`, {
      input: line,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    if (check.stopped) {
      throw fail(
        'other',
        `no answer within ${COMMAND_TIMEOUT_MS / 1000} s (does sudo ask for more than a password?)`,
      );
    }
    if (check.exitCode !== 0) {
      if (readSudoVerdict(check.stderr, check.exitCode) !== 'wrong-password') {
        throw refusal(check.stderr, check.exitCode);
      }
      logger.info(`sudo refused the password (try ${attempt} of ${PASSWORD_TRIES})`);
      secret.rejected?.();
      continue;
    }
    secret.accepted?.();
    try {
      return await connection.openSftpOverCommand(
        `LC_ALL=C exec sudo -k -S -p '' -- ${program}`,
        line,
        options.session,
      );
    } catch (error) {
      throw explain(error);
    }
  }
  throw fail('wrong-password');
}

type SftpServerSearch =
  | { readonly kind: 'found'; readonly path: string }
  | { readonly kind: 'no-sudo' }
  | { readonly kind: 'unknown' } // the search did not finish
  | { readonly kind: 'none'; readonly lookedFor: readonly string[] };

const FOUND = 'sftpfs-sftp-server:';
const NO_SUDO = 'sftpfs-no-sudo';

/**
 * Whether sudo is there, and which SFTP server program to run with it: the one sshd's configuration
 * names (`Subsystem sftp /path …`; `internal-sftp` is no program), else the first of the usual paths
 * that is an executable file.
 */
async function locateSftpServer(
  connection: SshConnection,
  only: readonly string[] | undefined,
): Promise<SftpServerSearch> {
  const paths = only ?? USUAL_SFTP_SERVER_PATHS;
  const configured =
    only === undefined
      ? `awk 'tolower($1) == "subsystem" && $2 == "sftp" { print $3 }' /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null`
      : 'true';
  // No `exit` before the end: runCommand learns the exit status from a line the script prints last.
  const script = [
    'if command -v sudo >/dev/null 2>&1; then',
    `  configured=$(${configured})`,
    '  set -f', // the configured path is split into words, never expanded as a pattern
    `  for candidate in $configured ${paths.map(shellQuote).join(' ')}; do`,
    `    case $candidate in /*) if [ -f "$candidate" ] && [ -x "$candidate" ]; then echo "${FOUND}$candidate"; break; fi ;; esac`,
    '  done',
    'else',
    `  echo ${NO_SUDO}`,
    'fi',
  ].join('\n');
  const result = await runCommand(connection, script, { timeoutMs: COMMAND_TIMEOUT_MS });
  if (result.stopped) {
    return { kind: 'unknown' };
  }
  const lines = result.stdout.toString('utf8').split('\n');
  if (lines.includes(NO_SUDO)) {
    return { kind: 'no-sudo' };
  }
  const found = lines.find((line) => line.startsWith(FOUND));
  if (found !== undefined) {
    return { kind: 'found', path: found.slice(FOUND.length) };
  }
  return {
    kind: 'none',
    lookedFor: only === undefined ? ['the one sshd_config names', ...paths] : paths,
  };
}
