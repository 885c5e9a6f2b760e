import { connect as connectTcp, type Socket } from 'node:net';
import { Client, type AnyAuthMethod, type AuthenticationType, type ConnectConfig } from 'ssh2';

import { RemoteFsError, errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ResolvedHost } from '../config/hostResolver';
import { SftpSession } from '../sftp/session';
import { PREFERRED_ALGORITHMS } from './algorithms';
import { AuthPlanner } from './authPlanner';
import type { CredentialPrompts } from './credentials';
import { verifyHostKey } from './hostKeyVerifier';

export interface ConnectOptions {
  readonly logger: Logger;
  /** How to ask the user; without it only the agent, unencrypted keys and known host keys work. */
  readonly prompts?: CredentialPrompts;
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
    const socket = await openSocket(host);
    const client = new Client();
    const planner = new AuthPlanner(host, options.prompts, logger, () => socket.destroy());
    // Like OpenSSH's ConnectTimeout: the server must reach key exchange in time. Time the user spends
    // in a prompt (host key, password, one-time code) is not counted.
    let handshakeTimedOut = false;
    const handshakeTimer = setTimeout(() => {
      handshakeTimedOut = true;
      socket.destroy();
    }, host.connectTimeoutMs);
    let pinnedKey: Buffer | undefined;
    let hostKeyFailure: RemoteFsError | undefined;

    const config: ConnectConfig = {
      sock: socket,
      username: host.user,
      algorithms: PREFERRED_ALGORITHMS,
      readyTimeout: 0,
      keepaliveInterval: host.keepaliveIntervalMs,
      keepaliveCountMax: host.keepaliveCountMax,
      // ssh2 accepts any host key when this is missing: it is always set.
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        clearTimeout(handshakeTimer);
        if (pinnedKey !== undefined) {
          const same = pinnedKey.equals(key);
          if (!same) {
            logger.error('The server presented a different host key during a re-key; disconnecting');
          }
          verify(same);
          return;
        }
        verifyHostKey(host, key, options.prompts, logger).then(
          (acceptance) => {
            pinnedKey = Buffer.from(key);
            planner.interactiveAllowed = acceptance.interactiveAuthAllowed;
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
      authHandler: (methodsLeft: AuthenticationType[] | null, partialSuccess: boolean, next) => {
        // ssh2 waits for `next`, so the planner may prompt the user first.
        planner.next(methodsLeft, partialSuccess).then(
          (method) => (next as (method: AnyAuthMethod | false) => void)(method),
          (error: unknown) => {
            planner.cancelled = new RemoteFsError('EAUTH', `Authentication failed: ${errorMessage(error)}`);
            // ssh2 takes `false` as "no more methods"; its type definitions omit it.
            (next as (method: AnyAuthMethod | false) => void)(false);
          },
        );
      },
    };

    const connection = new SshConnection(client, host, logger);
    client.on('handshake', (negotiated) =>
      logger.debug(
        `Negotiated kex ${negotiated.kex}, cipher ${negotiated.cs.cipher}, host key ${negotiated.serverHostKey}`,
      ),
    );
    await new Promise<void>((resolve, reject) => {
      const failure = (fallback: () => RemoteFsError): RemoteFsError =>
        handshakeTimedOut
          ? new RemoteFsError(
              'ETIMEDOUT',
              `${host.hostName}:${host.port} did not complete the SSH handshake within ${host.connectTimeoutMs / 1000} s`,
            )
          : (hostKeyFailure ?? planner.cancelled ?? fallback());
      const settle = (): void => {
        clearTimeout(handshakeTimer);
        client.removeListener('ready', onReady);
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
      };
      const onError = (error: Error & { level?: string }): void => {
        settle();
        socket.destroy();
        reject(failure(() => classifyConnectError(error, host, planner.describeAttempts())));
      };
      const onClose = (): void => {
        settle();
        reject(
          failure(
            () =>
              new RemoteFsError(
                'ECONNLOST',
                `${host.hostName}:${host.port} closed the connection during login`,
              ),
          ),
        );
      };
      const onReady = (): void => {
        settle();
        planner.succeeded();
        resolve();
      };
      client.once('ready', onReady);
      client.once('error', onError);
      client.once('close', onClose);
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
  attempts = 'no method could be offered',
): RemoteFsError {
  const where = `${host.user}@${host.hostName}:${host.port}`;
  if (error.level === 'client-authentication') {
    return new RemoteFsError('EAUTH', `Authentication to ${where} failed: ${attempts}`, { cause: error });
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
