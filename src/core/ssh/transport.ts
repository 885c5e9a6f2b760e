import { spawn } from 'node:child_process';
import { connect as connectTcp, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

import { RemoteFsError, errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import { isSafeHostName, isSafeUserName } from '../config/authority';
import type { ResolvedHost } from '../config/hostResolver';

/** The byte stream an SSH connection runs over, and how to end what was started for it. */
export interface Transport {
  readonly stream: Duplex;
  /** Ends helpers started for this transport (a ProxyCommand process); idempotent. */
  dispose(): void;
}

/** A TCP connection with TCP_NODELAY, failing with ETIMEDOUT after the host's ConnectTimeout. */
export function openTcp(host: ResolvedHost): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connectTcp({ host: host.hostName, port: host.port });
    // Without this ssh2 stalls on Nagle's algorithm and transfers are 10-80x slower.
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RemoteFsError('ETIMEDOUT', `Timed out connecting to ${host.hostName}:${host.port}`));
    }, host.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({ stream: socket, dispose: () => socket.destroy() });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = error.code ?? 'error';
      reject(
        new RemoteFsError('ECONNECT', `Could not connect to ${host.hostName}:${host.port} (${code})`, {
          cause: error,
        }),
      );
    });
  });
}

/**
 * Runs the host's ProxyCommand through /bin/sh, as OpenSSH does, and talks SSH over its stdin and
 * stdout. Tokens are expanded without quoting (OpenSSH's behaviour), so the host and user are checked
 * first: a name that could carry shell syntax is refused before anything runs.
 */
export function openProxyCommand(host: ResolvedHost, command: string, logger: Logger): Transport {
  if (!isSafeHostName(host.hostName) || !isSafeUserName(host.user)) {
    throw new RemoteFsError(
      'EINVAL',
      `Refusing to run the ProxyCommand for ${host.alias}: the host or user name contains characters that could be interpreted by the shell`,
    );
  }
  const expanded = command.replace(/%(.)/g, (whole, letter: string) => {
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
  logger.debug(`Starting ProxyCommand: ${expanded}`);
  const child = spawn('/bin/sh', ['-c', `exec ${expanded}`], { stdio: ['pipe', 'pipe', 'pipe'] });
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
