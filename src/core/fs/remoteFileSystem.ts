import type { Attributes } from 'ssh2';

import { RemoteFsError, aboutPath, errorMessage, isConnectionError, withCode } from '../common/errors';
import { forEachBounded } from '../common/limiter';
import type { Logger } from '../common/logger';
import {
  baseName,
  isSafeEntryName,
  isSameOrInside,
  joinRemote,
  normalizeRemotePath,
  parentOf,
} from '../common/remotePath';
import type { ArrivingContent } from '../sftp/arrivingContent';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';
import { startStripedUpload, writeWholeFile } from '../sftp/stripedUpload';
import { PrefaultedBuffer } from '../sftp/prefaultedBuffer';
import { PreopenedLanes } from '../sftp/preopenedLanes';
import { readWholeFile } from '../sftp/transfer';
import { AttributeCache, type KnownAttributes } from './attributeCache';
import { describe, statOrUndefined } from './entryStat';
import type { EntryStat, EntryType, WriteOptions } from './entryType';
import { LargeFileSizes } from './largeFileSizes';
import { Leftovers } from './leftovers';
import { resolveLinks } from './links';
import { LoginFacts } from './loginFacts';
import type { ReportedIdentity } from './permissions';
import { explainCreateFailure, lstatOrUndefined } from './refine';
import type { SaveContext, SaveRequest } from './save/saveContext';
import { InPlaceRefused, saveFile } from './save/saveFile';
import { reasonAgainstRename } from './save/savePlan';
import { checkSavePreconditions, refuseSpecialFile } from './save/savePreconditions';
import { Copier } from './treeCopy';
import { TREE_CONCURRENCY, removeEmptyFolder, removeTree, type TreeOperationOptions } from './trees';

export type { TreeOperationOptions } from './trees';

/** One entry of a folder listing. */
export interface ListedChild {
  readonly name: string;
  readonly stat: EntryStat;
}

export interface RemoteFileSystemOptions {
  /** readFile fails with ETOOLARGE above this many bytes. */
  readonly maxReadFileBytes: number;
  /** How long attributes seen in a listing or stat answer later stats (default 1 s; 0 turns it off). */
  readonly attributeLifetimeMs?: number;
  /**
   * Set where this file system works for another connection's (the reader thread's): it never comes
   * back after a drop, so a save that would have to be written in place (protected by a backup that
   * only a reconnect puts back) fails with InPlaceRefused, and a temporary a cut save leaves goes to
   * `onOrphan`, for the other connection to remove.
   */
  readonly onBehalfOfAnother?: { readonly onOrphan: (temporary: string) => void };
}

/** What a save did. */
export interface Saved {
  /** The file it replaced: `path`, or for a link the link's target. */
  readonly target: string;
  /** The attributes `path` has now, when the save learnt them (never for a link). */
  readonly attrs: Attributes | undefined;
}

/** What a reader thread does for a RemoteFileSystem (connection/readerThread.ts). */
export interface FileThread {
  read(path: string, expectedSize: number): Promise<Uint8Array>;
  /**
   * Saves `content` as an overwriting save would. Rejects with InPlaceRefused when the file has to be
   * saved in place, which is left to the caller's connection.
   */
  write(path: string, content: Uint8Array, options: WriteOptions): Promise<Saved>;
}

/**
 * A call succeeded, but not as the user would assume: `path` had to be overwritten in place with no
 * copy of the original to fall back on (its folder is not writable and it is too large to keep in
 * memory), so a cut connection could have left it half written.
 */
export interface FileSystemNotice {
  readonly path: string;
  readonly reason: 'unprotected';
}

/** Where a RemoteFileSystem gets its session, and whether a dropped one is coming back. */
export interface SessionSource {
  session(): Promise<SftpSession>;
  /** True unless the user disconnected or the connection failed for good. */
  willReconnect(): boolean;
  /** Extra SFTP channels on the same connection for large transfers (may answer fewer, or none). */
  transferLanes?(count: number): SftpSession[] | Promise<SftpSession[]>;
  /**
   * A thread with a connection of its own that reads and saves whole files (connection/readerThread.ts),
   * when it is ready; asking starts it.
   */
  readerThread?(): FileThread | undefined;
  /** A large file is likely to be read soon: start the reader thread now, if it may be started. */
  startReaderThreadAhead?(): void;
  /** The name the account logs in with, once connected. */
  userName?(): string | undefined;
  /** The account's uid and groups as the server's `id` tells them (undefined without a shell). */
  identity?(): Promise<ReportedIdentity | undefined>;
}

