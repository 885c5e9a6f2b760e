import type { ClientChannel } from 'ssh2';

import { cancelled } from '../common/errors';
import type { SshConnection } from './sshConnection';

/** Quotes one argument for a POSIX shell: nothing inside single quotes is special but the quote itself. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Bytes written as themselves in posixCommand: no shell, nor printf, treats them specially. */
const PLAIN_BYTE = /^[A-Za-z0-9 ,.:_/+=@-]$/;

/**
 * An exec request's command is run by the account's login shell, whatever it is: sh, bash, zsh, but
 * also fish (which rejects `$?`) or csh and tcsh (which read `>&2` as a redirection to a file named
 * `2`). This turns a POSIX sh script into a command that every one of them runs as that script: a
 * single-quoted word of letters, digits and octal escapes (the same in all their quoting rules) that
 * `sh` gives to printf to rebuild the script, and then runs.
 */
export function posixCommand(script: string): string {
  const encoded = [...Buffer.from(script, 'utf8')]
    .map((byte, index) => {
      const char = String.fromCharCode(byte);
      // A leading '-' could be taken for a printf option.
      return index > 0 && PLAIN_BYTE.test(char) ? char : `\\${byte.toString(8).padStart(3, '0')}`;
    })
    .join('');
  return `exec sh -c 'eval "$(printf "${encoded}")"'`;
}

/** The user's own login shell, started in `folder` (or in the home folder if that is gone), as ssh would. */
export function loginShellIn(folder: string): string {
  return posixCommand(`cd ${shellQuote(folder)} 2>/dev/null; exec "\${SHELL:-/bin/sh}" -l`);
}

const PROBE_REPLY = 'sftpfs-shell-ok';
/** How long a server may take to answer the probe before the account is taken to have no shell. */
const PROBE_TIMEOUT_MS = 10_000;
const shellProbes = new WeakMap<SshConnection, Promise<boolean | undefined>>();

/**
 * Whether the account runs commands through a shell, asked once per connection; undefined when the
 * server did not answer in time (not remembered: asked again next time). An SFTP-only account
 * (`ForceCommand internal-sftp`, a chroot without /bin/sh) starts its SFTP server whatever the command:
 * that server gets end-of-input at once and exits without printing the probe's reply.
 */
export function hasShell(connection: SshConnection): Promise<boolean | undefined> {
  let probe = shellProbes.get(connection);
  if (probe === undefined) {
    const asked: Promise<boolean | undefined> = runCommand(connection, `echo ${PROBE_REPLY}`, {
      timeoutMs: PROBE_TIMEOUT_MS,
    }).then(
      (result) => {
        if (result.stdout.toString('utf8').trim() === PROBE_REPLY) {
          return true;
        }
        if (result.stopped) {
          forget(shellProbes, connection, asked);
          return undefined;
        }
        return false;
      },
      () => {
        forget(shellProbes, connection, asked);
        return undefined;
      },
    );
    probe = asked;
    shellProbes.set(connection, probe);
  }
  return probe;
}

/** Drops a remembered probe, if it is still the one remembered. */
export function forget<T>(
  probes: WeakMap<SshConnection, Promise<T>>,
  connection: SshConnection,
  probe: Promise<T>,
): void {
  if (probes.get(connection) === probe) {
    probes.delete(connection);
  }
}

export interface CommandOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Receives the output as it arrives instead of collecting it; return false to stop the command. */
  readonly onStdout?: (chunk: Buffer) => boolean;
  /** Collected output beyond this is dropped (default 1 MiB). */
  readonly maxCollectedBytes?: number;
  /** What the command reads on its standard input (a commit message; nothing by default): never part of
   * the command line, never logged. */
  readonly input?: Buffer | string;
}

export interface CommandResult {
  /** The exit code, or undefined when it is not known (stopped, a signal, no shell to report it). */
  readonly exitCode: number | undefined;
  /** True when we stopped it: a timeout, a cancel, or `onStdout` asking to stop. */
  readonly stopped: boolean;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * sshd may close a channel before it reports the command's exit status (when the command's output
 * ends before sshd reaps it), so the shell reports it too, as the last line of stderr.
 */
