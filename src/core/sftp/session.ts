import type { Attributes, FileEntry, InputAttributes, SFTPWrapper } from 'ssh2';

import { RemoteFsError, errorMessage, isConnectionError } from '../common/errors';
import { Limiter } from '../common/limiter';
import type { Logger } from '../common/logger';
import { dropQueuedWrites, sealsWritesDirectly, writeDirectly } from './directWrites';
import { FlowControl } from './flowControl';
import { ReadSize, SAFE_READ_LENGTH, type ReadSizeBasis } from './readSize';
import {
  allowReadsOf,
  enlargeReceiveWindow,
  receiveDataDirectly,
  guardReadReply,
  guardReplyParsing,
  readServerExtensions,
  readServerLimits,
  type ServerLimits,
} from './sftpInternals';
import { SFTP_STATUS_EOF, toRemoteError } from './statusCodes';

export type Handle = Buffer;
export type OpenFlags = 'r' | 'r+' | 'w' | 'wx';

/** The most handles one session keeps open at once, whatever the server allows (OpenSSH's sftp uses 64). */
const MAX_HANDLES_PER_SESSION = 64;
/** READDIR requests kept in flight on one folder handle after the first batch. */
const READDIR_DEPTH = 32;
/** The names OpenSSH's sftp-server puts in one READDIR answer while it has them. */
const OPENSSH_READDIR_BATCH = 100;
/**
 * A listing longer than this fails instead of growing without bound: a broken or hostile server can
 * answer READDIR forever. Far beyond what the Explorer can show usefully.
 */
export const MAX_DIRECTORY_ENTRIES = 200_000;
/** SFTP handles are at most 256 bytes (draft-ietf-secsh-filexfer-02, section 3). */
const MAX_HANDLE_BYTES = 256;

type CloseCode = 'ECONNLOST' | 'ETIMEDOUT' | 'EPROTO';

const CLOSE_SUMMARY: Readonly<Record<CloseCode, string>> = {
  ECONNLOST: 'The connection to the server was lost',
  ETIMEDOUT: 'The server stopped answering',
  EPROTO: 'The server broke the SFTP protocol',
};

/** A listed entry as this session answers it: of the long name (`ls -l` text), only the link count. */
export interface ListedEntry {
  readonly filename: string;
  readonly attrs: Attributes;
  /**
   * How many hard links the entry has, read from its long name; undefined when the server's long name
   * does not say (SFTP v3 attributes carry no link count, and the long name has no fixed format).
   */
  readonly links?: number;
}

/** `ls -l` style: type and permission letters, an optional ACL/xattr mark, then the link count. */
const LONG_NAME_LINK_COUNT = /^[-bcdlps?D][-rwxsStTlL]{9}[.+@]?\s+(\d{1,9})\s/;

/** The hard-link count in a READDIR long name, when it has the usual `ls -l` shape. */
export function linkCountFromLongName(longname: unknown): number | undefined {
  if (typeof longname !== 'string') {
    return undefined;
  }
  const match = LONG_NAME_LINK_COUNT.exec(longname);
  const count = match?.[1] === undefined ? undefined : Number(match[1]);
  return count !== undefined && count >= 1 ? count : undefined;
}

export interface SftpSessionOptions {
  /**
   * With requests pending, how long the server may send nothing at all before the session is declared
   * stalled and fails them with ETIMEDOUT. Not a per-request limit: a large READ on a slow link is slow
   * but makes progress. A server that proves it is alive (see proveAlive) gets more time.
   */
  readonly stallTimeoutMs: number;
  /**
   * Asks the server for a sign of life outside SFTP (an SSH keepalive), true when it answered in time.
   * A server that answers is busy, not dead: one request may legitimately take long (a server-side
   * copy of a large file, an fsync on slow storage), and the session waits for it.
   */
  readonly proveAlive?: (timeoutMs: number) => Promise<boolean>;
}

export const DEFAULT_SESSION_OPTIONS: SftpSessionOptions = { stallTimeoutMs: 30_000 };

/**
 * However alive the server proves to be, a session whose requests get no answer for this long is
 * given up: a request that never ends (a server stuck on a hung mount) must not freeze the editor.
 */
const MAX_BUSY_MS = 10 * 60_000;
/** How long a sign of life may take. */
const PROOF_OF_LIFE_TIMEOUT_MS = 10_000;

