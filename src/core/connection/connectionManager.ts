import { errorMessage } from '../common/errors';
import { scopedLogger, type Logger } from '../common/logger';
import { formatAuthority, parseAuthority, type Authority } from '../config/authority';
import type { ResolvedHost } from '../config/hostResolver';
import { RemoteFileSystem, type RemoteFileSystemOptions } from '../fs/remoteFileSystem';
import type { SftpSession } from '../sftp/session';
import type { CredentialPrompts } from '../ssh/credentials';
import { SshConnection } from '../ssh/sshConnection';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'failed';

export interface ConnectionStateChange {
  readonly authority: string;
  readonly state: ConnectionState;
  readonly error?: string;
}

export interface ConnectionManagerOptions {
  /** Turns a URI authority into connection settings (ssh_config lookup); injected so tests choose files. */
  readonly resolveHost: (authority: Authority) => ResolvedHost;
  readonly logger: Logger;
  readonly prompts?: CredentialPrompts;
  readonly fileSystem: RemoteFileSystemOptions;
}

interface HostEntry {
  connection?: SshConnection;
  session?: SftpSession;
  /** The connect in flight: concurrent callers share it instead of opening a second connection. */
  pending?: Promise<SftpSession> | undefined;
  fileSystem?: RemoteFileSystem;
}

/**
 * One SSH connection and SFTP session per host, shared by every operation on it. A connection that
 * went away is re-established by the next operation that needs it.
 */
export class ConnectionManager {
  private readonly hosts = new Map<string, HostEntry>();
  private readonly stateListeners = new Set<(change: ConnectionStateChange) => void>();
  private disposed = false;

  constructor(private readonly options: ConnectionManagerOptions) {}

  onDidChangeState(listener: (change: ConnectionStateChange) => void): { dispose(): void } {
    this.stateListeners.add(listener);
    return { dispose: () => this.stateListeners.delete(listener) };
  }

  /** The filesystem for `sftp://<authority>/...`; cheap, and the same object for the same host. */
  fileSystem(authorityText: string): RemoteFileSystem {
    const key = formatAuthority(parseAuthority(authorityText));
    const entry = this.entry(key);
    entry.fileSystem ??= new RemoteFileSystem(
      () => this.session(key),
      this.options.logger,
      this.options.fileSystem,
    );
    return entry.fileSystem;
  }

  /** A live session for the host, connecting (once, however many callers ask at the same time) if needed. */
  session(authorityText: string): Promise<SftpSession> {
    if (this.disposed) {
      return Promise.reject(new Error('The connection manager has been disposed'));
    }
    let key: string;
    try {
      key = formatAuthority(parseAuthority(authorityText));
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = this.entry(key);
    if (entry.session !== undefined && !entry.session.isClosed) {
      return Promise.resolve(entry.session);
    }
    entry.pending ??= this.connect(key, entry).finally(() => {
      entry.pending = undefined;
    });
    return entry.pending;
  }

  disconnect(authorityText: string): void {
    const key = formatAuthority(parseAuthority(authorityText));
    const entry = this.hosts.get(key);
    entry?.connection?.close();
  }

  dispose(): void {
    this.disposed = true;
    for (const entry of this.hosts.values()) {
      entry.connection?.close();
    }
    this.hosts.clear();
    this.stateListeners.clear();
  }

  private entry(key: string): HostEntry {
    let entry = this.hosts.get(key);
    if (entry === undefined) {
      entry = {};
      this.hosts.set(key, entry);
    }
    return entry;
  }

  private async connect(key: string, entry: HostEntry): Promise<SftpSession> {
    const logger = scopedLogger(this.options.logger, key);
    this.emit({ authority: key, state: 'connecting' });
    entry.connection?.close();
    try {
      const host = this.options.resolveHost(parseAuthority(key));
      const connection = await SshConnection.open(host, {
        logger,
        resolveHost: this.options.resolveHost,
        ...(this.options.prompts === undefined ? {} : { prompts: this.options.prompts }),
      });
      let session: SftpSession;
      try {
        session = await connection.openSftp();
      } catch (error) {
        connection.close();
        throw error;
      }
      logger.debug(
        `SFTP ready: read ${session.limits.maxReadLength} B, write ${session.limits.maxWriteLength} B, extensions ${[...session.extensions.keys()].join(', ')}`,
      );
      connection.onClose(() => {
        session.close();
        this.emit({ authority: key, state: 'disconnected' });
      });
      session.onClose(() => connection.close());
      if (this.disposed) {
        connection.close();
      }
      entry.connection = connection;
      entry.session = session;
      this.emit({ authority: key, state: 'connected' });
      return session;
    } catch (error) {
      logger.error(`Connecting failed: ${errorMessage(error)}`);
      this.emit({ authority: key, state: 'failed', error: errorMessage(error) });
      throw error;
    }
  }

  private emit(change: ConnectionStateChange): void {
    for (const listener of this.stateListeners) {
      listener(change);
    }
  }
}