const EXIT_MARKER = 'sftpfs-exit:';
/**
 * Printed before the command runs: whatever comes before it on stdout was printed by the account's
 * startup files (a banner in .bashrc, config.fish or .cshrc), not by the command.
 */
const START_MARKER = 'sftpfs-start';

/**
 * Runs a command (with `input`, or none) and waits for it to end; cancelling or a timeout closes the
 * channel, and cancelling ends the wait at once with ECANCELED.
 */
export async function runCommand(
  connection: SshConnection,
  command: string,
  options: CommandOptions = {},
): Promise<CommandResult> {
  if (options.signal?.aborted) {
    throw cancelled();
  }
  const channel = await connection.exec(
    posixCommand(`echo ${START_MARKER}; ${command}\necho "${EXIT_MARKER}$?" >&2`),
  );
  return new Promise((resolve, reject) => {
    const limit = options.maxCollectedBytes ?? 1024 * 1024;
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let exitCode: number | undefined;
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      closeQuietly(channel);
    };
    // A cancel ends the run at once: the channel's close would come only after the data already on
    // its way (up to a window's worth on a slow line: seconds).
    const onAbort = (): void => {
      stop();
      if (timer !== undefined) {
        clearTimeout(timer);
      }
      reject(cancelled());
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => stop(), options.timeoutMs).unref();

    const afterBanner = skipUntilLine(START_MARKER);
    channel.on('data', (received: Buffer) => {
      const chunk = afterBanner(received);
      if (stopped || chunk.length === 0) {
        return;
      }
      if (options.onStdout !== undefined) {
        if (!options.onStdout(chunk)) {
          stop();
        }
      } else if (stdoutBytes < limit) {
        stdout.push(chunk);
        stdoutBytes += chunk.length;
      }
    });
    let stderrTail = ''; // where the exit marker is, however long stderr gets
    channel.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (stderr.length < 64 * 1024) {
        stderr += text;
      }
      stderrTail = (stderrTail + text).slice(-256);
    });
    channel.on('exit', (code: number | null) => {
      exitCode = code ?? undefined;
    });
    // ssh2 emits 'close' once stdout has ended, but stderr may still deliver its last bytes after it:
    // the result waits for both.
    let closed = false;
    let stderrEnded = false;
    const finish = (): void => {
      if (!closed || !stderrEnded) {
        return;
      }
      if (timer !== undefined) {
        clearTimeout(timer);
      }
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) {
        reject(cancelled());
        return;
      }
      const reported = new RegExp(`${EXIT_MARKER}(\\d+)\\s*$`).exec(stderrTail);
      resolve({
        exitCode: stopped ? undefined : reported === null ? exitCode : Number(reported[1]),
        stopped,
        stdout: Buffer.concat(stdout),
        stderr: stderr.replace(new RegExp(`${EXIT_MARKER}\\d+\\s*$`), '').trim(),
      });
    };
    channel.stderr.on('end', () => {
      stderrEnded = true;
      finish();
    });
    channel.on('close', () => {
      closed = true;
      stderrEnded ||= channel.stderr.readableEnded;
      finish();
    });
    channel.end(options.input); // the input, or none
  });
}

/** A filter of a stream that drops everything up to and including the first `line` and its newline. */
export function skipUntilLine(line: string): (chunk: Buffer) => Buffer {
  const marker = Buffer.from(`${line}\n`);
  let seen = Buffer.alloc(0);
  let found = false;
  return (chunk) => {
    if (found) {
      return chunk;
    }
    seen = Buffer.concat([seen, chunk]);
    const at = seen.indexOf(marker);
    if (at === -1) {
      seen = seen.subarray(-marker.length); // a banner need not be kept, only a marker it may split
      return Buffer.alloc(0);
    }
    found = true;
    return seen.subarray(at + marker.length);
  };
}

/** Closes a channel that may already be closed. */
export function closeQuietly(channel: ClientChannel): void {
  try {
    channel.close();
  } catch {
    // already closed
  }
}
