import { readFile } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { Client, utils, type AnyAuthMethod, type AuthenticationType, type ConnectConfig } from 'ssh2';

import { RemoteFsError, errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ResolvedHost } from '../config/hostResolver';
import { SftpSession } from '../sftp/session';
import { PREFERRED_ALGORITHMS } from './algorithms';
import { verifyHostKey, type HostKeyPrompt } from './hostKeyVerifier';

export interface ConnectOptions {
  readonly logger: Logger;
  readonly hostKeyPrompt?: HostKeyPrompt;
}

/**
 * One authenticated SSH connection. The host key is verified before any credential is sent, and the
 * key accepted at the first key exchange is pinned: a re-key presenting another key is refused.
 */
export class SshConnection {
  private closed = false;
  private readonly closeListeners = new Set<(reason: string) => void>();

  private constructor(
    private readonly client: Client,
    readonly host: ResolvedHost,
    private readonly logger: Logger,
  ) {
    client.on('error', (error) => logger.warn(`Connection error: ${error.message}`));
    client.on('close', () => this.markClosed('the connection closed'));
  }

  static async open(host: ResolvedHost, options: ConnectOptions): Promise<SshConnection> {
    const { logger } = options;
    if (host.proxyJump !== undefined || host.proxyCommand !== undefined) {
      throw new RemoteFsError(
        'EUNSUPPORTED',
        `${host.alias} is configured with ${host.proxyJump !== undefined ? 'ProxyJump' : 'ProxyCommand'} in the SSH config, which this version does not support yet`,
      );
    }
    const attempts = await authenticationAttempts(host, logger);
    if (attempts.length === 0) {
      throw new RemoteFsError(
        'EAUTH',
        `No usable SSH key or agent for ${host.user}@${host.alias}: set IdentityFile in ~/.ssh/config or start ssh-agent`,
      );
    }
    const socket = await openSocket(host);
    const client = new Client();
    let pinnedKey: Buffer | undefined;
    let hostKeyFailure: RemoteFsError | undefined;

    const config: ConnectConfig = {
      sock: socket,
      username: host.user,
      algorithms: PREFERRED_ALGORITHMS,
      readyTimeout: host.connectTimeoutMs,
      keepaliveInterval: host.keepaliveIntervalMs,
      keepaliveCountMax: host.keepaliveCountMax,
      // ssh2 accepts any host key when this is missing: it is always set.
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        if (pinnedKey !== undefined) {
          const same = pinnedKey.equals(key);
          if (!same) {
            logger.error('The server presented a different host key during a re-key; disconnecting');
          }
          verify(same);
          return;
        }
        verifyHostKey(host, key, options.hostKeyPrompt, logger).then(
          () => {
            pinnedKey = Buffer.from(key);
            verify(true);
          },
          (error: unknown) => {
            hostKeyFailure =
              error instanceof RemoteFsError
                ? error
                : new RemoteFsError('EHOSTKEY', `Could not check the host key: ${errorMessage(error)}`);
            verify(false);
          },
        );
      },
      authHandler: (methodsLeft: AuthenticationType[] | null, _partial: boolean, next) => {
        const allowed = methodsLeft ?? ['publickey'];
        let attempt = attempts.shift();
        while (
          attempt !== undefined &&
          !allowed.includes(attempt.method.type === 'agent' ? 'publickey' : attempt.method.type)
        ) {
          attempt = attempts.shift();
        }
        if (attempt === undefined) {
          // ssh2 takes `false` as "no more methods"; its type definitions omit it.
          (next as unknown as (method: false) => void)(false);
          return;
        }
        logger.debug(`Trying ${attempt.description}`);
        next(attempt.method);
      },
    };

    const connection = new SshConnection(client, host, logger);
    client.on('handshake', (negotiated) =>
      logger.debug(
        `Negotiated kex ${negotiated.kex}, cipher ${negotiated.cs.cipher}, host key ${negotiated.serverHostKey}`,
      ),
    );
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error & { level?: string }): void => {
        client.removeListener('ready', onReady);
        socket.destroy();
        reject(hostKeyFailure ?? classifyConnectError(error, host));
      };
      const onReady = (): void => {
        client.removeListener('error', onError);
        resolve();
      };
      client.once('ready', onReady);
      client.once('error', onError);
      client.connect(config);
    });
    logger.info(`Connected to ${host.user}@${host.hostName}:${host.port}`);
    return connection;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(listener: (reason: string) => void): { dispose(): void } {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  openSftp(): Promise<SftpSession> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new RemoteFsError('ECONNLOST', 'The connection to the server was lost'));
        return;
      }
      this.client.sftp((error, sftp) => {
        if (error) {
          reject(
            new RemoteFsError(
              'EUNSUPPORTED',
              `The server refused to start SFTP (${error.message}); is the sftp subsystem enabled?`,
              {
                cause: error,
              },
            ),
          );
          return;
        }
        resolve(new SftpSession(sftp, this.logger));
      });
    });
  }

  close(): void {
    this.markClosed('disconnected on request');
    this.client.end();
  }

  private markClosed(reason: string): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.logger.info(`Connection closed: ${reason}`);
    for (const listener of this.closeListeners) {
      listener(reason);
    }
  }
}

interface AuthAttempt {
  readonly description: string;
  readonly method: AnyAuthMethod;
}

async function authenticationAttempts(host: ResolvedHost, logger: Logger): Promise<AuthAttempt[]> {
  const attempts: AuthAttempt[] = [];
  if (host.agentSocket !== undefined && !host.identitiesOnly) {
    attempts.push({
      description: `the SSH agent at ${host.agentSocket}`,
      method: { type: 'agent', username: host.user, agent: host.agentSocket },
    });
  }
  for (const file of host.identityFiles) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      logger.debug(`Skipping identity file ${file}: ${errorMessage(error)}`);
      continue;
    }
    const parsed = utils.parseKey(data);
    if (parsed instanceof Error) {
      // Passphrase prompts arrive with the connections work; until then an encrypted key is skipped.
      logger.warn(`Skipping identity file ${file}: ${parsed.message}`);
      continue;
    }
    attempts.push({
      description: `the key ${file}`,
      method: { type: 'publickey', username: host.user, key: data },
    });
  }
  return attempts;
}

function openSocket(host: ResolvedHost): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: host.hostName, port: host.port });
    // Without this ssh2 stalls on Nagle's algorithm and transfers are 10-80x slower.
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RemoteFsError('ETIMEDOUT', `Timed out connecting to ${host.hostName}:${host.port}`));
    }, host.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(classifyConnectError(error, host));
    });
  });
}

function classifyConnectError(
  error: Error & { level?: string; code?: unknown },
  host: ResolvedHost,
): RemoteFsError {
  const where = `${host.user}@${host.hostName}:${host.port}`;
  if (error.level === 'client-authentication') {
    return new RemoteFsError(
      'EAUTH',
      `Authentication to ${where} failed: the server accepted none of the keys offered`,
      {
        cause: error,
      },
    );
  }
  if (error.level === 'client-timeout') {
    return new RemoteFsError('ETIMEDOUT', `Timed out waiting for the SSH handshake with ${where}`, {
      cause: error,
    });
  }
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    code === 'ECONNRESET' ||
    code === 'EAI_AGAIN'
  ) {
    return new RemoteFsError('ECONNECT', `Could not connect to ${host.hostName}:${host.port} (${code})`, {
      cause: error,
    });
  }
  return new RemoteFsError('ECONNECT', `Could not connect to ${where}: ${error.message}`, { cause: error });
}