/**
 * Reads and saves at least this large go through the reader thread: below it the CPU a transfer costs
 * is small next to handing the work over (and a thread is not started for it).
 */
const THREAD_MIN_BYTES = 8 * 1024 * 1024;

/** Transfers at least this large are striped over several SFTP channels. */
const STRIPE_THRESHOLD = 8 * 1024 * 1024;
/** Extra channels for a striped transfer (OpenSSH allows 10 sessions per connection by default). */
const EXTRA_TRANSFER_LANES = 7;
/**
 * Reads are striped only over links at least this slow. One channel's 8 MiB receive window carries
 * about 8 MiB per round trip, beyond 1 GB/s below 5 ms; on loopback, striping only adds server
 * processes competing for the CPU (measured: 256 MiB reads 463 ms on one channel, 580 ms on 8).
 * Uploads are always striped: the server's window per channel is 2 MiB.
 */
const STRIPED_READ_MIN_ROUND_TRIP_MS = 5;

/**
 * The FileSystemProvider contract on top of SFTP, in plain Node: what VS Code's vscode.d.ts and
 * shared/DESIGN.md require of each call, whatever the server's own quirks. Every method takes an
 * absolute POSIX path and throws RemoteFsError.
 */
export class RemoteFileSystem {
  private readonly leftovers: Leftovers;
  private readonly facts: LoginFacts;
  private readonly copier: Copier;
  private readonly attributes: AttributeCache;
  private readonly largeFileSizes = new LargeFileSizes(STRIPE_THRESHOLD);
  /** Files the reader thread refused to save (they have to be saved in place): saved here from then on. */
  private readonly savedHere = new Set<string>();
  private readonly rememberOrphan: (temporary: string) => void;

  constructor(
    private readonly source: SessionSource,
    private readonly logger: Logger,
    private readonly options: RemoteFileSystemOptions,
    /** Told what the user should know about a call that succeeded (a save that was not atomic). */
    private readonly notify: (notice: FileSystemNotice) => void = () => undefined,
  ) {
    this.attributes = new AttributeCache(options.attributeLifetimeMs ?? 1000);
    this.leftovers = new Leftovers(logger, (path) => this.attributes.forget(path));
    this.rememberOrphan = options.onBehalfOfAnother?.onOrphan ?? this.leftovers.rememberOrphan;
    this.facts = new LoginFacts(
      logger,
      () => source.userName?.(),
      () => source.identity?.() ?? Promise.resolve(undefined),
    );
    this.copier = new Copier({
      logger,
      saveContext: (session) => this.saveContext(session),
      rememberOrphan: this.rememberOrphan,
    });
  }

  /**
   * Changes a watch saw on the server: attributes seen a moment ago must not answer the stat VS Code
   * makes at once to reload an open editor (it would find the old size and time, and not reload).
   */
  changedOnServer(paths: readonly string[]): void {
    this.changed(...paths);
  }

  /**
   * Temporaries that saves made for this file system elsewhere (in the reader thread) left when their
   * connection was lost: removed like this connection's own, before its next operation.
   */
  adoptLeftovers(temporaries: readonly string[]): void {
    for (const temporary of temporaries) {
      this.leftovers.rememberOrphan(temporary);
    }
  }

  /** Our own change to these paths: what was known about them (and their folders) is now wrong. */
  private changed(...paths: string[]): void {
    for (const path of paths) {
      this.attributes.forgetTree(path);
      this.attributes.forget(parentOf(path)); // its modification time changes too
    }
  }

  /**
   * Like `changed`, for paths known not to be folders: nothing below them can be known, so no search
   * of the whole cache is needed (VS Code's folder copy saves thousands of files at once).
   */
  private changedFiles(...paths: string[]): void {
    for (const path of paths) {
      this.attributes.forget(path);
      this.attributes.forget(parentOf(path));
    }
  }

