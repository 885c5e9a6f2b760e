import type { Attributes } from 'ssh2';

import {
  RemoteFsError,
  aboutPath,
  errorMessage,
  isConnectionError,
  isRemoteFsError,
  throwIfCancelled,
  withCode,
} from '../common/errors';
import { Limiter, forEachBounded } from '../common/limiter';
import type { Logger } from '../common/logger';
import {
  baseName,
  isSafeEntryName,
  isSameOrInside,
  joinRemote,
  normalizeRemotePath,
  parentOf,
} from '../common/remotePath';
import { kindOfMode, specialKindName } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';
import { readWholeFile, streamCopyBetween, writeWholeFile } from '../sftp/transfer';
import { AttributeCache, type KnownAttributes } from './attributeCache';
import type { Backup, SaveContext, SaveRequest } from './save/saveContext';
import { saveFile } from './save/saveFile';
import type { Identity } from './save/savePlan';
import { certainlyNotWritable, primaryIdentity, type LoginUser, type ReportedIdentity } from './permissions';
import { temporarySiblingOf } from './save/temporaries';
import { restoreBackup } from './save/writeInPlace';
import type { EntryStat, EntryType, WriteOptions } from './entryType';
import { explainCreateFailure, lstatOrUndefined } from './refine';

/** How many link targets are resolved, or tree entries removed or copied, at once. */
const TREE_CONCURRENCY = 16;
/** OpenSSH's own limit on symlink hops (SYMLOOP_MAX is 40 on Linux). */
const MAX_LINK_HOPS = 40;
/**
 * Recursive deletes and copies stop below this depth. No real tree is deeper (PATH_MAX is 4096 bytes,
 * so 2048 one-letter folders); a server that shows a folder inside every folder would otherwise lead
 * the walk on forever.
 */
const MAX_TREE_DEPTH = 2048;

function tooDeep(path: string): RemoteFsError {
  return new RemoteFsError(
    'EPROTO',
    `The server shows folders nested more than ${MAX_TREE_DEPTH} levels deep; stopped there`,
    { path },
  );
}

/** A copy's source: a session (this host's, or another's) and a path there; and where it goes here. */
interface Copying {
  readonly source: SftpSession;
  readonly from: string;
  readonly to: string;
}

/** For recursive deletes and folder copies, which can take long. */
export interface TreeOperationOptions {
  /** Stops between entries with ECANCELED. A cancelled copy leaves nothing; a delete stops where it is. */
  readonly signal?: AbortSignal;
  /** Called after each entry removed or copied. */
  readonly onEntry?: () => void;
}

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
  transferLanes?(count: number): Promise<SftpSession[]>;
  /** The name the account logs in with, once connected. */
  userName?(): string | undefined;
  /** The account's uid and groups as the server's `id` tells them (undefined without a shell). */
  identity?(): Promise<ReportedIdentity | undefined>;
}