/**
 * A REALPATH sent to learn whether the SFTP server is busy, with the requests that were pending when
 * it left: only those must have been answered before it (an in-order server), not the ones sent after
 * it while it waited behind a long request.
 */
interface BusyProbe {
  readonly answered: Promise<boolean>;
  readonly sentAfter: ReadonlySet<(error: RemoteFsError) => void>;
}

/**
 * The receive window kept on the channel (ssh2 keeps 2 MiB). It bounds what a download can have in
 * flight: at 50 ms round trip, 2 MiB means about 20 MB/s whatever else we do, 8 MiB about 160 MB/s.
 * 16 and 32 MiB were measured too: on loopback they made some reads stall for seconds. Slow links
 * get more by striping large reads over several channels (see RemoteFileSystem).
 */
const RECEIVE_WINDOW = 8 * 1024 * 1024;
/**
 * On links with a long round trip the window is four times larger: at 100 ms even eight channels of
 * 8 MiB (topped up at half) cap a download below 1 Gbit/s, because the queues a fast line builds add
 * to the round trip. What is actually in flight is then bounded by the flow control, not the window.
 */
const LONG_LINK_RECEIVE_WINDOW = 32 * 1024 * 1024;
const LONG_LINK_FROM_MS = 20;

/**
 * A promise API over one SFTP channel. Every failure becomes a RemoteFsError carrying the path it was
 * about; once the channel is gone, every call fails at once with ECONNLOST instead of waiting forever.
 */
