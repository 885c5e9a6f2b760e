import type { ClientChannel } from 'ssh2';

import { cancelled } from '../common/errors';
import type { SshConnection } from './sshConnection';

/** Quotes one argument for a POSIX shell: nothing inside single quotes is special but the quote itself. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
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

/** Runs a command with no input and waits for it to end; cancelling or a timeout closes the channel. */
export async function runCommand(
  connection: SshConnection,
  command: string,
  options: CommandOptions = {},
): Promise<CommandResult> {
  if (options.signal?.aborted) {
    throw cancelled();
  }
  const channel = await connection.exec(`${command}; echo "${EXIT_MARKER}$?" >&2`);
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
    const onAbort = (): void => stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => stop(), options.timeoutMs).unref();

    channel.on('data', (chunk: Buffer) => {
      if (stopped) {
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
    channel.end(); // no input
  });
}

/** Closes a channel that may already be closed. */
export function closeQuietly(channel: ClientChannel): void {
  try {
    channel.close();
  } catch {
    // already closed
  }
}
