import { inBackground } from '../common/backgroundWork';
import { errorMessage } from '../common/errors';
import { scopedLogger, type Logger } from '../common/logger';
import type { ConnectionManager } from '../connection/connectionManager';
import type { SshConnection } from '../ssh/sshConnection';
import { inotifyAvailability, isInotifyLimit, startInotifyWatch } from './inotifyWatch';
import {
  PollingWatcher,
  type RemoteChange,
  type TruncationNotice,
  type WatchRequest,
} from './pollingWatcher';

export interface WatchServiceOptions {
  /** Read at each new host: 0 turns polling off (watches are accepted and stay silent). */
  readonly intervalMs: () => number;
  readonly maxEntries: () => number;
  /** Use inotifywait on the server where it exists (a shell and inotify-tools), polling elsewhere. */
  readonly useInotify?: () => boolean;
}

export interface HostChanges {
  readonly authority: string;
  readonly changes: readonly RemoteChange[];
}

/** The server's inotify limit was reached: a watch is polled instead. Told once per host. */
export interface InotifyLimitNotice {
  readonly path: string;
  readonly reason: 'inotifyLimit';
  /** inotifywait's own words. */
  readonly detail: string;
}

export type WatchNotice = TruncationNotice | InotifyLimitNotice;
export type HostWatchNotice = WatchNotice & { readonly authority: string };

/** One polling watcher per host, created on the first watch and dropped with the last. */
export class WatchService {
  private readonly watchers = new Map<string, PollingWatcher>();
  /** Per host, the files open in editors, for the polling watcher there is or will be. */
  private readonly openFiles = new Map<string, readonly string[]>();
  private readonly listeners = new Set<(changes: HostChanges) => void>();
  private readonly noticeListeners = new Set<(notice: HostWatchNotice) => void>();
  /** Per host, what inotify-served watches do before an idle close: take a look for polling to compare with. */
  private readonly lastLooks = new Map<string, Set<() => Promise<void>>>();
  private readonly beforeIdleClose: { dispose(): void };
  /** Per host, whether inotifywait can run there, once a lasting answer is known: asked once per host. */
  private readonly inotifyObstacles = new Map<string, string | undefined>();
  /** Hosts whose inotify limit the user has been told about. */
  private readonly toldInotifyLimit = new Set<string>();

  constructor(
    private readonly connections: ConnectionManager,
    private readonly logger: Logger,
    private readonly options: WatchServiceOptions,
  ) {
    this.beforeIdleClose = connections.onWillCloseIdle(async (authority) => {
      await Promise.allSettled([...(this.lastLooks.get(authority) ?? [])].map((look) => look()));
    });
  }

