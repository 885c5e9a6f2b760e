import { errorMessage } from '../common/errors';
import { scopedLogger, type Logger } from '../common/logger';
import { formatAuthority, parseAuthority, type Authority } from '../config/authority';
import type { ResolvedHost } from '../config/hostResolver';
import { asRootAuthority, rootRouteOf } from '../config/rootAuthority';
import {
  RemoteFileSystem,
  type FileSystemNotice,
  type RemoteFileSystemOptions,
} from '../fs/remoteFileSystem';
import { featureGaps } from '../sftp/serverFeatures';
import type { SftpSessionOptions } from '../sftp/session';
import { sudoPasswordKey, type CredentialPrompts } from '../ssh/credentials';
import { remoteIdentity } from '../ssh/remoteIdentity';
import { userFacingConnectError } from '../ssh/connectFailures';
import { SshConnection, type NegotiatedDetails } from '../ssh/sshConnection';
import { openSudoSftp } from '../ssh/sudoSftp';
import {
  DEFAULT_LIFECYCLE,
  HostConnection,
  type ConnectionState,
  type LifecycleOptions,
  type Live,
} from './hostConnection';
import { ReaderThread } from './readerThread';
import { RootSessions } from './rootSessions';

export type { ConnectionState } from './hostConnection';

export interface ConnectionStateChange {
  readonly authority: string;
  readonly state: ConnectionState;
  readonly error?: string;
}

/** A step of a connection attempt worth telling the user while it lasts. */
export interface ConnectionProgress {
  readonly authority: string;
  readonly step: 'authenticating';
}

export interface ConnectionInfo extends NegotiatedDetails {
  readonly user: string;
  readonly address: string;
  readonly sftpExtensions: readonly string[];
  /** What the server's missing extensions change (see featureGaps); empty for OpenSSH. */
  readonly featureGaps: readonly string[];
  /** The length READs ask for now: as the server stated it, or as its answers have shown (ReadSize). */
  readonly maxReadLength: number;
  readonly maxWriteLength: number;
  readonly maxOpenHandles: number | undefined;
  readonly roundTripMs: number | undefined;
}

export interface HostNotice extends FileSystemNotice {
  readonly authority: string;
}

export interface ConnectionManagerOptions {
  /** Turns a URI authority into connection settings (ssh_config lookup); injected so tests choose files. */
  readonly resolveHost: (authority: Authority) => ResolvedHost;
  readonly logger: Logger;
  readonly prompts?: CredentialPrompts;
  readonly fileSystem: RemoteFileSystemOptions;
  readonly session?: SftpSessionOptions;
  readonly lifecycle?: Partial<LifecycleOptions>;
  /**
   * The reader thread's program (dist/readerThread.js, built from readerThreadMain.ts): large reads and
   * saves go through a thread with a connection of its own. Without it all of them stay here.
   * Read when a thread would start (the editor passes a getter: the setting applies at once).
   */
  readonly readerThreadScript?: string | undefined;
}

interface HostEntry {
  readonly connection: HostConnection;
  readonly fileSystem: RemoteFileSystem;
}

interface RootEntry {
  readonly sessions: RootSessions;
  readonly fileSystem: RemoteFileSystem;
}

/**
 * One HostConnection and one RemoteFileSystem per host, shared by every operation on that host. An
 * authority with the root marker (`alice;sudo@web1`, see rootAuthority.ts) gets a RemoteFileSystem of
 * its own whose session runs as root on the login's connection; everything about the connection
 * (state, info, reconnect, disconnect) is the login's.
 */
export class ConnectionManager {
  private readonly hosts = new Map<string, HostEntry>();
  private readonly rootHosts = new Map<string, RootEntry>();
  private readonly stateListeners = new Set<(change: ConnectionStateChange) => void>();
  private readonly noticeListeners = new Set<(notice: HostNotice) => void>();
  private readonly progressListeners = new Set<(progress: ConnectionProgress) => void>();
  private readonly idleCloseListeners = new Set<(authority: string) => Promise<void>>();
  private readonly lifecycle: LifecycleOptions;

  constructor(private readonly options: ConnectionManagerOptions) {
    const given = options.lifecycle ?? {};
    // Read when needed, not copied: the editor passes getters, so a changed setting applies at once.
    this.lifecycle = {
      get idleTimeoutMs() {
        return given.idleTimeoutMs ?? DEFAULT_LIFECYCLE.idleTimeoutMs;
      },
      get reconnectDelaysMs() {
        return given.reconnectDelaysMs ?? DEFAULT_LIFECYCLE.reconnectDelaysMs;
      },
      get maxReconnectAttempts() {
        return given.maxReconnectAttempts ?? DEFAULT_LIFECYCLE.maxReconnectAttempts;
      },
      // Lanes and reader threads given back after this long unused (HostConnection's defaults when unset).
      ...(given.laneIdleMs === undefined ? {} : { laneIdleMs: given.laneIdleMs }),
      ...(given.readerThreadIdleMs === undefined ? {} : { readerThreadIdleMs: given.readerThreadIdleMs }),
    };
  }