  /** lstat, answered from attributes seen a moment ago when there are some. */
  private async lstatKnown(session: SftpSession, path: string): Promise<Attributes | undefined> {
    const known = this.attributes.get(path);
    if (known !== undefined) {
      return known.own;
    }
    return lstatOrUndefined(session, path);
  }

  /** The live session; failing to connect fails naming `path`, the file the user acted on. */
  private async session(path?: string): Promise<SftpSession> {
    let session: SftpSession;
    try {
      session = await this.source.session();
    } catch (error) {
      throw path === undefined ? error : aboutPath(error, path);
    }
    this.facts.learnAbout(session);
    await this.leftovers.clearUp(session);
    return session;
  }

  /** The stat of `known`, with the read-only mark where the user certainly cannot write it. */
  private async describeFor(session: SftpSession, known: KnownAttributes): Promise<EntryStat> {
    const stat = describe(known);
    const notWritable = await this.facts.notWritable(session, known.target ?? known.own);
    return notWritable ? { ...stat, notWritable } : stat;
  }

  /** What a save on `session` needs from this file system. */
  private saveContext(session: SftpSession): SaveContext {
    return {
      session,
      logger: this.logger,
      identity: () => this.facts.identity(),
      learnIdentity: (identity) => this.facts.learnIdentity(identity),
      onOrphan: this.rememberOrphan,
      protect: (backup) => this.leftovers.protect(backup),
      onUnprotected: (path) => this.notify({ path, reason: 'unprotected' }),
      maxBackupInMemoryBytes: this.options.maxReadFileBytes,
      inPlaceAllowed: this.options.onBehalfOfAnother === undefined,
    };
  }

  /**
   * Runs an operation that is safe to repeat. If the connection drops under it (or stalls) and is being
   * re-established, it runs once more on the new session instead of failing the user's action.
   */
  private async retryingOnDrop<T>(
    what: string,
    path: string,
    operation: (session: SftpSession) => Promise<T>,
  ): Promise<T> {
    try {
      const session = await this.session();
      try {
        return await operation(session);
      } catch (error) {
        const dropped =
          error instanceof RemoteFsError && (error.code === 'ECONNLOST' || error.code === 'ETIMEDOUT');
        if (!dropped || !this.source.willReconnect()) {
          throw error;
        }
        this.logger.info(`${what} ${path} was interrupted (${error.message}); retrying on a new connection`);
        return await operation(await this.session());
      }
    } catch (error) {
      throw aboutPath(error, path);
    }
  }

  /** The folder the server starts the account in (its home, or the chroot's root). */
  async homeFolder(): Promise<string> {
    return this.retryingOnDrop('realpath', '.', (session) => session.realpath('.'));
  }

  /** `fresh` asks the server even if the entry was seen a moment ago (a watcher looking for changes). */
  async stat(rawPath: string, options: { fresh?: boolean } = {}): Promise<EntryStat> {
    const path = normalizeRemotePath(rawPath);
    if (options.fresh === true) {
      this.attributes.forget(path);
    }
    const stat = await this.retryingOnDrop('stat', path, (session) => this.statOn(session, path));
    // VS Code stats a file before it opens it: a large one starts the reader thread, whose login is
    // then over when the read comes. A watcher's look (fresh) is no sign of a read.
    if (options.fresh !== true && stat.type.kind === 'file' && this.threadTakes(stat.size)) {
      this.source.startReaderThreadAhead?.();
    }
    return stat;
  }

  private async statOn(session: SftpSession, path: string): Promise<EntryStat> {
    const known = this.attributes.get(path);
    if (known !== undefined && (kindOfMode(known.own.mode) !== 'symlink' || known.target !== undefined)) {
      return this.describeFor(session, known);
    }
    const own = await session.lstat(path);
    const target =
      kindOfMode(own.mode) === 'symlink' ? ((await statOrUndefined(session, path)) ?? null) : undefined;
    const value = target === undefined ? { own } : { own, target };
    this.remember(path, value);
    return this.describeFor(session, value);
  }

  /**
   * Keeps what was just seen of `path` for the stats VS Code makes right after, and the size of a
   * large file for its next read (see LargeFileSizes): a file the Explorer listed is read with its
   * lanes opening beside the main OPEN.
   */
  private remember(path: string, known: KnownAttributes): void {
    this.attributes.set(path, known);
    const seen = known.target ?? known.own;
    if (kindOfMode(seen.mode) === 'file' && seen.size !== undefined) {
      this.largeFileSizes.seen(path, seen.size);
    }
  }