export class SftpSession {
  readonly limits: ServerLimits;
  readonly extensions: ReadonlyMap<string, string>;
  /** How long READs are, learned from the server's answers where it states no limits (see ReadSize). */
  private readonly readSize: ReadSize;
  private closedReason: string | undefined;
  private closedCode: CloseCode = 'ECONNLOST';
  private readonly closeListeners = new Set<(reason: string) => void>();
  // Two pools so an operation that holds one handle and opens a second (a copy, an atomic save of a
  // copy) can never deadlock waiting on itself. Each gets half of what the server allows.
  private readonly outerHandleSlots: Limiter;
  private readonly innerHandleSlots: Limiter;
  /** Rejecters of every request in flight, so a stall or a close fails them at once. */
  private readonly pending = new Set<(error: RemoteFsError) => void>();
  private lastAnswerAt = Date.now();
  /** When the server last proved it is alive while a request waited (see proveAlive). */
  private lastSignOfLifeAt = 0;
  private askingForSignOfLife = false;
  /** The path of the latest request: the busy probe asks about it, not about a place of its own. */
  private lastPath: string | undefined;
  /** The busy probe under way, until it is answered. */
  private sftpProbe: BusyProbe | undefined;
  private openHandles = 0;
  /** Read-only uses whose CLOSE answer has not come yet (see withFile). */
  private readonly backgroundCloses = new Set<Promise<void>>();
  /** The most handles this session held open at once (a benchmark and test figure). */
  peakOpenHandles = 0;
  private fastestAnswerMs = Infinity;
  /** How much the connection's transfers keep in flight (transfers use the main session's). */
  readonly flow = new FlowControl(
    () => this.probeRoundTrip(),
    () => this.roundTripMs,
  );
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly logger: Logger,
    private readonly options: SftpSessionOptions = DEFAULT_SESSION_OPTIONS,
  ) {
    this.limits = readServerLimits(sftp);
    this.extensions = readServerExtensions(sftp);
    const readSize = new ReadSize(this.limits.stated ? this.limits.maxReadLength : undefined);
    if (readSize.settled || allowReadsOf(sftp, readSize.length)) {
      this.readSize = readSize;
    } else {
      logger.warn("Could not ask for longer READs (ssh2 internals changed); reads keep ssh2's length");
      this.readSize = new ReadSize(this.limits.maxReadLength);
    }
    if (!receiveDataDirectly(sftp)) {
      logger.warn(
        'Could not copy reads straight into place (ssh2 internals changed); reads cost one more copy',
      );
    }
    // Wrapped around the direct copy, not inside it: the direct copy takes DATA replies without
    // passing them on, so a window check behind it saw only the other replies, and the window sank to
    // ssh2's own 2 MiB during every download (1 MiB per round trip per channel on a long line).
    const windowFor = (): number =>
      (this.roundTripMs ?? 0) >= LONG_LINK_FROM_MS ? LONG_LINK_RECEIVE_WINDOW : RECEIVE_WINDOW;
    if (!enlargeReceiveWindow(sftp, windowFor)) {
      logger.warn(
        'Could not enlarge the SFTP receive window (ssh2 internals changed); downloads over slow links will be slower',
      );
    }
    logger.debug(
      sealsWritesDirectly(sftp)
        ? "WRITE requests are encrypted straight from the caller's bytes (AES-GCM without ssh2's addon)"
        : "WRITE requests go through ssh2's packets (its native addon, or a cipher other than AES-GCM)",
    );
    const perPool = Math.max(
      1,
      Math.min(MAX_HANDLES_PER_SESSION, Math.floor(this.limits.maxOpenHandles / 2)),
    );
    this.outerHandleSlots = new Limiter(perPool);
    this.innerHandleSlots = new Limiter(perPool);
    const onGone = (): void => this.markClosed('the SFTP channel closed');
    sftp.once('close', onGone);
    sftp.once('end', onGone);
    sftp.once('error', (error: Error & { level?: string }) => {
      if (error.level === 'sftp-protocol') {
        this.breakProtocol(error.message);
      } else {
        this.markClosed(`the SFTP channel failed: ${error.message}`);
      }
    });
    if (
      !guardReplyParsing(sftp, (error) =>
        this.breakProtocol(`a reply ssh2 could not handle: ${String(error)}`),
      )
    ) {
      logger.warn('Could not guard SFTP reply parsing (ssh2 internals changed)');
    }
  }

  private unguardedReadWarned = false;

  private warnUnguardedRead(): void {
    if (!this.unguardedReadWarned) {
      this.unguardedReadWarned = true;
      this.logger.warn('Could not check the kind of READ replies (ssh2 internals changed)');
    }
  }

  /** Handles open right now (zero once no operation runs and closesSettled() resolved: nothing leaks). */
  get openHandleCount(): number {
    return this.openHandles;
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * True when `error` means this session stopped working (lost, stalled, or broken by the server)
   * rather than the server refusing the request: whatever a failed cleanup meant to remove may still
   * be there, to remove on the next connection.
   */
  stoppedBy(error: unknown): boolean {
    return this.isClosed || isConnectionError(error);
  }

  /** When the session last had an answer, or started waiting for one after a quiet time (Date.now()). */
  get lastActivityAt(): number {
    return this.lastAnswerAt;
  }

  /** True while requests are waiting for an answer. */
  get isBusy(): boolean {
    return this.pending.size > 0;
  }

  /** The ssh2 channel, for the test that guards the internals this session relies on. */
  get channel(): SFTPWrapper {
    return this.sftp;
  }

  hasExtension(name: string): boolean {
    return this.extensions.has(name);
  }

  onClose(listener: (reason: string) => void): { dispose(): void } {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  /** Ends the channel. Pending requests fail with ECONNLOST, saying `reason`. */
  close(reason = 'the session was closed'): void {
    this.markClosed(reason);
    this.sftp.end();
  }

  /** Ends the channel and resolves once the server has closed it too: its slot on the server is free. */
  closeAndWait(reason: string): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.sftp.once('close', () => resolve());
      setTimeout(resolve, 5000).unref(); // a server that never confirms does not hold anyone up
    });
    this.close(reason);
    return closed;
  }

  /**
   * The server sent something no SFTP server may send. Nothing it sends on this channel can be trusted
   * any more (a reply may be matched to the wrong request), so the channel is closed and everything
   * pending fails with EPROTO; the next operation opens a fresh connection.
   */
  private breakProtocol(what: string): void {
    this.logger.error(`The server broke the SFTP protocol: ${what}`);
    this.markClosed(what, 'EPROTO');
    this.sftp.end();
  }

  private markClosed(reason: string, code: CloseCode = 'ECONNLOST'): void {
    if (this.closedReason !== undefined) {
      return;
    }
    this.closedReason = reason;
    this.closedCode = code;
    this.stopWatchdog();
    // Its requests are failed below and their callers may reuse their buffers: nothing still waiting
    // for the channel's window may leave after this.
    dropQueuedWrites(this.sftp);
    this.logger.debug(`SFTP session closed: ${reason}`);
    const failure = new RemoteFsError(code, `${CLOSE_SUMMARY[code]} (${reason})`);
    for (const reject of [...this.pending]) {
      reject(failure);
    }
    this.pending.clear();
    for (const listener of this.closeListeners) {
      listener(reason);
    }
  }

  private startWatchdog(): void {
    if (this.watchdog !== undefined) {
      return;
    }
    const interval = Math.max(50, Math.min(1000, this.options.stallTimeoutMs / 4));
    this.watchdog = setInterval(() => this.checkForStall(), interval);
    this.watchdog.unref();
  }

  /**
   * With requests pending and the server silent for the stall timeout, tells a dead server from a busy
   * one. Two questions go out together: an SSH keepalive (is the server there at all?) and a REALPATH
   * of the latest path on this channel (is its SFTP server free?). OpenSSH's sftp-server answers one
   * request after the other, so a server that answers the keepalive but not the REALPATH is still
   * working on an earlier request (a server-side copy of a large file, an fsync on slow storage): the
   * session waits, up to MAX_BUSY_MS. No keepalive answer means dead; a REALPATH answered while
   * requests sent before it stay unanswered means those answers were lost. Either fails everything
   * pending with ETIMEDOUT.
   */
  private checkForStall(): void {
    const now = Date.now();
    const silentFor = now - this.lastAnswerAt;
    const stall = this.options.stallTimeoutMs;
    const { proveAlive } = this.options;
    if (this.pending.size === 0 || silentFor < stall || this.askingForSignOfLife) {
      return;
    }
    if (proveAlive === undefined || silentFor >= MAX_BUSY_MS) {
      this.declareStalled(silentFor);
      return;
    }
    if (now - this.lastSignOfLifeAt < stall) {
      return; // busy, as of a moment ago
    }
    this.askingForSignOfLife = true;
    const timeoutMs = Math.min(stall, PROOF_OF_LIFE_TIMEOUT_MS);
    // A probe still unanswered from an earlier check is asked again, not sent twice.
    const probe = (this.sftpProbe ??= this.sendSftpProbe());
    const probeAnswered = Promise.race([
      probe.answered,
      new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]);
    void Promise.all([proveAlive(timeoutMs), probeAnswered]).then(([alive, answered]) => {
      this.askingForSignOfLife = false;
      if (answered && this.sftpProbe === probe) {
        this.sftpProbe = undefined;
      }
      if (this.isClosed || this.pending.size === 0) {
        return;
      }
      const lost = answered && [...probe.sentAfter].some((request) => this.pending.has(request));
      if (!alive || lost) {
        this.declareStalled(Date.now() - this.lastAnswerAt, lost ? 'answers lost' : undefined);
        return;
      }
      this.lastSignOfLifeAt = Date.now();
      this.logger.debug(
        `No SFTP answer for ${Math.round((Date.now() - this.lastAnswerAt) / 1000)} s, but the server is alive and busy: waiting for a long request`,
      );
    });
  }

  private sendSftpProbe(): BusyProbe {
    const sentAfter = new Set(this.pending);
    const probePath = this.lastPath ?? '/';
    const answered = this.call<string>(probePath, (cb) => this.sftp.realpath(probePath, cb)).then(
      () => true,
      () => false,
    );
    return { answered, sentAfter };
  }

  private declareStalled(silentFor: number, why?: string): void {
    this.logger.warn(
      `No answer from the server for ${Math.round(silentFor / 1000)} s with ${this.pending.size} request(s) pending${why === undefined ? '' : ` (${why})`}`,
    );
    this.markClosed(`no answer for ${Math.round(silentFor / 1000)} s`, 'ETIMEDOUT');
    this.sftp.end();
  }

  private stopWatchdog(): void {
    if (this.watchdog !== undefined) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  /**
   * Wraps one ssh2 call: fails fast when closed, converts errors, never throws synchronously. ssh2
   * hands a callback whatever reply carried its request id, so `valid` checks the answer has the
   * shape the request calls for (a STAT answered with a HANDLE breaks the protocol, it is no stat).
   */
  private call<T>(
    path: string | undefined,
    start: (callback: (error: unknown, value?: T) => void) => void,
    valid?: (value: unknown) => boolean,
  ): Promise<T> {
    if (this.closedReason !== undefined) {
      return Promise.reject(
        new RemoteFsError(this.closedCode, `${CLOSE_SUMMARY[this.closedCode]} (${this.closedReason})`, {
          ...(path === undefined ? {} : { path }),
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const fail = (error: RemoteFsError): void => {
        this.pending.delete(fail);
        reject(
          path === undefined || error.path !== undefined
            ? error
            : new RemoteFsError(error.code, error.summary, { path, cause: error }),
        );
      };
      if (path !== undefined) {
        this.lastPath = path;
      }
      if (this.pending.size === 0) {
        // The silence clock starts with the first request, not at the last answer of a quiet period.
        this.lastAnswerAt = Date.now();
      }
      this.pending.add(fail);
      this.startWatchdog();
      try {
        start((error, value) => {
          if (!this.pending.delete(fail)) {
            return; // already failed by a stall or a close
          }
          this.lastAnswerAt = Date.now();
          if (this.pending.size === 0) {
            this.stopWatchdog();
          }
          if (error) {
            reject(toRemoteError(error, path));
          } else if (valid !== undefined && !valid(value)) {
            const what = `a reply of the wrong kind (${describeValue(value)})`;
            reject(
              new RemoteFsError('EPROTO', `${CLOSE_SUMMARY.EPROTO} (${what})`, {
                ...(path === undefined ? {} : { path }),
              }),
            );
            this.breakProtocol(what);
          } else {
            resolve(value as T);
          }
        });
      } catch (error) {
        fail(toRemoteError(error, path));
      }
    });
  }

  /**
   * The round trip to the server: the fastest answer seen to a request that moves no data. A request
   * queued behind a transfer answers late, never early, so the minimum is the link's own delay.
   * Undefined until a stat or realpath has been answered.
   */
  get roundTripMs(): number | undefined {
    return Number.isFinite(this.fastestAnswerMs) ? this.fastestAnswerMs : undefined;
  }

  private timed<T>(request: Promise<T>): Promise<T> {
    const started = performance.now();
    return request.then((value) => {
      this.fastestAnswerMs = Math.min(this.fastestAnswerMs, performance.now() - started);
      return value;
    });
  }

  stat(path: string): Promise<Attributes> {
    return this.timed(this.call(path, (cb) => this.sftp.stat(path, cb), isAttributes));
  }

  lstat(path: string): Promise<Attributes> {
    return this.timed(this.call(path, (cb) => this.sftp.lstat(path, cb), isAttributes));
  }

  fstat(handle: Handle, path: string): Promise<Attributes> {
    return this.call(path, (cb) => this.sftp.fstat(handle, cb), isAttributes);
  }

  /**
   * Takes the round trip `main` measured on the same connection (a lane seldom sends small requests
   * of its own): the window it grows to depends on it.
   */
  shareRoundTripOf(main: SftpSession): void {
    this.fastestAnswerMs = Math.min(this.fastestAnswerMs, main.fastestAnswerMs);
  }

  /** One REALPATH of ".", timed: how long a small request waits while transfers run. */
  async probeRoundTrip(): Promise<number> {
    const started = performance.now();
    await this.realpath('.');
    return performance.now() - started;
  }

  realpath(path: string): Promise<string> {
    return this.timed(this.call(path, (cb) => this.sftp.realpath(path, cb), isText));
  }

  readlink(path: string): Promise<string> {
    return this.call(path, (cb) => this.sftp.readlink(path, cb), isText);
  }

  symlink(target: string, linkPath: string): Promise<void> {
    return this.call(linkPath, (cb) => this.sftp.symlink(target, linkPath, cb));
  }

  mkdir(path: string, attrs: InputAttributes = {}): Promise<void> {
    return this.call(path, (cb) => this.sftp.mkdir(path, attrs, cb));
  }

  rmdir(path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.rmdir(path, cb));
  }

  unlink(path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.unlink(path, cb));
  }

  /** Plain SFTP RENAME: on OpenSSH it never replaces an existing target. */
  rename(from: string, to: string): Promise<void> {
    return this.call(from, (cb) => this.sftp.rename(from, to, cb));
  }

  /** `posix-rename@openssh.com`: rename(2), atomically replacing a file at `to`. */
  posixRename(from: string, to: string): Promise<void> {
    return this.call(from, (cb) => this.sftp.ext_openssh_rename(from, to, cb));
  }

  setstat(path: string, attrs: InputAttributes): Promise<void> {
    return this.call(path, (cb) => this.sftp.setstat(path, attrs, cb));
  }

  fsetstat(handle: Handle, attrs: InputAttributes, path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.fsetstat(handle, attrs, cb));
  }

  fsync(handle: Handle, path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.ext_openssh_fsync(handle, cb));
  }

  /**
   * Bytes an unprivileged user may still write on the filesystem holding `path`
   * (`statvfs@openssh.com`), or undefined when the server cannot say.
   */
  async freeSpace(path: string): Promise<number | undefined> {
    if (!this.hasExtension('statvfs@openssh.com')) {
      return undefined;
    }
    const info = await this.call<{ f_bavail?: number | bigint; f_frsize?: number | bigint }>(path, (cb) =>
      this.sftp.ext_openssh_statvfs(path, cb),
    );
    if (info.f_bavail === undefined || info.f_frsize === undefined) {
      return undefined;
    }
    return Number(info.f_bavail) * Number(info.f_frsize);
  }

  /**
   * Whether the filesystem holding `path` is mounted read-only (`statvfs@openssh.com` flag
   * ST_RDONLY), or undefined when the server cannot say.
   */
  async isReadOnlyFilesystem(path: string): Promise<boolean | undefined> {
    if (!this.hasExtension('statvfs@openssh.com')) {
      return undefined;
    }
    const info = await this.call<{ f_flag?: number | bigint }>(path, (cb) =>
      this.sftp.ext_openssh_statvfs(path, cb),
    );
    return info.f_flag === undefined ? undefined : (BigInt(info.f_flag) & 1n) === 1n;
  }

  /** `copy-data`: the server copies `length` bytes (0 = to EOF) between two open handles. */
  copyData(source: Handle, target: Handle, path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.ext_copy_data(source, 0, 0, target, 0, cb));
  }

  /** The length to ask READs for now: what the server stated, or what its answers have shown so far. */
  get readLength(): number {
    return this.readSize.length;
  }

  /** What readLength rests on (see ReadSize): for the log, the connection info and the tests. */
  get readLengthBasis(): ReadSizeBasis {
    return this.readSize.basis;
  }

  /**
   * Reads up to `length` bytes (at most readLength) at `position`; answers how many came, 0 at the end
   * of the file. Fewer than asked is normal: the caller asks again for the rest. While the read length
   * is being tried, a READ longer than the safe size that the server refuses is asked again at the
   * safe size: a server that enforces a cap by refusing still works, and the session keeps the safe
   * size. A real failure fails the second READ too, and that is what is reported.
   */
  async read(
    handle: Handle,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    path: string,
  ): Promise<number> {
    try {
      const got = await this.readOnce(handle, buffer, offset, length, position, path);
      if (got === length && this.readSize.answeredInFull(length)) {
        this.logger.debug(
          `The server answers READs of ${length} bytes in full; reads ask for that (it states no limits)`,
        );
      }
      return got;
    } catch (error) {
      if (!this.readSize.mayBeTooLong(length) || !isRefusal(error) || this.isClosed) {
        throw error;
      }
      const got = await this.readOnce(handle, buffer, offset, SAFE_READ_LENGTH, position, path);
      if (this.readSize.refusedLonger()) {
        this.logger.info(
          `The server refused a READ of ${length} bytes and answered one of ${SAFE_READ_LENGTH}; reads ask for ${SAFE_READ_LENGTH} (${errorMessage(error)})`,
        );
      }
      return got;
    }
  }

  /**
   * The caller saw a READ answered with `answered` bytes, fewer than asked, and the READ for the bytes
   * after them brought more: not the end of the file, so the server caps READs at `answered`.
   */
  readAnsweredShort(answered: number): void {
    if (this.readSize.answeredShort(answered)) {
      this.logger.info(
        `The server answers READs with at most ${answered} bytes; reads ask for ${this.readSize.length} (it states no limits)`,
      );
    }
  }

  private readOnce(
    handle: Handle,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    path: string,
  ): Promise<number> {
    return this.call(
      path,
      (cb) => {
        this.sftp.read(handle, buffer, offset, length, position, (error, bytesRead) => cb(error, bytesRead));
        const wrongReply = (): void =>
          this.breakProtocol('a reply to a READ that is not DATA of at most the length asked for');
        if (!guardReadReply(this.sftp, length, wrongReply)) {
          this.warnUnguardedRead();
        }
      },
      (bytesRead) =>
        Number.isInteger(bytesRead) && (bytesRead as number) >= 0 && (bytesRead as number) <= length,
    );
  }

  write(
    handle: Handle,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    path: string,
  ): Promise<void> {
    return this.call(path, (cb) => {
      const done = (error?: Error | null): void => cb(error ?? undefined);
      if (!writeDirectly(this.sftp, handle, buffer, offset, length, position, done)) {
        this.sftp.write(handle, buffer, offset, length, position, done);
      }
    });
  }

  /**
   * Opens `path`, runs `use` with the handle and always closes it. At most a bounded number of handles
   * are open at once, so VS Code's unbounded parallel calls cannot exhaust the server's limit. Code that
   * already holds a handle from `withFile` opens its second one with `inner: true`.
   *
   * For a file opened to write, `alongClose` is called with what `use` answered in the same tick as
   * the CLOSE goes out: a request it sends follows the CLOSE on the channel, in the same flight.
   */
  withFile<T>(
    path: string,
    flags: OpenFlags,
    attrs: InputAttributes,
    use: (handle: Handle) => Promise<T>,
    inner = false,
    alongClose?: (result: T) => void,
  ): Promise<T> {
    const slots = inner ? this.innerHandleSlots : this.outerHandleSlots;
    const open = (): Promise<Handle> =>
      this.call<Handle>(path, (cb) => this.sftp.open(path, flags, attrs, cb), isHandle);
    if (flags !== 'r') {
      return slots.run(async () => this.useThenClose(await open(), path, use, alongClose));
    }
    return this.useThenCloseLater(slots, open, path, use);
  }

  /**
   * Opens, uses, and closes without waiting for the CLOSE's answer: a failed CLOSE of a handle that
   * only read (a file or a folder) cannot lose anything, so the caller saves a round trip. The slot is
   * held until the answer comes, so the number of open handles stays bounded all the same.
   */
  private useThenCloseLater<T>(
    slots: Limiter,
    open: () => Promise<Handle>,
    path: string,
    use: (handle: Handle) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const closing = slots.run(async () => {
        let handle: Handle;
        try {
          handle = await open();
        } catch (error) {
          reject(error);
          return;
        }
        this.countOpened();
        try {
          resolve(await use(handle));
        } catch (error) {
          reject(error);
        }
        await this.call<void>(path, (cb) => this.sftp.close(handle, cb)).catch((error: unknown) =>
          this.logger.debug(`Closing ${path} after reading failed: ${errorMessage(error)}`),
        );
        this.openHandles--;
      });
      this.backgroundCloses.add(closing);
      void closing.finally(() => this.backgroundCloses.delete(closing));
    });
  }

  /** Resolves once every read-only handle whose CLOSE was not waited for has been closed. */
  async closesSettled(): Promise<void> {
    while (this.backgroundCloses.size > 0) {
      await Promise.all(this.backgroundCloses);
    }
  }

  private countOpened(): void {
    this.openHandles++;
    this.peakOpenHandles = Math.max(this.peakOpenHandles, this.openHandles);
  }

  /**
   * Lists a folder without `.` and `..`: OPENDIR, pipelined READDIRs until EOF, CLOSE (not waited for).
   * With `until`, the listing stops after the batch that holds a name it accepts (the answer is then
   * only the part listed so far): a save looking up its file's link count in a small folder waits for
   * one READDIR, not for the one that confirms the end.
   */
  readdir(path: string, until?: (name: string) => boolean): Promise<ListedEntry[]> {
    const open = (): Promise<Handle> =>
      this.call<Handle>(path, (cb) => this.sftp.opendir(path, cb), isHandle);
    return this.useThenCloseLater(this.outerHandleSlots, open, path, async (handle) => {
      const entries: ListedEntry[] = [];
      // One READDIR first. When its batch is not full (OpenSSH sends 100 names while it has them),
      // the folder most likely ended: one more READDIR confirms the EOF in the same round trips as
      // going wide would, without 31 more requests answered EOF (a watched tree lists hundreds of
      // folders per scan). A full batch, or a second one, means a larger folder: READDIR_DEPTH
      // requests in flight on the handle, each answering the next batch, the ones past the end EOF.
      let found = false;
      const keep = (batch: readonly FileEntry[]): void => {
        for (const { filename, longname, attrs } of batch) {
          if (filename !== '.' && filename !== '..') {
            const links = linkCountFromLongName(longname);
            entries.push(links === undefined ? { filename, attrs } : { filename, attrs, links });
            found ||= until?.(filename) === true;
          }
        }
        if (entries.length > MAX_DIRECTORY_ENTRIES) {
          throw new RemoteFsError(
            'EPROTO',
            `The server listed more than ${MAX_DIRECTORY_ENTRIES} entries and kept going; the listing was stopped`,
            { path },
          );
        }
      };
      for (let batch = 0; batch < 2; batch++) {
        const names = await this.readdirBatch(handle, path);
        if (names === undefined) {
          return entries;
        }
        keep(names);
        if (found) {
          return entries;
        }
        if (names.length >= OPENSSH_READDIR_BATCH) {
          break; // a full batch: more are coming, so go wide now
        }
      }
      let done = false;
      const worker = async (): Promise<void> => {
        while (!done) {
          const batch = await this.readdirBatch(handle, path);
          if (batch === undefined || done) {
            done = true;
            return;
          }
          try {
            keep(batch);
          } catch (error) {
            done = true;
            throw error;
          }
          done ||= found;
        }
      };
      await Promise.all(Array.from({ length: READDIR_DEPTH }, worker));
      return entries;
    });
  }

  private readdirBatch(handle: Handle, path: string): Promise<FileEntry[] | undefined> {
    return new Promise((resolve, reject) => {
      // `full` (ssh2 accepts it; its typings omit it): ssh2's own filtering of `.` and `..` assumes the
      // reply is a list, and throws on one that is not.
      const readdirFull = this.sftp.readdir as unknown as (
        handle: Handle,
        options: { full: true },
        callback: (error: unknown, list?: FileEntry[] | false) => void,
      ) => void;
      this.call<FileEntry[] | false>(
        path,
        (cb) => readdirFull.call(this.sftp, handle, { full: true }, cb),
        isListing,
      ).then(
        (list) => resolve(list === false ? undefined : list),
        (error: RemoteFsError) => (error.sftpStatus === SFTP_STATUS_EOF ? resolve(undefined) : reject(error)),
      );
    });
  }

  private async useThenClose<T>(
    handle: Handle,
    path: string,
    use: (handle: Handle) => Promise<T>,
    alongClose?: (result: T) => void,
  ): Promise<T> {
    this.countOpened();
    let result: T;
    try {
      result = await use(handle);
    } catch (error) {
      await this.call<void>(path, (cb) => this.sftp.close(handle, cb)).catch(() => undefined);
      this.openHandles--;
      throw error;
    }
    try {
      // A failed CLOSE after writing can mean the data never reached the disk, so it is reported.
      const closed = this.call<void>(path, (cb) => this.sftp.close(handle, cb));
      alongClose?.(result);
      await closed;
    } finally {
      this.openHandles--;
    }
    return result;
  }
}