  onDidChangeState(listener: (change: ConnectionStateChange) => void): { dispose(): void } {
    this.stateListeners.add(listener);
    return { dispose: () => this.stateListeners.delete(listener) };
  }

  /** Steps of connection attempts (the server asks for credentials), for progress text. */
  onDidProgress(listener: (progress: ConnectionProgress) => void): { dispose(): void } {
    this.progressListeners.add(listener);
    return { dispose: () => this.progressListeners.delete(listener) };
  }

  /** Things the user should know about operations that succeeded (a save that could not be atomic). */
  onDidNotice(listener: (notice: HostNotice) => void): { dispose(): void } {
    this.noticeListeners.add(listener);
    return { dispose: () => this.noticeListeners.delete(listener) };
  }

  /**
   * Called before a host's connection is closed for idleness, while it is still open; the close waits
   * (up to 10 s) for the promise. Watches take a last look here, to report on reconnect what changed.
   */
  onWillCloseIdle(listener: (authority: string) => Promise<void>): { dispose(): void } {
    this.idleCloseListeners.add(listener);
    return { dispose: () => this.idleCloseListeners.delete(listener) };
  }

  /**
   * Keeps the host's connection from the idle close until disposed (a workspace folder being watched).
   * Terminals and commands the user runs keep it open by themselves.
   */
  keepOpen(authorityText: string): { dispose(): void } {
    return this.entry(authorityText).connection.keepOpen();
  }

  /** The filesystem for `sftp://<authority>/...`; cheap, and the same object for the same host. */
  fileSystem(authorityText: string): RemoteFileSystem {
    const route = rootRouteOf(authorityText);
    return route.asRoot ? this.rootEntry(route.login).fileSystem : this.entry(authorityText).fileSystem;
  }