  async readDirectory(rawPath: string): Promise<Array<[string, EntryType]>> {
    return (await this.list(rawPath)).map(({ name, stat }): [string, EntryType] => [name, stat.type]);
  }

  /** A folder's entries with their attributes, from one listing (links resolved), as watching needs. */
  async list(rawPath: string): Promise<ListedChild[]> {
    const path = normalizeRemotePath(rawPath);
    return this.retryingOnDrop('readDirectory', path, (session) => this.listOn(session, path));
  }

  private async listOn(session: SftpSession, path: string): Promise<ListedChild[]> {
    let entries;
    try {
      entries = await session.readdir(path);
    } catch (error) {
      throw await this.explainNotAFolder(session, error, path);
    }
    const result: ListedChild[] = [];
    const links: Array<{ name: string; own: Attributes; index: number }> = [];
    for (const entry of entries) {
      if (entry.filename === '.' || entry.filename === '..') {
        continue;
      }
      if (!isSafeEntryName(entry.filename)) {
        this.logger.warn(
          `Ignoring an entry with an unsafe name in ${path}: ${JSON.stringify(entry.filename)}`,
        );
        continue;
      }
      const known =
        entry.links === undefined ? { own: entry.attrs } : { own: entry.attrs, links: entry.links };
      if (kindOfMode(entry.attrs.mode) === 'symlink') {
        links.push({ name: entry.filename, own: entry.attrs, index: result.length });
      } else {
        // The Explorer stats every child right after a listing when sorting by date: answer from here.
        this.remember(joinRemote(path, entry.filename), known);
      }
      result.push({ name: entry.filename, stat: describe(known) });
    }
    // READDIR attributes come from lstat: resolve links so a link to a folder can be expanded.
    await forEachBounded(links, TREE_CONCURRENCY, async ({ name, own, index }) => {
      const child = joinRemote(path, name);
      const known = { own, target: (await statOrUndefined(session, child)) ?? null };
      result[index] = { name, stat: describe(known) };
      this.remember(child, known);
    });
    return result;
  }

  /**
   * The whole file. `expectedSize`, when the caller knows what size the file last had (the reader
   * thread is told its caller's), lets a large read's extra channels open it beside the first OPEN.
   */
  async readFile(rawPath: string, expectedSize?: number): Promise<Uint8Array> {
    const path = normalizeRemotePath(rawPath);
    if (expectedSize !== undefined) {
      this.largeFileSizes.seen(path, expectedSize);
    }
    return this.retryingOnDrop('readFile', path, (session) => this.readFileOn(session, path));
  }

  private async readFileOn(session: SftpSession, path: string): Promise<Uint8Array> {
    // VS Code stats a file before reading it: a special file is refused before its OPEN blocks the server.
    const known = this.attributes.get(path);
    const seen = known?.target ?? known?.own;
    refuseSpecialFile(path, seen, 'opened');
    // The size VS Code's stat just saw, or the file had when it was last seen (listed, read, saved).
    const expectedSize = seen?.size ?? this.largeFileSizes.get(path);
    // A file last seen large and regular goes to the reader thread at once: its OPEN there says what
    // the file is now, and this connection's OPEN would only cost a round trip before it.
    const regular = seen === undefined || kindOfMode(seen.mode) === 'file';
    const straightToThread = regular && expectedSize !== undefined && this.threadTakes(expectedSize);
    if (straightToThread) {
      const inThread = await this.readInThread(path, expectedSize);
      if (inThread !== undefined) {
        return inThread;
      }
    }
    return this.readFileHere(session, path, expectedSize, !straightToThread);
  }

