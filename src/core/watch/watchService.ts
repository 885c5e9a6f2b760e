import { scopedLogger, type Logger } from '../common/logger';
import type { ConnectionManager } from '../connection/connectionManager';
import { PollingWatcher, type RemoteChange, type WatchRequest } from './pollingWatcher';

export interface WatchServiceOptions {
  /** Read at each new host: 0 turns polling off (watches are accepted and stay silent). */
  readonly intervalMs: () => number;
  readonly maxEntries: () => number;
}

export interface HostChanges {
  readonly authority: string;
  readonly changes: readonly RemoteChange[];
}

/** One polling watcher per host, created on the first watch and dropped with the last. */
export class WatchService {
  private readonly watchers = new Map<string, PollingWatcher>();
  private readonly listeners = new Set<(changes: HostChanges) => void>();

  constructor(
    private readonly connections: ConnectionManager,
    private readonly logger: Logger,
    private readonly options: WatchServiceOptions,
  ) {}

  onDidChange(listener: (changes: HostChanges) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  watch(authority: string, path: string, request: WatchRequest): { dispose(): void } {
    const key = this.connections.keyOf(authority);
    let watcher = this.watchers.get(key);
    if (watcher === undefined) {
      const fileSystem = this.connections.fileSystem(key);
      const created = new PollingWatcher(
        {
          isConnected: () => this.connections.state(key) === 'connected',
          stat: (p) => fileSystem.stat(p, { fresh: true }),
          list: (p) => fileSystem.list(p),
        },
        {
          intervalMs: this.options.intervalMs(),
          maxEntries: this.options.maxEntries(),
          logger: scopedLogger(this.logger, key),
        },
        (changes) => this.emit({ authority: key, changes }),
      );
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

  /** Scans every watch of the host now (a Refresh, or a test that does not want to wait). */
  async pollNow(authority: string): Promise<void> {
    await this.watchers.get(this.connections.keyOf(authority))?.pollNow();
  }

  dispose(): void {
    for (const watcher of this.watchers.values()) {
      watcher.dispose();
    }
    this.watchers.clear();
    this.listeners.clear();
  }

  private emit(changes: HostChanges): void {
    for (const listener of this.listeners) {
      listener(changes);
    }
  }
}
