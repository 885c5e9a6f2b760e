import { spawn } from 'node:child_process';
import { connect as connectTcp, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

import { RemoteFsError, errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import { isSafeHostName, isSafeUserName } from '../config/authority';
import type { ResolvedHost } from '../config/hostResolver';
import { ConnectFailure, socketFailureKind } from './connectFailures';

/** The byte stream an SSH connection runs over, and how to end what was started for it. */
export interface Transport {
  readonly stream: Duplex;
  /** Ends helpers started for this transport (a ProxyCommand process); idempotent. */
  dispose(): void;
  /**
   * TCP only: from now on, while `safe()` answers true, 'data' events carry a view of one reused
   * receive buffer instead of a fresh copy. Only for a consumer that keeps no reference to a chunk
   * after its 'data' handler returns.
   */
  lendReads?(safe: () => boolean): void;
}

/**
 * The size of the one buffer a TCP connection receives into: large enough that a 255 KiB SFTP reply
 * arrives in few reads (Node's default is a new 64 KiB buffer per read).
 */
const RECEIVE_BUFFER_BYTES = 256 * 1024;

/**
 * A TCP connection with TCP_NODELAY, failing with ETIMEDOUT after the host's ConnectTimeout.
 *
 * It receives into one reused buffer (Node's `onread`). Node otherwise allocates a buffer for every
 * read, and a download leaves as many bytes of short-lived buffers as it transfers; in the extension
 * host, where every collection walks the heaps of all extensions, that garbage costs more than the
 * copy. Each chunk is copied out, as Node would, unless the consumer has said it keeps nothing
 * (`lendReads`).
 */
export function openTcp(host: ResolvedHost): Promise<Transport> {
  return new Promise((resolve, reject) => {
    let lendWhile: () => boolean = () => false;
    const socket: Socket = connectTcp({
      host: host.hostName,
      port: host.port,
      onread: {
        buffer: Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES),
        callback: (bytes: number, buffer: Uint8Array): boolean => {
          const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
          socket.emit('data', lendWhile() ? chunk : Buffer.from(chunk));
          return true; // keep reading: the SSH layer has its own flow control (channel windows)
        },
      },
    });
    // Without this ssh2 stalls on Nagle's algorithm and transfers are 10-80x slower.
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ConnectFailure(
          'no-answer',
          { hostName: host.hostName, port: host.port, timeoutMs: host.connectTimeoutMs },
          `Timed out connecting to ${host.hostName}:${host.port}`,
        ),
      );
    }, host.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({
        stream: socket,
        dispose: () => socket.destroy(),
        lendReads: (safe) => {
          lendWhile = safe;
        },
      });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = error.code ?? 'error';
      reject(
        new ConnectFailure(
          socketFailureKind(error.code),
          { hostName: host.hostName, port: host.port },
          `Could not connect to ${host.hostName}:${host.port} (${code})`,
          error,
        ),
      );
    });
  });
}

/** How a ProxyCommand is started: the program, its arguments and the spawn options that matter. */
export interface ProxyCommandSpawn {
  readonly file: string;
  readonly args: readonly string[];
  readonly options: {
    readonly argv0?: string;
    readonly windowsVerbatimArguments?: boolean;
    readonly windowsHide?: boolean;
  };
}

/**
 * Runs the host's ProxyCommand as the local OpenSSH would (see `proxyCommandSpawn`) and talks SSH over
 * its stdin and stdout. Tokens are expanded without quoting (OpenSSH's behaviour), so the host and user
 * are checked first: a name that could carry shell syntax is refused before anything runs.
 */
export function openProxyCommand(host: ResolvedHost, command: string, logger: Logger): Transport {
  const expanded = expandProxyCommand(host, command);
  const how = proxyCommandSpawn(process.platform, expanded);
  logger.debug(`Starting ProxyCommand: ${expanded}`);
  const child = spawn(how.file, how.args, { ...how.options, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => logger.debug(`ProxyCommand: ${text.trimEnd()}`));
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  child.once('error', (error) =>
    stream.destroy(new RemoteFsError('ECONNECT', `ProxyCommand failed to start: ${errorMessage(error)}`)),
  );
  child.once('exit', (code, signal) => {
    logger.debug(`ProxyCommand exited (${signal ?? code})`);
    stream.destroy();
  });
  return {
    stream,
    dispose: () => {
      stream.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
      }
    },
  };
}

/**
 * The command with OpenSSH's ProxyCommand tokens replaced: %h host, %p port, %r remote user, %n the
 * host as given, %% a percent sign. Refused when a value could be read as shell or cmd.exe syntax.
 */