  /**
   * The read on this connection; `tryThread`: a file that turns out large and regular may still go to
   * the reader thread once its OPEN and STAT have answered here.
   */
  private readFileHere(
    session: SftpSession,
    path: string,
    expectedSize: number | undefined,
    tryThread: boolean,
  ): Promise<Uint8Array> {
    // Whether the read will be striped, guessed from the size the file was last seen with: the extra
    // channels then open the file beside the main OPEN, so their READs leave in its first flight
    // instead of a round trip after the STAT's answer.
    const preopened =
      expectedSize !== undefined && this.stripesReadOf(session, expectedSize)
        ? new PreopenedLanes(this.lanesFor(expectedSize), path)
        : undefined;
    // On such a line the buffer's pages are faulted in while the OPEN's round trip is under way
    // (unless the read may yet go to the reader thread, which has a buffer of its own).
    const prefaulted =
      expectedSize !== undefined && preopened !== undefined && !tryThread
        ? new PrefaultedBuffer(expectedSize + session.readLength)
        : undefined;
    // STAT goes out in the same flight as OPEN: the size for the buffer costs no extra round trip.
    const statResult = session.stat(path).then(
      (attrs) => ({ attrs }),
      (error: unknown) => ({ error }),
    );
    const reading = session.withFile(path, 'r', {}, async (handle) => {
      const outcome = await statResult;
      const attrs = 'attrs' in outcome ? outcome.attrs : await session.fstat(handle, path);
      if (kindOfMode(attrs.mode) === 'directory') {
        throw new RemoteFsError('EISDIR', 'Is a folder', { path });
      }
      const size = attrs.size ?? 0;
      const regular = kindOfMode(attrs.mode) === 'file';
      if (regular) {
        this.largeFileSizes.seen(path, size);
      }
      const inThread = regular && tryThread ? await this.readInThread(path, size) : undefined;
      if (inThread !== undefined) {
        return inThread;
      }
      // The main channel starts at once; lanes still opening take a share of what is left when they come.
      const lanes = this.stripesReadOf(session, size) ? (preopened ?? this.lanesFor(size)) : [];
      const opened = lanes === preopened ? ', their OPENs sent with the main OPEN' : '';
      const touched =
        prefaulted === undefined
          ? ''
          : `, ${(prefaulted.touchedBytes / 2 ** 20).toFixed(1)} MiB of its buffer touched during the OPEN`;
      return readWholeFile(
        session,
        handle,
        path,
        size,
        this.options.maxReadFileBytes,
        lanes,
        (count) =>
          this.logger.debug(
            `Reading ${path} (${size} bytes): ${count} more SFTP channel(s) joined${opened} (round trip ${(session.roundTripMs ?? 0).toFixed(1)} ms${touched})`,
          ),
        prefaulted,
      );
    });
    // Lanes that were not given a stripe close the handles they opened; a buffer not claimed goes.
    void reading
      .finally(() => {
        preopened?.release();
        prefaulted?.discard();
      })
      .catch(() => undefined);
    // Servers refuse to OPEN a folder in their own words (OpenSSH: FAILURE, ProFTPD: PERMISSION_DENIED);
    // the STAT sent with it says what it is.
    return reading.catch(async (error: unknown) => {
      const outcome = await statResult;
      if (!isConnectionError(error) && 'attrs' in outcome && kindOfMode(outcome.attrs.mode) === 'directory') {
        throw new RemoteFsError('EISDIR', 'Is a folder', { path });
      }
      throw error;
    });
  }

  /**
   * Whether a read of a regular file of `size` bytes, or a save of that many, goes to the reader thread
   * (when it is ready). Beyond the read limit a read fails anyway, and a save's copy for the thread
   * would be as large again.
   */
  private threadTakes(size: number): boolean {
    return size >= THREAD_MIN_BYTES && size <= this.options.maxReadFileBytes;
  }

  /**
   * A large read of a regular file through the reader thread, when it is ready (the first one starts
   * it). Undefined when the read is to be made here: small, no thread, or the thread could not read it
   * (whatever the reason, this connection then reads it and reports what it finds).
   */
  private async readInThread(path: string, size: number): Promise<Uint8Array | undefined> {
    if (!this.threadTakes(size)) {
      return undefined;
    }
    const thread = this.source.readerThread?.();
    if (thread === undefined) {
      return undefined;
    }
    try {
      const data = await thread.read(path, size);
      this.logger.debug(`Read ${path} (${data.length} bytes) in the reader thread`);
      return data;
    } catch (error) {
      this.logger.debug(`The reader thread did not read ${path} (${errorMessage(error)}); reading it here`);
      return undefined;
    }
  }