  onDidChange(listener: (changes: HostChanges) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** What the user should know about a watch (part of a big tree not watched), once per watch. */
  onDidNotice(listener: (notice: HostWatchNotice) => void): { dispose(): void } {
    this.noticeListeners.add(listener);
    return { dispose: () => this.noticeListeners.delete(listener) };
  }

  watch(authority: string, path: string, request: WatchRequest): { dispose(): void } {
    const key = this.connections.keyOf(authority);
    const served =
      this.options.useInotify?.() === true
        ? this.watchWithInotify(key, path, request)
        : this.poll(key, path, request);
    // A recursive watch is how VS Code watches a workspace folder: while one is open, the idle close
    // would stop change detection with no sign, so it keeps the connection open.
    const kept = request.recursive ? this.connections.keepOpen(key) : undefined;
    return {
      dispose: () => {
        kept?.dispose();
        served.dispose();
      },
    };
  }

  /**
   * inotifywait where the server can run it, polling where it cannot. Until the host is connected, and
   * whenever inotifywait stops (a lost connection, the server's inotify limit), polling serves the watch
   * and inotifywait is started when the host is connected (again); once it runs, polling takes one
   * more look, so what changed meanwhile is reported. Before an idle close, polling takes its first
   * look while the connection is still open; after a drop, it can only look once connected again, so
   * changes made in that gap are not seen.
   */
  private watchWithInotify(key: string, path: string, request: WatchRequest): { dispose(): void } {
    const logger = scopedLogger(this.logger, key);
    let inotify: { dispose(): void } | undefined;
    let polling: { dispose(): void } | undefined;
    let retryWhenConnected: { dispose(): void } | undefined;
    let disposed = false;
    const retryOnNextConnection = (): void => {
      retryWhenConnected ??= this.connections.onDidChangeState((change) => {
        if (change.authority === key && change.state === 'connected') {
          retryWhenConnected?.dispose();
          retryWhenConnected = undefined;
          start();
        }
      });
    };
    const pollInstead = (reason: string, retry: boolean): void => {
      inotify = undefined;
      if (disposed) {
        return;
      }
      logger.info(`Watching ${path} by polling: ${reason}`);
      polling ??= this.poll(key, path, request);
      if (retry) {
        retryOnNextConnection();
      }
    };
    // The server's inotify limit: this watch is polled from now on (others that fit still use
    // inotifywait), and the user is told once per host.
    const limitReached = (detail: string): void => {
      pollInstead(`the server's inotify limit was reached (${detail})`, false);
      if (!disposed && !this.toldInotifyLimit.has(key)) {
        this.toldInotifyLimit.add(key);
        logger.warn(
          `The server's inotify limit was reached watching ${path} (${detail}); such watches are polled ` +
            'instead (raise fs.inotify.max_user_watches on the server, or exclude big folders with files.watcherExclude)',
        );
        this.emitNotice({ authority: key, path, reason: 'inotifyLimit', detail });
      }
    };
    // Before an idle close, polling takes its first look while the connection is still open; when the
    // close ends inotifywait, polling goes on from that look. Were the connection used meanwhile (no
    // close), inotifywait goes on alone.
    const lastLookBeforeIdleClose = async (): Promise<void> => {
      const running = inotify;
      if (running === undefined || polling !== undefined || disposed) {
        return;
      }
      polling = this.poll(key, path, request);
      await this.pollNow(key);
      setTimeout(() => {
        if (!disposed && inotify === running && this.connections.state(key) === 'connected') {
          polling?.dispose();
          polling = undefined;
        }
      }, 0).unref();
    };
    const start = (): void => {
      // The watch's own work: it does not keep the connection from the idle close.
      void inBackground(() => this.connections.sshConnection(key))
        .then((connection) =>
          inBackground(async () => {
            const obstacle = await this.whyNoInotify(key, connection);
            if (obstacle !== undefined) {
              pollInstead(`the server cannot run inotifywait: ${obstacle}`, false);
              return;
            }
            const handle = await startInotifyWatch(
              connection,
              path,
              request,
              logger,
              (changes) => this.emit({ authority: key, changes }),
              (reason) =>
                isInotifyLimit(reason)
                  ? limitReached(reason)
                  : pollInstead(`inotifywait stopped (${reason})`, true),
            );
            if (disposed) {
              handle.dispose();
              return;
            }
            // On a server that allows few channels, a terminal or a search needs this one more than the
            // watch does: polling takes over until the next connection.
            const current = {
              dispose: () => {
                yieldChannel.dispose();
                handle.dispose();
              },
            };
            const yieldChannel = connection.onChannelShortage(2, () => {
              yieldChannel.dispose();
              if (inotify !== current) {
                return Promise.resolve(false);
              }
              handle.dispose();
              pollInstead('its channel was needed for a command (the server allows few channels)', true);
              return Promise.resolve(true);
            });
            inotify = current;
            logger.debug(`Watching ${path} with inotifywait`);
            if (polling !== undefined) {
              await this.catchUp(key); // what changed while inotifywait was not running
              if (inotify === current) {
                polling?.dispose();
                polling = undefined;
              }
            }
          }),
        )
        .catch((error: unknown) =>
          isInotifyLimit(errorMessage(error))
            ? limitReached(errorMessage(error))
            : pollInstead(`inotifywait failed: ${errorMessage(error)}`, false),
        );
    };
    const lastLooks = this.lastLooks.get(key) ?? new Set<() => Promise<void>>();
    this.lastLooks.set(key, lastLooks);
    lastLooks.add(lastLookBeforeIdleClose);
    const state = this.connections.state(key);
    if (state === 'disconnected' || state === 'failed') {
      // Starting inotifywait would connect: poll (which waits quietly) until something else connects.
      pollInstead('not connected yet', true);
    } else {
      start();
    }
    return {
      dispose: () => {
        disposed = true;
        lastLooks.delete(lastLookBeforeIdleClose);
        retryWhenConnected?.dispose();
        inotify?.dispose();
        polling?.dispose();
      },
    };
  }

  private poll(key: string, path: string, request: WatchRequest): { dispose(): void } {
    let watcher = this.watchers.get(key);
    if (watcher === undefined) {
      const fileSystem = this.connections.fileSystem(key);
      const { options } = this;
      const created = new PollingWatcher(
        {
          isConnected: () => this.connections.state(key) === 'connected',
          // Polling is the extension's own work: it does not keep the connection from the idle close.
          stat: (p) => inBackground(() => fileSystem.stat(p, { fresh: true })),
          list: (p) => inBackground(() => fileSystem.list(p)),
        },
        {
          // Read at every round: a changed setting applies to running watches.
          get intervalMs() {
            return options.intervalMs();
          },
          get maxEntries() {
            return options.maxEntries();
          },
          logger: scopedLogger(this.logger, key),
        },
        (changes) => this.emit({ authority: key, changes }),
        (notice) => this.emitNotice({ authority: key, ...notice }),
      );
      created.setOpenFiles(this.openFiles.get(key) ?? []);
      this.watchers.set(key, created);
      watcher = created;
    }
    const registration = watcher.watch(path, request);
    const owner = watcher;
    return {
      dispose: () => {
        registration.dispose();
        if (owner.watchCount === 0 && this.watchers.get(key) === owner) {
          owner.dispose();
          this.watchers.delete(key);
        }
      },
    };
  }

  /**
   * The files open in editors on a host: polling checks them first and on their own clock, so a
   * change to a file the user is looking at is seen within the interval however big the tree is.
   */
  setOpenFiles(authority: string, paths: readonly string[]): void {
    const key = this.connections.keyOf(authority);
    if (paths.length === 0) {
      this.openFiles.delete(key);
    } else {
      this.openFiles.set(key, paths);
    }
    this.watchers.get(key)?.setOpenFiles(paths);
  }

  /** The poll interval setting changed: rounds follow the new interval (and start again if it was off). */
  intervalChanged(): void {
    for (const watcher of this.watchers.values()) {
      watcher.reschedule();
    }
  }

  /** Scans every watch of the host now (a Refresh, or a test that does not want to wait). */
  async pollNow(authority: string): Promise<void> {
    await this.watchers.get(this.connections.keyOf(authority))?.pollNow();
  }

  dispose(): void {
    for (const watcher of this.watchers.values()) {
      watcher.dispose();
    }
    this.watchers.clear();
    this.openFiles.clear();
    this.lastLooks.clear();
    this.inotifyObstacles.clear();
    this.toldInotifyLimit.clear();
    this.beforeIdleClose.dispose();
    this.listeners.clear();
    this.noticeListeners.clear();
  }

  /** One more polling round, reporting what changed while inotifywait was not running. */
  private async catchUp(key: string): Promise<void> {
    try {
      await this.pollNow(key);
    } catch (error) {
      this.logger.warn(
        `${key}: looking for changes made while inotifywait was not running failed: ${errorMessage(error)}`,
      );
    }
  }

  /** Whether inotifywait can run on the host: asked of the connection until a lasting answer is known. */
  private async whyNoInotify(key: string, connection: SshConnection): Promise<string | undefined> {
    if (this.inotifyObstacles.has(key)) {
      return this.inotifyObstacles.get(key);
    }
    const { obstacle, lasting } = await inotifyAvailability(connection);
    if (lasting) {
      this.inotifyObstacles.set(key, obstacle);
    }
    return obstacle;
  }

  private emitNotice(notice: HostWatchNotice): void {
    for (const listener of this.noticeListeners) {
      listener(notice);
    }
  }

  private emit(changes: HostChanges): void {
    this.connections.fileSystem(changes.authority).changedOnServer(changes.changes.map(({ path }) => path));
    for (const listener of this.listeners) {
      listener(changes);
    }
  }
}