  /** A live session for the host, connecting (once, however many callers ask at the same time) if needed. */
  session(authorityText: string) {
    try {
      const route = rootRouteOf(authorityText);
      return route.asRoot
        ? this.rootEntry(route.login).sessions.session()
        : this.entry(authorityText).connection.session();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The connection itself (the login's), connecting if needed: for commands and terminals over SSH channels. */
  async sshConnection(authorityText: string): Promise<SshConnection> {
    return this.entry(rootRouteOf(authorityText).login).connection.sshConnection();
  }

  /** What is known about a live connection (undefined while not connected), for Show Connection Info. */
  info(authorityText: string): ConnectionInfo | undefined {
    const live = this.hosts.get(loginKeyOf(authorityText))?.connection.liveConnection;
    const details = live?.connection.details;
    if (live === undefined || details === undefined) {
      return undefined;
    }
    return {
      ...details,
      user: live.connection.host.user,
      address: `${live.connection.host.hostName}:${live.connection.host.port}`,
      sftpExtensions: [...live.session.extensions].map(([name, version]) => `${name} ${version}`),
      featureGaps: featureGaps(live.session.extensions),
      maxReadLength: live.session.readLength,
      maxWriteLength: live.session.limits.maxWriteLength,
      maxOpenHandles: Number.isFinite(live.session.limits.maxOpenHandles)
        ? live.session.limits.maxOpenHandles
        : undefined,
      roundTripMs: live.session.roundTripMs,
    };
  }

  /**
   * The canonical form of an authority (`user@host:port` as the URI has it, lower-cased host; the root
   * marker kept).
   */
  keyOf(authorityText: string): string {
    const route = rootRouteOf(authorityText);
    return route.asRoot ? asRootAuthority(keyOf(route.login)) : keyOf(authorityText);
  }

  /** Every host this manager has been asked about, with its state (a root route is its login's host). */
  knownHosts(): Array<{ authority: string; state: ConnectionState }> {
    return [...this.hosts.entries()].map(([authority, entry]) => ({
      authority,
      state: entry.connection.state,
    }));
  }

  /** Drops the connection and connects again at once (the user asked: no backoff). */
  async reconnect(authorityText: string): Promise<void> {
    const connection = this.entry(rootRouteOf(authorityText).login).connection;
    connection.disconnect();
    await connection.session();
  }

  state(authorityText: string): ConnectionState {
    return this.hosts.get(loginKeyOf(authorityText))?.connection.state ?? 'disconnected';
  }

  disconnect(authorityText: string): void {
    this.hosts.get(loginKeyOf(authorityText))?.connection.disconnect();
  }

  /** Ends every host's reader thread (and its login); later large reads or saves start one if allowed then. */
  closeReaderThreads(reason: string): void {
    for (const entry of this.hosts.values()) {
      entry.connection.closeReaderThread(reason);
    }
  }

  dispose(): void {
    for (const entry of this.rootHosts.values()) {
      entry.sessions.dispose();
    }
    this.rootHosts.clear();
    for (const entry of this.hosts.values()) {
      entry.connection.dispose();
    }
    this.hosts.clear();
    this.stateListeners.clear();
    this.noticeListeners.clear();
    this.progressListeners.clear();
    this.idleCloseListeners.clear();
  }

  private entry(authorityText: string): HostEntry {
    const key = keyOf(authorityText);
    let entry = this.hosts.get(key);
    if (entry === undefined) {
      const logger = scopedLogger(this.options.logger, key);
      const connection = new HostConnection(
        key,
        () => this.connect(key, logger),
        logger,
        this.lifecycle,
        (state, error) => this.emit({ authority: key, state, ...(error === undefined ? {} : { error }) }),
        () => this.beforeIdleClose(key),
        (live, idleMs) => this.startReaderThread(key, live, logger, idleMs),
      );
      const fileSystem = new RemoteFileSystem(
        {
          session: () => connection.session(),
          willReconnect: () => connection.willReconnect,
          transferLanes: (count) => connection.transferLanes(count),
          readerThread: () => connection.readerThread(),
          startReaderThreadAhead: () => connection.startReaderThreadAhead(),
          identity: async () => {
            const live = connection.liveConnection;
            return live === undefined ? undefined : remoteIdentity(live.connection);
          },
          userName: () => connection.liveConnection?.connection.host.user,
        },
        logger,
        this.options.fileSystem,
        (notice) => {
          for (const listener of this.noticeListeners) {
            listener({ authority: key, ...notice });
          }
        },
      );
      entry = { connection, fileSystem };
      this.hosts.set(key, entry);
    }
    return entry;
  }

  /** The login's files as root: a RemoteFileSystem over RootSessions, made once per login. */
  private rootEntry(loginAuthority: string): RootEntry {
    const login = this.entry(loginAuthority);
    const key = asRootAuthority(login.connection.key);
    let entry = this.rootHosts.get(key);
    if (entry === undefined) {
      const logger = scopedLogger(this.options.logger, key);
      const sessions = new RootSessions(
        login.connection,
        (connection) =>
          openSudoSftp(connection, {
            logger,
            hostLabel: connection.host.alias,
            passwordKey: sudoPasswordKey(
              connection.host.user,
              connection.host.hostName,
              connection.host.port,
            ),
            ...(this.options.prompts === undefined ? {} : { prompts: this.options.prompts }),
            ...(this.options.session === undefined ? {} : { session: this.options.session }),
          }),
        logger,
      );
      const fileSystem = new RemoteFileSystem(sessions, logger, this.options.fileSystem, (notice) => {
        for (const listener of this.noticeListeners) {
          listener({ authority: key, ...notice });
        }
      });
      entry = { sessions, fileSystem };
      this.rootHosts.set(key, entry);
    }
    return entry;
  }

  private async connect(key: string, logger: Logger) {
    try {
      const host = this.options.resolveHost(parseAuthority(key));
      const connection = await SshConnection.open(host, {
        logger,
        resolveHost: this.options.resolveHost,
        onAuthenticating: () => {
          for (const listener of this.progressListeners) {
            listener({ authority: key, step: 'authenticating' });
          }
        },
        ...(this.options.prompts === undefined ? {} : { prompts: this.options.prompts }),
      });
      try {
        const session = await connection.openSftp(this.options.session);
        logger.debug(
          `SFTP ready: read ${session.readLength} B (${session.readLengthBasis}), write ${session.limits.maxWriteLength} B, extensions ${[...session.extensions.keys()].join(', ')}`,
        );
        for (const gap of featureGaps(session.extensions)) {
          logger.info(`This server has ${gap}`);
        }
        return { connection, session, openChannel: () => connection.openSftp(this.options.session) };
      } catch (error) {
        connection.close();
        throw error;
      }
    } catch (error) {
      // The log keeps the technical account (errno, ssh2's words); callers get the sentence in words.
      logger.error(`Connecting failed: ${errorMessage(error)}`);
      throw userFacingConnectError(error, key);
    }
  }

  /** A reader thread for the login's live connection, when its login can be repeated without the user. */
  private startReaderThread(
    key: string,
    live: Live,
    logger: Logger,
    idleMs: number,
  ): ReaderThread | undefined {
    const script = this.options.readerThreadScript;
    if (script === undefined || !live.connection.canLogInAgainUnattended) {
      return undefined;
    }
    try {
      return new ReaderThread(
        script,
        {
          authority: key,
          host: live.connection.host,
          maxReadFileBytes: this.options.fileSystem.maxReadFileBytes,
          idleMs,
          stallTimeoutMs: this.options.session?.stallTimeoutMs,
          traceEnabled: logger.isTraceEnabled?.() ?? false,
        },
        logger,
        idleMs,
        (temporaries) => this.hosts.get(key)?.fileSystem.adoptLeftovers(temporaries),
      );
    } catch (error) {
      logger.warn(`No reader thread: ${errorMessage(error)}`);
      return undefined;
    }
  }

  private async beforeIdleClose(key: string): Promise<void> {
    await Promise.allSettled([...this.idleCloseListeners].map(async (listener) => listener(key)));
  }

  private emit(change: ConnectionStateChange): void {
    for (const listener of this.stateListeners) {
      listener(change);
    }
  }
}

function keyOf(authorityText: string): string {
  return formatAuthority(parseAuthority(authorityText));
}

/** The key of the login an authority's files are reached through (itself, or a root route's login). */
function loginKeyOf(authorityText: string): string {
  return keyOf(rootRouteOf(authorityText).login);
}