  /**
   * Whether a read of `bytes` is striped over extra channels: on a line with a round trip long enough
   * that one channel's window bounds the speed (on loopback extra channels only compete for the CPU).
   */
  private stripesReadOf(session: SftpSession, bytes: number): boolean {
    const slowLink = (session.roundTripMs ?? 0) >= STRIPED_READ_MIN_ROUND_TRIP_MS;
    return slowLink && bytes >= STRIPE_THRESHOLD && bytes <= this.options.maxReadFileBytes;
  }

  /** Opens the extra channels large transfers are striped over ahead of the first one. */
  openTransferLanes(): void {
    void this.lanesFor(STRIPE_THRESHOLD);
  }

  /**
   * The extra channels a transfer of `bytes` is striped over: none for small ones. At once when they
   * are open, a promise while they are being opened.
   */
  private lanesFor(bytes: number): readonly SftpSession[] | Promise<readonly SftpSession[]> {
    if (bytes < STRIPE_THRESHOLD) {
      return [];
    }
    return this.source.transferLanes?.(EXTRA_TRANSFER_LANES) ?? [];
  }

  async writeFile(rawPath: string, content: Uint8Array, options: WriteOptions): Promise<void> {
    await this.save(rawPath, content, options);
  }

  /**
   * writeFile, saying what it saved (the reader thread's program tells the other side). `arriving`:
   * the content's bytes are in place only as it says (the thread's save starts while the other side
   * still copies them in): no byte is written before it is there.
   */
  async save(
    rawPath: string,
    content: Uint8Array,
    options: WriteOptions,
    arriving?: ArrivingContent,
  ): Promise<Saved> {
    const path = normalizeRemotePath(rawPath);
    const inThread = await this.saveInThread(path, content, options);
    if (inThread !== undefined) {
      return inThread;
    }
    // An atomic save can be repeated: the original is untouched until the final rename, and repeating
    // a rename that happened leaves the same content. Only "must not exist yet" cannot be repeated.
    if (options.overwrite) {
      return this.retryingOnDrop('writeFile', path, (session) =>
        this.writeFileOn(session, path, content, options, arriving),
      );
    }
    return this.writeFileOn(await this.session(path), path, content, options, arriving);
  }

  /**
   * A large save through the reader thread, when it is ready and the save is one the thread makes:
   * one that may overwrite (so that a save cut there can be made again here, as a dropped one is),
   * of a file not known to need saving in place. Undefined when it is to be saved here: whatever the
   * thread's failure, this connection then saves it and reports what it finds.
   */
  private async saveInThread(
    path: string,
    content: Uint8Array,
    options: WriteOptions,
  ): Promise<Saved | undefined> {
    if (!options.overwrite || !this.threadTakes(content.length) || this.savedHere.has(path)) {
      return undefined;
    }
    const thread = this.source.readerThread?.();
    if (thread === undefined) {
      return undefined;
    }
    // Connected (the thread is): what was left to clear up is, and the server's extensions are known.
    const session = await this.session(path);
    const known = this.attributes.get(path);
    if (known !== undefined) {
      const regular = kindOfMode(known.own.mode) === 'file';
      const inPlace =
        regular &&
        reasonAgainstRename({
          existing: known.own,
          posixRename: session.hasExtension('posix-rename@openssh.com'),
          identity: this.facts.identity(),
          links: known.links,
        }) !== undefined;
      // A link is resolved here, where what is known about it is; a file saved in place stays here.
      if (!regular || inPlace) {
        return undefined;
      }
    } else if (!session.hasExtension('posix-rename@openssh.com')) {
      return undefined; // every file is saved in place
    }
    this.changedFiles(path);
    try {
      const saved = await thread.write(path, content, options);
      this.changedFiles(path, saved.target);
      if (saved.attrs !== undefined) {
        // VS Code stats the file right after saving: that stat is answered from the save itself.
        this.remember(path, { own: saved.attrs });
      }
      this.logger.debug(`Saved ${path} (${content.length} bytes) in the reader thread`);
      return saved;
    } catch (error) {
      if (error instanceof InPlaceRefused) {
        this.savedHere.add(path);
      }
      this.logger.debug(`The reader thread did not save ${path} (${errorMessage(error)}); saving it here`);
      return undefined;
    }
  }