/**
 * True for a status the server chose to answer with (FAILURE, BAD_MESSAGE, OP_UNSUPPORTED, ...), not
 * the end of the file and not a lost connection.
 */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof RemoteFsError &&
    error.sftpStatus !== undefined &&
    error.sftpStatus !== SFTP_STATUS_EOF &&
    error.code !== 'ECONNLOST'
  );
}

function isAttributes(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value) || Array.isArray(value)) {
    return false;
  }
  const { mode, size } = value as { mode?: unknown; size?: unknown };
  return (mode === undefined || typeof mode === 'number') && (size === undefined || typeof size === 'number');
}

function isHandle(value: unknown): boolean {
  return Buffer.isBuffer(value) && value.length <= MAX_HANDLE_BYTES;
}

function isText(value: unknown): boolean {
  return typeof value === 'string';
}

function isListing(value: unknown): boolean {
  return (
    value === false ||
    (Array.isArray(value) &&
      value.every(
        (entry: { filename?: unknown; attrs?: unknown } | null) =>
          typeof entry?.filename === 'string' && isAttributes(entry.attrs),
      ))
  );
}

/** What a reply turned out to be, for the log: never its content. */
function describeValue(value: unknown): string {
  if (Buffer.isBuffer(value)) {
    return `${value.length} bytes`;
  }
  if (Array.isArray(value)) {
    return `a list of ${value.length}`;
  }
  return value === null ? 'null' : typeof value;
}