export function expandProxyCommand(host: ResolvedHost, command: string): string {
  if (!isSafeHostName(host.hostName) || !isSafeHostName(host.alias) || !isSafeUserName(host.user)) {
    throw new RemoteFsError(
      'EINVAL',
      `Refusing to run the ProxyCommand for ${host.alias}: the host or user name contains characters that could be interpreted by the shell`,
    );
  }
  return command.replace(/%(.)/g, (whole, letter: string) => {
    switch (letter) {
      case 'h':
        return host.hostName;
      case 'p':
        return String(host.port);
      case 'r':
        return host.user;
      case 'n':
        return host.alias;
      case '%':
        return '%';
      default:
        return whole;
    }
  });
}

/**
 * How OpenSSH starts an (expanded) ProxyCommand on this platform.
 *
 * Elsewhere than Windows: `/bin/sh -c "exec <command>"`, as OpenSSH does when $SHELL is unset (it
 * prefers $SHELL).
 *
 * Windows (Win32-OpenSSH, `ssh_proxy_connect` built without fork): no shell. The command line, "exec "
 * left off, goes to CreateProcessW as it is; the program is its first word, or the quoted text when it
 * starts with a quote, or a path up to `.exe` when that is followed by a space (so
 * `C:\Program Files\...\ssh.exe -W %h:%p bastion` works unquoted). Node finds the program on PATH and
 * passes `argv0` and the rest verbatim, which gives CreateProcessW that same command line. A batch
 * file is the exception: CreateProcessW runs those through cmd.exe by itself, Node refuses to
 * (CVE-2024-27980), so here cmd.exe is asked in the way Node's own `shell` option asks it.
 */
export function proxyCommandSpawn(
  platform: NodeJS.Platform,
  command: string,
  environment: NodeJS.ProcessEnv = process.env,
): ProxyCommandSpawn {
  const trimmed = command.trim();
  if (trimmed === '') {
    throw new RemoteFsError('EINVAL', 'The ProxyCommand is empty');
  }
  if (platform !== 'win32') {
    return { file: '/bin/sh', args: ['-c', `exec ${trimmed}`], options: {} };
  }
  const { program, rest } = splitWindowsCommand(trimmed);
  const quoted = `"${program}"`;
  const commandLine = rest === '' ? quoted : `${quoted} ${rest}`;
  // windowsHide: started from the editor, which has no console, a console program would open a window.
  if (/\.(?:bat|cmd)$/i.test(program)) {
    return {
      file: environment['ComSpec'] ?? environment['COMSPEC'] ?? 'cmd.exe',
      args: ['/d', '/s', '/c', `"${commandLine}"`],
      options: { windowsVerbatimArguments: true, windowsHide: true },
    };
  }
  return {
    file: program,
    args: rest === '' ? [] : [rest],
    options: { argv0: quoted, windowsVerbatimArguments: true, windowsHide: true },
  };
}

/** The program and the rest of a Windows command line, split as Win32-OpenSSH has CreateProcessW do it. */
function splitWindowsCommand(command: string): { program: string; rest: string } {
  if (command.startsWith('"')) {
    const close = command.indexOf('"', 1);
    if (close > 0) {
      return { program: command.slice(1, close), rest: command.slice(close + 1).trimStart() };
    }
  }
  // Win32-OpenSSH quotes up to the first ".exe" followed by a space; here only when the command starts
  // with a path (C:\, \\server, .\), where a space in a folder name is what the rule is for.
  const exePath = /^(?:[A-Za-z]:[\\/]|[\\/]{2}|\.{1,2}[\\/])[^"]*?\.exe(?=\s)/i.exec(command);
  const program = exePath?.[0] ?? command.split(/\s/, 1)[0] ?? command;
  return { program: program.replace(/"/g, ''), rest: command.slice(program.length).trimStart() };
}

/** Parses one ProxyJump element, `[user@]host[:port]` (or an `ssh://` URI, as OpenSSH allows). */
export function parseJump(text: string): {
  user: string | undefined;
  host: string;
  port: number | undefined;
} {
  const bare = text.startsWith('ssh://') ? text.slice('ssh://'.length).replace(/\/$/, '') : text;
  const at = bare.lastIndexOf('@');
  const user = at >= 0 ? bare.slice(0, at) : undefined;
  const hostPort = at >= 0 ? bare.slice(at + 1) : bare;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(hostPort);
  const match = bracketed ?? plain;
  const host = match?.[1];
  if (host === undefined || !isSafeHostName(host) || (user !== undefined && !isSafeUserName(user))) {
    throw new RemoteFsError('EINVAL', `Invalid ProxyJump host "${text}"`);
  }
  return { user, host, port: match?.[2] === undefined ? undefined : Number(match[2]) };
}