  private async writeFileOn(
    session: SftpSession,
    path: string,
    content: Uint8Array,
    options: WriteOptions,
    arriving: ArrivingContent | undefined,
  ): Promise<Saved> {
    const known = this.attributes.get(path);
    // Saves go through symlinks to their target, as a local editor's would.
    const inspected = resolveLinks(session, path, (p) => this.lstatKnown(session, p)).then(
      ({ path: target, attrs: existing }) => {
        checkSavePreconditions(path, existing, options);
        return { target, existing };
      },
    );
    this.changedFiles(path);
    const links = known?.links === undefined ? {} : { links: known.links };
    let saved: { target: string; written: Attributes | undefined };
    if (known !== undefined) {
      saved = await this.replaceWith(session, content, arriving, { ...(await inspected), ...links });
    } else {
      // Nothing known about the path: the temporary is created beside it while the LSTAT is on its
      // way (a save that need not wait for it is one round trip shorter). A link turns out to point
      // elsewhere only rarely; the save then starts over beside the link's target.
      try {
        saved = await this.replaceWith(session, content, arriving, {
          target: path,
          existing: inspected.then(({ target, existing }) => {
            if (target !== path) {
              throw new SaveElsewhere();
            }
            return existing;
          }),
        });
      } catch (error) {
        if (!(error instanceof SaveElsewhere)) {
          throw error;
        }
        saved = await this.replaceWith(session, content, arriving, await inspected);
      }
    }
    this.changedFiles(path, saved.target);
    if (saved.written === undefined || path !== saved.target) {
      return { target: saved.target, attrs: undefined }; // a link's own attributes are not the saved file's
    }
    // VS Code stats the file right after saving: that stat is answered from the save itself.
    this.remember(path, { own: saved.written });
    return { target: saved.target, attrs: saved.written };
  }

  private async replaceWith(
    session: SftpSession,
    content: Uint8Array,
    arriving: ArrivingContent | undefined,
    plan: Pick<SaveRequest, 'target' | 'existing' | 'links'>,
  ): Promise<{ target: string; written: Attributes | undefined }> {
    const written = await saveFile(this.saveContext(session), {
      ...plan,
      size: content.length,
      // Lanes still being opened join the upload when they come; the main channel does not wait.
      // Only a temporary's fill may wait for content still arriving: a file written in place is never
      // saved where the content arrives later.
      fill: (handle, into) =>
        arriving === undefined
          ? writeWholeFile(session, handle, into, content, this.lanesFor(content.length))
          : Promise.reject(new Error('a file written in place cannot wait for its content')),
      // Each WRITE waits for its own bytes. The save waits for the fill to settle before it closes
      // the temporary, whatever failed meanwhile: no WRITE follows the CLOSE (replaceByRename).
      startFill: (into, { flush }) =>
        startStripedUpload({
          session,
          path: into,
          data: content,
          lanes: this.lanesFor(content.length),
          flush,
          ...(arriving === undefined ? {} : { contentReady: (end: number) => arriving.until(end) }),
        }),
    });
    return { target: plan.target, written };
  }

  async createDirectory(rawPath: string): Promise<void> {
    const path = normalizeRemotePath(rawPath);
    const session = await this.session(path);
    this.changed(path);
    try {
      await session.mkdir(path);
    } catch (error) {
      throw await explainCreateFailure(session, error, path);
    }
  }

  async delete(rawPath: string, options: { recursive: boolean } & TreeOperationOptions): Promise<void> {
    const path = normalizeRemotePath(rawPath);
    if (path === '/') {
      throw new RemoteFsError('EINVAL', 'Refusing to delete the root folder', { path });
    }
    const session = await this.session(path);
    this.changed(path);
    const attrs = await session.lstat(path);
    if (kindOfMode(attrs.mode) !== 'directory') {
      // Files and links alike: a link to a folder is removed, never followed.
      await session.unlink(path);
      return;
    }
    if (options.recursive) {
      await removeTree(session, path, options);
      return;
    }
    await removeEmptyFolder(session, path);
  }