/** Removing a temporary left by an interrupted save is tried this often before it is left alone. */
const ORPHAN_REMOVAL_ATTEMPTS = 3;

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
  /**
   * Temporaries of cut saves and copies, removed as soon as the server can be reached again, with how
   * many more times removing one may fail for another reason than a lost connection.
   */
  private readonly orphans = new Map<string, number>();
  private readonly rememberOrphan = (temporary: string): void => {
    this.orphans.set(temporary, ORPHAN_REMOVAL_ATTEMPTS);
  };

  /**
   * Originals of files being overwritten in place, by path: while one is here the write has not
   * completed, and if the connection dropped, the original is put back as soon as it is back.
   */
  private readonly protectedSaves = new Map<string, Backup>();
  /** The login user (the same on every connection to this host), learned from the first file a save created. */
  private identity: Identity | undefined;
  /** The login user as `id` on the server told, where the account has a shell. */
  private reportedIdentity: ReportedIdentity | undefined;
  /** Per session: whether the server refuses every write (a read-only mount or server). */
  private readonly writesRefused = new WeakMap<SftpSession, Promise<boolean>>();

  private readonly attributes: AttributeCache;

  constructor(
    private readonly source: SessionSource,
    private readonly logger: Logger,
    private readonly options: RemoteFileSystemOptions,
    /** Told what the user should know about a call that succeeded (a save that was not atomic). */
    private readonly notify: (notice: FileSystemNotice) => void = () => undefined,
  ) {
    this.attributes = new AttributeCache(options.attributeLifetimeMs ?? 1000);
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
    if (!this.writesRefused.has(session)) {
      this.learnAbout(session);
    }
    if (this.protectedSaves.size > 0) {
      await this.restoreInterruptedSaves(session);
    }
    if (this.orphans.size > 0) {
      await this.removeOrphans(session);
    }
    return session;
  }

  /** Puts back the originals of in-place saves a dropped connection cut short, then drops their copies. */
  private async restoreInterruptedSaves(session: SftpSession): Promise<void> {
    const interrupted = [...this.protectedSaves.values()];
    this.protectedSaves.clear();
    await forEachBounded(interrupted, TREE_CONCURRENCY, async (backup) => {
      try {
        await session.withFile(backup.target, 'r+', {}, (handle) => restoreBackup(session, handle, backup));
        this.attributes.forget(backup.target);
        this.logger.info(`Put back the original content of ${backup.target}: its save was cut off`);
        if (backup.path !== undefined) {
          this.rememberOrphan(backup.path);
        }
      } catch (error) {
        if (session.stoppedBy(error)) {
          this.protectedSaves.set(backup.target, backup);
          return;
        }
        const kept = backup.path === undefined ? '' : `; its original content is kept in ${backup.path}`;
        this.logger.error(
          `Could not put back the original content of ${backup.target} after its save was cut off${kept}: ${errorMessage(error)}`,
        );
      }
    });
  }

  /**
   * Asked once per session, in the background (the first stat waits only for what it needs): whether
   * the server refuses writes, and who the login user is.
   */
  private learnAbout(session: SftpSession): void {
    this.writesRefused.set(session, serverRefusesWrites(session, this.logger));
    void this.source.identity?.().then((identity) => {
      if (identity !== undefined) {
        this.reportedIdentity = identity;
      }
    });
  }

  /** What is known of the login user, for read-only marks. */
  private loginUser(): LoginUser {
    const reported = this.reportedIdentity;
    const learned = this.identity;
    return {
      name: this.source.userName?.(),
      uid: reported?.uid ?? learned?.uid,
      groups: reported?.groups ?? (learned === undefined ? undefined : [learned.gid]),
    };
  }

  /** The stat of `known`, with the read-only mark where the user certainly cannot write it. */
  private async describeFor(session: SftpSession, known: KnownAttributes): Promise<EntryStat> {
    const stat = describe(known);
    const attrs = known.target ?? known.own;
    const notWritable =
      (await this.writesRefused.get(session)) === true || certainlyNotWritable(attrs, this.loginUser());
    return notWritable ? { ...stat, notWritable } : stat;
  }

  /** What a save on `session` needs from this file system. */
  private saveContext(session: SftpSession): SaveContext {
    return {
      session,
      logger: this.logger,
      identity: () => this.identity ?? primaryIdentity(this.reportedIdentity),
      learnIdentity: (identity) => (this.identity = identity),
      onOrphan: this.rememberOrphan,
      protect: (backup) => {
        this.protectedSaves.set(backup.target, backup);
        return () => {
          if (this.protectedSaves.get(backup.target) === backup) {
            this.protectedSaves.delete(backup.target);
          }
        };
      },
      onUnprotected: (path) => this.notify({ path, reason: 'unprotected' }),
      maxBackupInMemoryBytes: this.options.maxReadFileBytes,
    };
  }

  private async removeOrphans(session: SftpSession): Promise<void> {
    const orphans = [...this.orphans];
    this.orphans.clear();
    await forEachBounded(orphans, TREE_CONCURRENCY, async ([temporary, attemptsLeft]) => {
      try {
        const attrs = await session.lstat(temporary);
        if (kindOfMode(attrs.mode) === 'directory') {
          await removeTree(session, temporary);
        } else {
          await session.unlink(temporary);
        }
        this.logger.info(`Removed the temporary of an interrupted save or copy: ${temporary}`);
      } catch (error) {
        if (isRemoteFsError(error, 'ENOENT')) {
          return; // already gone
        }
        if (session.stoppedBy(error)) {
          this.orphans.set(temporary, attemptsLeft);
        } else if (attemptsLeft > 1) {
          this.orphans.set(temporary, attemptsLeft - 1);
        } else {
          this.logger.warn(`Could not remove the temporary ${temporary}; leaving it: ${errorMessage(error)}`);
        }
      }
    });
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
    return this.retryingOnDrop('stat', path, (session) => this.statOn(session, path));
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
    this.attributes.set(path, value);
    return this.describeFor(session, value);
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
        this.attributes.set(joinRemote(path, entry.filename), known);
      }
      result.push({ name: entry.filename, stat: describe(known) });
    }
    // READDIR attributes come from lstat: resolve links so a link to a folder can be expanded.
    await forEachBounded(links, TREE_CONCURRENCY, async ({ name, own, index }) => {
      const child = joinRemote(path, name);
      const known = { own, target: (await statOrUndefined(session, child)) ?? null };
      result[index] = { name, stat: describe(known) };
      this.attributes.set(child, known);
    });
    return result;
  }

  async readFile(rawPath: string): Promise<Uint8Array> {
    const path = normalizeRemotePath(rawPath);
    return this.retryingOnDrop('readFile', path, (session) => this.readFileOn(session, path));
  }

  private readFileOn(session: SftpSession, path: string): Promise<Uint8Array> {
    // VS Code stats a file before reading it: a special file is refused before its OPEN blocks the server.
    const known = this.attributes.get(path);
    refuseSpecialFile(path, known?.target ?? known?.own, 'opened');
    // STAT goes out in the same flight as OPEN: the size for the buffer costs no extra round trip.
    const statResult = session.stat(path).then(
      (attrs) => ({ attrs }),
      (error: unknown) => ({ error }),
    );
    return session.withFile(path, 'r', {}, async (handle) => {
      const outcome = await statResult;
      const attrs = 'attrs' in outcome ? outcome.attrs : await session.fstat(handle, path);
      if (kindOfMode(attrs.mode) === 'directory') {
        throw new RemoteFsError('EISDIR', 'Is a folder', { path });
      }
      const size = attrs.size ?? 0;
      const roundTrip = session.roundTripMs ?? 0;
      const slowLink = roundTrip >= STRIPED_READ_MIN_ROUND_TRIP_MS;
      const lanes = slowLink && size <= this.options.maxReadFileBytes ? await this.lanesFor(size) : [];
      if (lanes.length > 0) {
        this.logger.debug(
          `Reading ${path} (${size} bytes) over ${1 + lanes.length} SFTP channels (round trip ${roundTrip.toFixed(1)} ms)`,
        );
      }
      return readWholeFile(session, handle, path, size, this.options.maxReadFileBytes, lanes);
    });
  }

  /** The extra channels a transfer of `bytes` is striped over: none for small ones. */
  private async lanesFor(bytes: number): Promise<readonly SftpSession[]> {
    if (bytes < STRIPE_THRESHOLD) {
      return [];
    }
    return (await this.source.transferLanes?.(EXTRA_TRANSFER_LANES)) ?? [];
  }

  async writeFile(rawPath: string, content: Uint8Array, options: WriteOptions): Promise<void> {
    const path = normalizeRemotePath(rawPath);
    // An atomic save can be repeated: the original is untouched until the final rename, and repeating
    // a rename that happened leaves the same content. Only "must not exist yet" cannot be repeated.
    if (options.overwrite) {
      return this.retryingOnDrop('writeFile', path, (session) =>
        this.writeFileOn(session, path, content, options),
      );
    }
    return this.writeFileOn(await this.session(path), path, content, options);
  }

  private async writeFileOn(
    session: SftpSession,
    path: string,
    content: Uint8Array,
    options: WriteOptions,
  ): Promise<void> {
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
      saved = await this.replaceWith(session, content, { ...(await inspected), ...links });
    } else {
      // Nothing known about the path: the temporary is created beside it while the LSTAT is on its
      // way (a save that need not wait for it is one round trip shorter). A link turns out to point
      // elsewhere only rarely; the save then starts over beside the link's target.
      try {
        saved = await this.replaceWith(session, content, {
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
        saved = await this.replaceWith(session, content, await inspected);
      }
    }
    this.changedFiles(path, saved.target);
    if (saved.written !== undefined && path === saved.target) {
      // VS Code stats the file right after saving: that stat is answered from the save itself.
      this.attributes.set(path, { own: saved.written });
    }
  }

  private async replaceWith(
    session: SftpSession,
    content: Uint8Array,
    plan: Pick<SaveRequest, 'target' | 'existing' | 'links'>,
  ): Promise<{ target: string; written: Attributes | undefined }> {
    const written = await saveFile(this.saveContext(session), {
      ...plan,
      size: content.length,
      fill: async (handle, into) => {
        const lanes = await this.lanesFor(content.length);
        return writeWholeFile(session, handle, into, content, lanes);
      },
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
    await this.copyInto(session, { source: session, from, to }, options);
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
    await this.copyInto(await this.session(to), { source, from, to }, options);
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

  /** The copy itself, from `copying.source` (this host's session, or another host's) to `session`. */
  private async copyInto(
    session: SftpSession,
    copying: Copying,
    options: { overwrite: boolean } & TreeOperationOptions,
  ): Promise<void> {
    const { from, to } = copying;
    const sameSession = copying.source === session;
    this.changed(to);
    // Like cp: the top-level source is followed if it is a link; links inside folders stay links.
    const source = await copying.source.stat(from);
    if (sameSession && from === to) {
      if (!options.overwrite) {
        throw new RemoteFsError('EEXIST', 'Target already exists', { path: to });
      }
      return;
    }
    if (sameSession && kindOfMode(source.mode) === 'directory' && isSameOrInside(from, to)) {
      throw new RemoteFsError('EINVAL', `Cannot copy a folder into itself (${to})`, { path: from });
    }
    const target = await lstatOrUndefined(session, to);
    if (target !== undefined && !options.overwrite) {
      throw new RemoteFsError('EEXIST', 'Target already exists', { path: to });
    }
    if (target !== undefined && kindOfMode(target.mode) === 'directory') {
      await removeTree(session, to);
    }
    const existing = target !== undefined && kindOfMode(target.mode) !== 'directory' ? target : undefined;
    if (kindOfMode(source.mode) === 'directory') {
      await this.copyTreeIntoPlace(session, copying, source, options);
    } else {
      refuseSpecialFile(from, source, 'opened');
      await this.copyFile(session, copying, source, existing, options.signal);
    }
  }

  /**
   * Copies a file's content to `to` like a save: a new file gets the source's mode; an existing one
   * keeps its own owner, group, mode and links. The source is opened only while the content is written.
   */
  private async copyFile(
    session: SftpSession,
    { source: sourceSession, from, to }: Copying,
    source: Attributes,
    existing: Attributes | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const serverSide = sourceSession === session && session.hasExtension('copy-data');
    await saveFile(this.saveContext(session), {
      target: to,
      existing,
      ...(source.size === undefined ? {} : { size: source.size }),
      permissions: (source.mode ?? 0o644) & 0o7777,
      fill: (targetHandle, into) =>
        sourceSession.withFile(
          from,
          'r',
          {},
          async (sourceHandle) => {
            if (serverSide) {
              // The server copies; no file data crosses the network.
              await session.copyData(sourceHandle, targetHandle, into);
              // The source's length, not the target's: a file written in place is cut to it afterwards.
              return { bytes: (await session.fstat(sourceHandle, from)).size ?? 0 };
            }
            const bytes = await streamCopyBetween(
              { session: sourceSession, handle: sourceHandle, path: from },
              { session, handle: targetHandle, path: into },
              signal,
            );
            const now = (await sourceSession.fstat(sourceHandle, from)).size;
            if (now !== undefined && now !== bytes) {
              throw new RemoteFsError(
                'EFAILURE',
                `The file changed while it was copied (${bytes} bytes copied, now ${now}); not put in place`,
                { path: from },
              );
            }
            return { bytes };
          },
          true,
        ),
    });
  }

  /**
   * Copies a folder into a temporary sibling and renames it into place once complete: a copy cut
   * halfway leaves no partial folder under the name the user asked for (and can simply be repeated).
   */
  private async copyTreeIntoPlace(
    session: SftpSession,
    copying: Copying,
    source: Attributes,
    control: TreeOperationOptions,
  ): Promise<void> {
    const { to } = copying;
    const temporary = temporarySiblingOf(to);
    try {
      await this.copyTree(session, { ...copying, to: temporary }, source, 0, control);
      await session.rename(temporary, to);
    } catch (error) {
      if (session.stoppedBy(error)) {
        this.rememberOrphan(temporary);
      } else {
        await removeTree(session, temporary).catch(() => undefined);
      }
      throw error instanceof RemoteFsError && error.path === temporary
        ? withCode(error, error.code, `${error.summary} while copying`, to)
        : error;
    }
  }

  private async copyTree(
    session: SftpSession,
    copying: Copying,
    source: Attributes,
    depth: number,
    control: TreeOperationOptions,
  ): Promise<void> {
    const { source: sourceSession, from, to } = copying;
    if (depth > MAX_TREE_DEPTH) {
      throw tooDeep(from);
    }
    throwIfCancelled(control.signal);
    try {
      await session.mkdir(to, { mode: (source.mode ?? 0o755) & 0o7777 });
    } catch (error) {
      throw await explainCreateFailure(session, error, to);
    }
    control.onEntry?.();
    const entries = (await sourceSession.readdir(from)).filter((entry) => {
      const safe = isSafeEntryName(entry.filename);
      if (!safe && entry.filename !== '.' && entry.filename !== '..') {
        this.logger.warn(
          `Not copying an entry with an unsafe name in ${from}: ${JSON.stringify(entry.filename)}`,
        );
      }
      return safe;
    });
    await forEachBounded(entries, TREE_CONCURRENCY, async (entry) => {
      const child: Copying = {
        source: sourceSession,
        from: joinRemote(from, entry.filename),
        to: joinRemote(to, entry.filename),
      };
      switch (kindOfMode(entry.attrs.mode)) {
        case 'directory':
          return this.copyTree(session, child, entry.attrs, depth + 1, control);
        case 'symlink':
          throwIfCancelled(control.signal);
          await session.symlink(await sourceSession.readlink(child.from), child.to);
          return control.onEntry?.();
        case 'file':
          throwIfCancelled(control.signal);
          await this.copyFile(session, child, entry.attrs, undefined, control.signal);
          return control.onEntry?.();
        default:
          this.logger.warn(`Not copying ${child.from}: it is neither a file, a folder nor a link`);
      }
    });
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

/**
 * Whether the server refuses every write: the home folder's filesystem is mounted read-only, or
 * OpenSSH's sftp-server runs read-only (`-R`). The latter refuses every request that could write
 * before looking at it, so a SETSTAT that changes nothing is refused there and answered OK otherwise.
 * It is asked only of servers offering OpenSSH's extensions (limits@openssh.com is offered read-only
 * too, the write extensions are not), whose answer is known.
 */
async function serverRefusesWrites(session: SftpSession, logger: Logger): Promise<boolean> {
  const noChange = session.hasExtension('limits@openssh.com')
    ? session.setstat('.', {}).then(
        () => false,
        (error: unknown) => isRemoteFsError(error, 'EACCES'),
      )
    : Promise.resolve(false);
  const readOnlyMount = session.isReadOnlyFilesystem('.').catch(() => undefined);
  const [refused, mounted] = await Promise.all([noChange, readOnlyMount]);
  if (refused || mounted === true) {
    logger.info(
      `The server refuses writes (${mounted === true ? 'a read-only filesystem' : 'a read-only SFTP server'}): every file is shown read-only`,
    );
  }
  return refused || mounted === true;
}

function plainKind(attrs: Attributes): EntryType['kind'] {
  const kind = kindOfMode(attrs.mode);
  return kind === 'directory' ? 'directory' : kind === 'file' ? 'file' : 'unknown';
}

function describe(known: KnownAttributes): EntryStat {
  if (kindOfMode(known.own.mode) !== 'symlink') {
    return toEntryStat(known.own, false);
  }
  // A broken link has no target type; it still exists, so it is reported rather than hidden.
  return known.target === null || known.target === undefined
    ? toEntryStat(known.own, true, 'unknown')
    : toEntryStat(known.target, true);
}

function toEntryStat(
  attrs: Attributes,
  symlink: boolean,
  kind: EntryType['kind'] = plainKind(attrs),
): EntryStat {
  const mtimeMs = typeof attrs.mtime === 'number' ? attrs.mtime * 1000 : 0;
  const size =
    typeof attrs.size === 'number' && Number.isFinite(attrs.size) && attrs.size >= 0 ? attrs.size : 0;
  return { type: { kind, symlink }, size, mtimeMs, ctimeMs: mtimeMs };
}

/** stat that answers `undefined` for a broken link or a loop instead of throwing. */
async function statOrUndefined(session: SftpSession, path: string): Promise<Attributes | undefined> {
  try {
    return await session.stat(path);
  } catch (error) {
    if (error instanceof RemoteFsError && !isConnectionError(error)) {
      return undefined;
    }
    throw error;
  }
}

/** What VS Code's writeFile options and the current entry allow; throws the error VS Code expects. */
function checkSavePreconditions(path: string, existing: Attributes | undefined, options: WriteOptions): void {
  if (existing !== undefined && kindOfMode(existing.mode) === 'directory') {
    throw new RemoteFsError('EISDIR', 'Cannot write to a folder', { path });
  }
  refuseSpecialFile(path, existing, 'saved');
  if (existing === undefined && !options.create) {
    throw new RemoteFsError('ENOENT', 'No such file', { path });
  }
  if (existing !== undefined && options.create && !options.overwrite) {
    throw new RemoteFsError('EEXIST', 'File already exists', { path });
  }
}

/**
 * FIFOs, sockets and devices are not files to edit: opening a FIFO blocks OpenSSH's SFTP server, which
 * handles one request at a time, until someone writes to it, and every other request waits behind it.
 */
function refuseSpecialFile(path: string, attrs: Attributes | undefined, action: 'opened' | 'saved'): void {
  const special = specialKindName(attrs?.mode);
  if (special !== undefined) {
    throw new RemoteFsError('EUNSUPPORTED', `This is ${special}, which cannot be ${action} as a file`, {
      path,
    });
  }
}

/** A save started beside a path that turned out to be a link: it belongs beside the link's target. */
class SaveElsewhere extends Error {}

/**
 * Follows symlinks from `path` to the final target, which may not exist yet (a save through a broken
 * link creates its target, as locally). Answers the target's path and attributes.
 */
async function resolveLinks(
  session: SftpSession,
  path: string,
  lstat: (path: string) => Promise<Attributes | undefined>,
): Promise<{ path: string; attrs: Attributes | undefined }> {
  let current = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    const attrs = await lstat(current);
    if (attrs === undefined || kindOfMode(attrs.mode) !== 'symlink') {
      return { path: current, attrs };
    }
    current = await whereLinkLeads(session, current, await session.readlink(current));
  }
  throw new RemoteFsError('EINVAL', 'Too many levels of symbolic links', { path });
}

/**
 * The path a link's target names, resolved by the server. Text cannot do it: in `/srv/site/a ->
 * ../common/a`, `..` leaves the folder `/srv/site` really is (itself perhaps a link to `/var/www/site`),
 * not the string. So the folder part of the target is given to REALPATH as it stands, and only the
 * last name, which may not exist yet, is joined.
 */
async function whereLinkLeads(session: SftpSession, link: string, target: string): Promise<string> {
  if (target.includes('\0') || target.length === 0) {
    throw new RemoteFsError('EPROTO', 'The server answered an empty or malformed link target', {
      path: link,
    });
  }
  const spelled = target.startsWith('/') ? target : `${parentOf(link)}/${target}`;
  const name = baseName(spelled);
  if (name === '' || name === '.' || name === '..' || spelled.endsWith('/')) {
    // A link to a folder: the save fails on it as a folder, wherever it is.
    return normalizeRemotePath(await session.realpath(spelled));
  }
  const folder = normalizeRemotePath(await session.realpath(spelled.slice(0, -name.length - 1) || '/'));
  return joinRemote(folder, name);
}

async function isSameEntryDifferentCase(session: SftpSession, from: string, to: string): Promise<boolean> {
  if (from.toLowerCase() !== to.toLowerCase()) {
    return false;
  }
  const siblings = await session.readdir(parentOf(to));
  return !siblings.some((entry) => entry.filename === baseName(to));
}

async function removeEmptyFolder(session: SftpSession, path: string): Promise<void> {
  try {
    await session.rmdir(path);
  } catch (error) {
    if (error instanceof RemoteFsError && error.code === 'EFAILURE') {
      const children = await session.readdir(path).catch(() => []);
      if (children.some((entry) => entry.filename !== '.' && entry.filename !== '..')) {
        throw withCode(error, 'ENOTEMPTY', 'Folder is not empty', path);
      }
    }
    throw error;
  }
}

/** Depth-first removal with bounded parallelism. Links are removed, never followed. */
async function removeTree(
  session: SftpSession,
  folder: string,
  control: TreeOperationOptions = {},
): Promise<void> {
  const removals = new Limiter(TREE_CONCURRENCY);
  const walk = async (path: string, depth: number): Promise<void> => {
    if (depth > MAX_TREE_DEPTH) {
      throw tooDeep(path);
    }
    throwIfCancelled(control.signal);
    const entries = await removals.run(() => session.readdir(path));
    await forEachBounded(entries, TREE_CONCURRENCY, async (entry) => {
      if (!isSafeEntryName(entry.filename)) {
        return;
      }
      const child = joinRemote(path, entry.filename);
      if (kindOfMode(entry.attrs.mode) === 'directory') {
        await walk(child, depth + 1);
      } else {
        throwIfCancelled(control.signal);
        await removals.run(() => session.unlink(child));
        control.onEntry?.();
      }
    });
    throwIfCancelled(control.signal);
    await removals.run(() => session.rmdir(path));
    control.onEntry?.();
  };
  await walk(folder, 0);
}
