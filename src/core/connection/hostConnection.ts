import { isBackgroundWork } from '../common/backgroundWork';
import { RemoteFsError, errorMessage, isRemoteFsError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { SftpSession } from '../sftp/session';
import type { SshConnection } from '../ssh/sshConnection';
import type { ReaderThread } from './readerThread';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'failed';

export interface LifecycleOptions {
  /** Close the connection after this long without any operation; 0 keeps it open. */
  readonly idleTimeoutMs: number;
  /** Delays between reconnect attempts after an unexpected drop; the last one repeats until maxReconnectAttempts. */
  readonly reconnectDelaysMs: readonly number[];
  readonly maxReconnectAttempts: number;
  /** Transfer lanes unused for this long are given back to the server (default LANE_IDLE_MS). */
  readonly laneIdleMs?: number;
  /**
   * A reader thread unused for this long ends, and its connection with it (default
   * READER_THREAD_IDLE_MS).
   */
  readonly readerThreadIdleMs?: number;
}

/** Channels kept free of transfer lanes for what users start: a terminal, a search, a watch. */
const CHANNELS_KEPT_FOR_COMMANDS = 2;
/** Transfer lanes nobody used for this long (since their last answer) are given back to the server. */
const LANE_IDLE_MS = 30_000;
/**
 * A reader thread nobody used for this long ends. Longer than the lanes' idle time: the thread exists
 * only for large files, and one that ended makes the next large save after a pause (a minute between
 * saves of a large file is common) cost a login, then open its lanes during the transfer: a 256 MiB
 * save over 1 Gbit/s with a 100 ms round trip took 3.1-3.4 s that way, 2.6 s on a warm thread. What
 * it holds meanwhile is one idle SSH login and its SFTP channels.
 */
const READER_THREAD_IDLE_MS = 120_000;
/** How long an idle close waits for what must happen before it (watches taking a last look). */
const BEFORE_IDLE_CLOSE_MS = 10_000;

export const DEFAULT_LIFECYCLE: LifecycleOptions = {
  idleTimeoutMs: 15 * 60_000,
  reconnectDelaysMs: [500, 1000, 2000, 4000, 8000, 15_000, 30_000],
  maxReconnectAttempts: 10,
};

export interface Live {
  readonly connection: SshConnection;
  readonly session: SftpSession;
  /** Opens one more SFTP channel on the same connection. */
  readonly openChannel: () => Promise<SftpSession>;
}

/**
 * One host's connection and its visible state. Concurrent callers share one connect. An unexpected
 * drop starts reconnecting with backoff (authentication and host-key failures stop it at once, so a
 * user is never re-prompted in a loop); a requested disconnect or an idle close does not.
 */
export class HostConnection {
  private current: ConnectionState = 'disconnected';
  private live: Live | undefined;
  /** The extra channels; `opened` once they are (so a transfer can have them without waiting a tick). */
  private lanes: { live: Live; sessions: Promise<SftpSession[]>; opened?: SftpSession[] } | undefined;
  private laneIdleTimer: NodeJS.Timeout | undefined;
  /** The live connection's reader thread; `thread` undefined when it has none (not allowed, or it failed). */
  private reader: { live: Live; thread: ReaderThread | undefined } | undefined;
  /** A live connection whose thread, started ahead of a read, ended unused: none is started ahead again. */
  private noThreadAheadFor: Live | undefined;
  private attempt: Promise<SftpSession> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempts = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** When the user last used the connection (background work does not count). */
  private lastUse = 0;
  /** Why the connection must stay open however long it is idle (a watched workspace folder). */
  private readonly keptOpen = new Set<object>();
  private disposed = false;
  /** Ends the attempt in progress for whoever waits on it (a Disconnect while connecting). */
  private abandonAttempt: (() => void) | undefined;

  constructor(
    readonly key: string,
    private readonly connect: () => Promise<Live>,
    private readonly logger: Logger,
    private readonly lifecycle: LifecycleOptions,
    private readonly onState: (state: ConnectionState, error?: string) => void,
    /** Runs before an idle close, on the live connection (watches take a last look to compare with). */
    private readonly beforeIdleClose: () => Promise<void> = () => Promise.resolve(),
    /** Starts a reader thread for the live connection, or answers undefined when it may have none. */
    private readonly startReaderThread?: (live: Live, idleMs: number) => ReaderThread | undefined,
  ) {}

  get state(): ConnectionState {
    return this.current;
  }

  /** True while the connection is wanted: operations interrupted by a drop may be retried. */
  get willReconnect(): boolean {
    return (
      !this.disposed &&
      (this.current === 'connected' || this.current === 'reconnecting' || this.current === 'connecting')
    );
  }

  /** A live session, joining a connect in flight or starting one (a user action does not wait for backoff). */
  session(): Promise<SftpSession> {
    if (this.disposed) {
      return Promise.reject(new RemoteFsError('ECONNLOST', 'The connection has been disposed'));
    }
    if (!isBackgroundWork()) {
      this.touch();
    }
    if (this.live !== undefined && !this.live.session.isClosed) {
      return Promise.resolve(this.live.session);
    }
    if (this.attempt === undefined) {
      this.clearReconnectTimer();
      this.startAttempt(this.current === 'reconnecting' ? 'reconnecting' : 'connecting');
    }
    return this.attempt as Promise<SftpSession>;
  }

  /**
   * Extra SFTP channels on the live connection, opened once and kept with it. Each SSH channel has its
   * own flow-control windows (OpenSSH's server gives 2 MiB, we keep 8 MiB for receiving), so a large
   * transfer striped over several channels is not capped by one window per round trip. Fewer come
   * back if the server refuses some. Answered at once, not as a promise, when they are open already:
   * a transfer then cuts its stripes before its first request goes out.
   */
  transferLanes(count: number): SftpSession[] | Promise<SftpSession[]> {
    const live = this.live;
    if (live === undefined || count <= 0) {
      return [];
    }
    // Within the server's channel limit, leaving room for terminals, searches and watches (short
    // commands such as the identity probe come and go within that room).
    const room = (lanesOpen: number): number =>
      Math.max(
        0,
        Math.min(
          count,
          live.connection.maxChannels -
            (live.connection.sftpChannels - lanesOpen) -
            CHANNELS_KEPT_FOR_COMMANDS,
        ),
      );
    if (this.lanes?.live !== live) {
      const lanes: NonNullable<HostConnection['lanes']> = {
        live,
        sessions: this.openLanes(live, room(0)).then((sessions) => (lanes.opened = sessions)),
      };
      this.lanes = lanes;
    }
    this.giveBackLanesWhenIdle();
    const usable = (sessions: SftpSession[]): SftpSession[] => {
      const open = sessions.filter((session) => !session.isClosed);
      // The limit may have been learned from the refusals that opened these: keep the room for commands.
      const allowed = room(open.length);
      if (open.length > allowed) {
        const excess = open.slice(allowed).filter((session) => !session.isBusy);
        for (const session of excess) {
          session.close('more transfer channels than the server leaves room for');
        }
        return open.slice(0, allowed);
      }
      return open;
    };
    const { opened } = this.lanes;
    return opened === undefined ? this.lanes.sessions.then(usable) : usable(opened);
  }

  /**
   * The live connection's reader thread (readerThread.ts) once it is ready for reads and saves; undefined
   * meanwhile. The first call starts it. One that failed (it could not log in, its connection was
   * lost) is not tried again on this connection; one that ended for idleness or was closed is started
   * again by the next call.
   */
  readerThread(): ReaderThread | undefined {
    const live = this.live;
    if (live === undefined) {
      return undefined;
    }
    if (this.reader?.live !== live) {
      // Asked again on every large read or save while it may not start (the setting may change; a login
      // that needed a secret answers at once).
      this.startReaderThreadFor(live, false);
      return undefined;
    }
    return this.reader.thread?.ready === true ? this.reader.thread : undefined;
  }

  /**
   * A large file is about to be read (VS Code stats a file before it opens it): starts the reader
   * thread now, so that its login is over when the read comes. Once a thread started this way has
   * ended without reading anything (a folder of large files browsed, none opened), no other is started
   * ahead on this connection: a read still starts one.
   */
  startReaderThreadAhead(): void {
    const live = this.live;
    if (live !== undefined && this.reader?.live !== live && this.noThreadAheadFor !== live) {
      this.startReaderThreadFor(live, true);
    }
  }

  private startReaderThreadFor(live: Live, ahead: boolean): void {
    const thread = this.startReaderThread?.(live, this.lifecycle.readerThreadIdleMs ?? READER_THREAD_IDLE_MS);
    if (thread === undefined) {
      return;
    }
    const reader = { live, thread };
    this.reader = reader;
    const closing = live.connection.onClose(() => thread.close('its connection closed'));
    thread.onEnded(({ idle, used }) => {
      closing.dispose();
      if (ahead && !used) {
        this.noThreadAheadFor = live;
      }
      if (this.reader === reader) {
        // After an idle spell the next large read or save starts another; after a failure none comes.
        this.reader = idle ? undefined : { live, thread: undefined };
      }
    });
  }

  /** Ends the reader thread, if any; the next large read or save may start another. */
  closeReaderThread(reason: string): void {
    const thread = this.reader?.thread;
    this.reader = undefined;
    thread?.close(reason);
  }

  private async openLanes(live: Live, count: number): Promise<SftpSession[]> {
    if (count <= 0) {
      return [];
    }
    // All requested at once: each costs four round trips (channel open, subsystem, SFTP INIT, the
    // server's limits; OpenSSH's session channel takes data only once its subsystem started).
    const outcomes = await Promise.allSettled(Array.from({ length: count }, () => live.openChannel()));
    const lanes = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refusal = outcomes.find((outcome) => outcome.status === 'rejected');
    if (refusal !== undefined) {
      this.logger.info(
        `The server allowed ${lanes.length} of ${count} extra SFTP channel(s): ${errorMessage(refusal.reason)}`,
      );
    }
    return lanes;
  }

  /**
   * Lanes unused for the lane idle time are closed (the next large transfer opens them again). Unused
   * counts from a lane's last answer, not from the request that handed it out: a transfer that ran
   * for minutes keeps its lanes for the whole idle time after it ended.
   */
  private giveBackLanesWhenIdle(afterMs = this.laneIdleMs): void {
    if (this.laneIdleTimer !== undefined) {
      clearTimeout(this.laneIdleTimer);
    }
    this.laneIdleTimer = setTimeout(() => {
      this.laneIdleTimer = undefined;
      void this.closeIdleLanes(this.laneIdleMs).then(({ left, nextDueMs }) => {
        if (left > 0) {
          this.giveBackLanesWhenIdle(nextDueMs);
        }
      });
    }, afterMs);
    this.laneIdleTimer.unref();
  }

  private get laneIdleMs(): number {
    return this.lifecycle.laneIdleMs ?? LANE_IDLE_MS;
  }

  /**
   * Closes the lanes no transfer is using that have been unused for `unusedForMs` (all idle ones by
   * default), and waits until the server has them closed. Answers how many it closed, how many are
   * left open, and when the first of those is due to be looked at again.
   */
  private async closeIdleLanes(
    unusedForMs = 0,
  ): Promise<{ closed: number; left: number; nextDueMs: number }> {
    const lanes = this.lanes;
    if (lanes === undefined) {
      return { closed: 0, left: 0, nextDueMs: unusedForMs };
    }
    const open = (await lanes.sessions).filter((session) => !session.isClosed);
    const now = Date.now();
    const unusedFor = (session: SftpSession): number => now - session.lastActivityAt;
    const closing = open.filter((session) => !session.isBusy && unusedFor(session) >= unusedForMs);
    const kept = open.filter((session) => !closing.includes(session));
    await Promise.all(
      closing.map((session) => session.closeAndWait('an idle transfer channel was given back')),
    );
    if (this.lanes === lanes) {
      this.lanes =
        kept.length === 0 ? undefined : { live: lanes.live, sessions: Promise.resolve(kept), opened: kept };
    }
    // A lane still in use is looked at again after a whole idle time; an unused one when its time is up.
    const dues = kept.map((session) => (session.isBusy ? unusedForMs : unusedForMs - unusedFor(session)));
    return {
      closed: closing.length,
      left: kept.length,
      nextDueMs: Math.max(1, Math.min(unusedForMs, ...dues)),
    };
  }

  /** The server refused a channel: idle lanes make room. Resolves true when some were closed. */
  private async makeRoomForCommand(): Promise<boolean> {
    return (await this.closeIdleLanes()).closed > 0;
  }

  /** The live connection, or undefined while there is none. */
  get liveConnection(): Live | undefined {
    return this.live;
  }

  /**
   * Keeps the connection from the idle close until disposed (a workspace folder being watched). It
   * does not connect, and a requested disconnect or a drop still ends the connection.
   */
  keepOpen(): { dispose(): void } {
    const reason = {};
    this.keptOpen.add(reason);
    return { dispose: () => this.keptOpen.delete(reason) };
  }

  /** The SSH connection under the session, connecting if needed. */
  async sshConnection(): Promise<SshConnection> {
    await this.session();
    const live = this.live;
    if (live === undefined || live.connection.isClosed) {
      throw new RemoteFsError('ECONNLOST', 'The connection to the server was lost');
    }
    return live.connection;
  }

  /** Closes on request, or gives up a connect in progress: no reconnect follows. */
  disconnect(): void {
    this.abandonAttempt?.();
    this.clearReconnectTimer();
    this.clearIdleTimer();
    const live = this.live;
    this.live = undefined;
    this.attempt = undefined;
    this.abandonAttempt = undefined;
    this.setState('disconnected');
    live?.connection.close();
  }

  dispose(): void {
    this.disposed = true;
    this.disconnect();
  }

  private startAttempt(state: 'connecting' | 'reconnecting'): void {
    this.setState(state);
    // A Disconnect while this runs abandons it: callers are told at once, and a connection that
    // still comes up afterwards (a prompt answered, a slow server) is closed instead of adopted.
    let abandoned = false;
    let giveUp: (error: RemoteFsError) => void = () => undefined;
    const givenUp = new Promise<never>((_resolve, reject) => (giveUp = reject));
    givenUp.catch(() => undefined);
    this.abandonAttempt = () => {
      abandoned = true;
      giveUp(new RemoteFsError('ECONNLOST', 'Disconnected as asked while connecting'));
    };
    const connected = this.connect().then(
      (live) => {
        if (abandoned) {
          live.connection.close();
          throw new RemoteFsError('ECONNLOST', 'Disconnected as asked while connecting');
        }
        return this.adopt(live);
      },
      (error: unknown) => {
        if (!abandoned) {
          this.onAttemptFailed(error);
        }
        throw error;
      },
    );
    connected.catch(() => undefined);
    const attempt: Promise<SftpSession> = Promise.race([connected, givenUp]).finally(() => {
      if (this.attempt === attempt) {
        this.attempt = undefined;
        this.abandonAttempt = undefined;
      }
    });
    this.attempt = attempt;
    // A background reconnect may have no caller; its failure is handled in onAttemptFailed.
    attempt.catch(() => undefined);
  }

  private adopt(live: Live): SftpSession {
    if (this.disposed) {
      live.connection.close();
      throw new RemoteFsError('ECONNLOST', 'The connection has been disposed');
    }
    this.live = live;
    this.reconnectAttempts = 0;
    live.connection.onChannelShortage(1, () => this.makeRoomForCommand());
    live.connection.onClose((reason) => {
      this.onDropped(live, reason);
      // Fail what is pending now, rather than when ssh2 notices the channel is gone.
      live.session.close(reason);
    });
    live.session.onClose((reason) => {
      if (this.live === live) {
        live.connection.close();
        this.onDropped(live, reason);
      }
    });
    this.setState('connected');
    this.touch();
    return live.session;
  }

  private onAttemptFailed(error: unknown): void {
    const permanent =
      isRemoteFsError(error) && ['EAUTH', 'EHOSTKEY', 'EINVAL', 'EUNSUPPORTED'].includes(error.code);
    if (
      this.current === 'reconnecting' &&
      !permanent &&
      this.reconnectAttempts < this.lifecycle.maxReconnectAttempts
    ) {
      this.scheduleReconnect();
      return;
    }
    this.setState('failed', errorMessage(error));
  }

  private onDropped(live: Live, reason: string): void {
    if (this.live !== live) {
      return; // an old connection, or a requested disconnect
    }
    this.live = undefined;
    this.clearIdleTimer();
    if (this.disposed) {
      return;
    }
    this.logger.warn(`Connection lost (${reason}); reconnecting`);
    this.setState('reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delays = this.lifecycle.reconnectDelaysMs;
    const delay = delays[Math.min(this.reconnectAttempts, delays.length - 1)] ?? 1000;
    this.reconnectAttempts++;
    this.clearReconnectTimer();
    this.logger.debug(`Reconnect attempt ${this.reconnectAttempts} in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.attempt === undefined && !this.disposed) {
        this.startAttempt('reconnecting');
      }
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Any use postpones the idle close. */
  private touch(): void {
    this.lastUse = Date.now();
    this.clearIdleTimer();
    if (this.lifecycle.idleTimeoutMs <= 0) {
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      const live = this.live;
      if (live === undefined) {
        return;
      }
      const inUse = this.whyInUse(live);
      if (inUse !== undefined) {
        this.logger.debug(`Not closing the idle connection: ${inUse}`);
        this.touch();
        return;
      }
      void this.closeForIdleness(live);
    }, this.lifecycle.idleTimeoutMs);
    this.idleTimer.unref();
  }

  /** Why the connection is in use though no SFTP call came for the idle time, or undefined. */
  private whyInUse(live: Live): string | undefined {
    if (live.session.isBusy) {
      return 'a long transfer is running';
    }
    if (live.connection.userCommandsRunning > 0) {
      return `${live.connection.userCommandsRunning} terminal(s) or command(s) running`;
    }
    if (this.keptOpen.size > 0) {
      return 'a workspace folder is being watched';
    }
    return undefined;
  }

  private async closeForIdleness(live: Live): Promise<void> {
    const decided = Date.now();
    try {
      await Promise.race([
        this.beforeIdleClose(),
        new Promise((resolve) => setTimeout(resolve, BEFORE_IDLE_CLOSE_MS).unref()),
      ]);
    } catch (error) {
      this.logger.debug(`Before the idle close: ${errorMessage(error)}`);
    }
    if (this.live !== live || this.lastUse > decided) {
      return; // gone already, or used meanwhile: the timer runs again from that use
    }
    if (this.whyInUse(live) !== undefined) {
      this.touch(); // a terminal opened meanwhile, say: the next close is considered later
      return;
    }
    this.logger.info(
      `Closing the connection after ${Math.round(this.lifecycle.idleTimeoutMs / 1000)} s without use`,
    );
    this.disconnect();
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  private setState(state: ConnectionState, error?: string): void {
    if (state === this.current && error === undefined) {
      return;
    }
    this.current = state;
    this.onState(state, error);
  }
}