  async rename(rawFrom: string, rawTo: string, options: { overwrite: boolean }): Promise<void> {
    const from = normalizeRemotePath(rawFrom);
    const to = normalizeRemotePath(rawTo);
    const session = await this.session(from);
    this.changed(from, to);
    await session.lstat(from);
    if (from === to) {
      return;
    }
    if (isSameOrInside(from, to)) {
      throw new RemoteFsError('EINVAL', `Cannot move a folder into itself (${to})`, { path: from });
    }
    let targetAttrs = await lstatOrUndefined(session, to);
    if (targetAttrs !== undefined && (await isSameEntryDifferentCase(session, from, to))) {
      // A case-only rename on a case-insensitive server: the "existing target" is the source itself.
      targetAttrs = undefined;
    }
    if (targetAttrs !== undefined && !options.overwrite) {
      throw new RemoteFsError('EEXIST', 'Target already exists', { path: to });
    }
    try {
      if (targetAttrs === undefined) {
        // Plain RENAME never replaces on OpenSSH, so a target created meanwhile is not clobbered.
        await session.rename(from, to);
      } else if (kindOfMode(targetAttrs.mode) === 'directory') {
        await removeTree(session, to);
        await session.rename(from, to);
      } else if (session.hasExtension('posix-rename@openssh.com')) {
        await session.posixRename(from, to);
      } else {
        await session.unlink(to);
        await session.rename(from, to);
      }
    } catch (error) {
      throw await explainCreateFailure(session, error, to);
    }
  }

  async copy(
    rawFrom: string,
    rawTo: string,
    options: { overwrite: boolean } & TreeOperationOptions,
  ): Promise<void> {
    const from = normalizeRemotePath(rawFrom);
    const to = normalizeRemotePath(rawTo);
    const session = await this.session(from);
    this.changed(to);
    await this.copier.copyInto(session, { source: session, from, to }, options);
  }

  /**
   * Copies `from` on another host's file system to `to` on this one. Files are streamed between the
   * two connections (never held whole) and put in place like saves; a folder is built under a
   * temporary name and renamed into place once complete. Each file's size is checked against its
   * source's at the end, so a copy reported done is whole.
   */
  async copyFrom(
    origin: RemoteFileSystem,
    rawFrom: string,
    rawTo: string,
    options: { overwrite: boolean } & TreeOperationOptions,
  ): Promise<void> {
    const from = normalizeRemotePath(rawFrom);
    const to = normalizeRemotePath(rawTo);
    const source = await origin.session(from);
    const session = await this.session(to);
    this.changed(to);
    await this.copier.copyInto(session, { source, from, to }, options);
  }

  /**
   * Moves `from` on another host's file system to `to` on this one: a verified copy (see copyFrom),
   * and only then the source is deleted. A failed or cancelled copy leaves the source as it was.
   */
  async moveFrom(
    origin: RemoteFileSystem,
    rawFrom: string,
    rawTo: string,
    options: { overwrite: boolean } & TreeOperationOptions,
  ): Promise<void> {
    await this.copyFrom(origin, rawFrom, rawTo, options);
    // Not cancellable: the copy is complete, and a half-deleted source helps nobody.
    await origin.delete(rawFrom, { recursive: true });
  }

  private async explainNotAFolder(session: SftpSession, error: unknown, path: string): Promise<unknown> {
    // opendir() on a file fails with ENOTDIR, which OpenSSH reports as NO_SUCH_FILE.
    if (
      error instanceof RemoteFsError &&
      !isConnectionError(error) &&
      (error.code === 'ENOENT' || error.code === 'EFAILURE')
    ) {
      const attrs = await statOrUndefined(session, path).catch(() => undefined);
      if (attrs !== undefined && kindOfMode(attrs.mode) !== 'directory') {
        return withCode(error, 'ENOTDIR', 'Not a folder', path);
      }
    }
    return error;
  }
}

/** A save started beside a path that turned out to be a link: it belongs beside the link's target. */
class SaveElsewhere extends Error {}

async function isSameEntryDifferentCase(session: SftpSession, from: string, to: string): Promise<boolean> {
  if (from.toLowerCase() !== to.toLowerCase()) {
    return false;
  }
  const siblings = await session.readdir(parentOf(to));
  return !siblings.some((entry) => entry.filename === baseName(to));
}
