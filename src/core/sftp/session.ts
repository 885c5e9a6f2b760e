import type { Attributes, FileEntry, InputAttributes, SFTPWrapper } from 'ssh2';

import { RemoteFsError } from '../common/errors';
import { Limiter } from '../common/limiter';
import type { Logger } from '../common/logger';
import { readServerExtensions, readServerLimits, type ServerLimits } from './sftpInternals';
import { toRemoteError } from './statusCodes';

export type Handle = Buffer;
export type OpenFlags = 'r' | 'r+' | 'w' | 'wx';

/** The most handles one session keeps open at once, whatever the server allows (OpenSSH's sftp uses 64). */
const MAX_HANDLES_PER_SESSION = 64;

/**
 * A promise API over one SFTP channel. Every failure becomes a RemoteFsError carrying the path it was
 * about; once the channel is gone, every call fails at once with ECONNLOST instead of waiting forever.
 */
export class SftpSession {
  readonly limits: ServerLimits;
  readonly extensions: ReadonlyMap<string, string>;
  private closedReason: string | undefined;
  private readonly closeListeners = new Set<(reason: string) => void>();
  // Two pools so an operation that holds one handle and opens a second (a copy, an atomic save of a
  // copy) can never deadlock waiting on itself. Each gets half of what the server allows.
  private readonly outerHandleSlots: Limiter;
  private readonly innerHandleSlots: Limiter;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly logger: Logger,
  ) {
    this.limits = readServerLimits(sftp);
    this.extensions = readServerExtensions(sftp);
    const perPool = Math.max(
      1,
      Math.min(MAX_HANDLES_PER_SESSION, Math.floor(this.limits.maxOpenHandles / 2)),
    );
    this.outerHandleSlots = new Limiter(perPool);
    this.innerHandleSlots = new Limiter(perPool);
    const onGone = (): void => this.markClosed('the SFTP channel closed');
    sftp.once('close', onGone);
    sftp.once('end', onGone);
    sftp.once('error', (error: Error) => this.markClosed(`the SFTP channel failed: ${error.message}`));
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  hasExtension(name: string): boolean {
    return this.extensions.has(name);
  }

  onClose(listener: (reason: string) => void): { dispose(): void } {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  /** Ends the channel. Pending requests fail with ECONNLOST. */
  close(): void {
    this.markClosed('the session was closed');
    this.sftp.end();
  }

  private markClosed(reason: string): void {
    if (this.closedReason !== undefined) {
      return;
    }
    this.closedReason = reason;
    this.logger.debug(`SFTP session closed: ${reason}`);
    for (const listener of this.closeListeners) {
      listener(reason);
    }
  }

  /** Wraps one ssh2 call: fails fast when closed, converts errors, never throws synchronously. */
  private call<T>(
    path: string | undefined,
    start: (callback: (error: unknown, value?: T) => void) => void,
  ): Promise<T> {
    if (this.closedReason !== undefined) {
      return Promise.reject(
        new RemoteFsError('ECONNLOST', `The connection to the server was lost (${this.closedReason})`, {
          ...(path === undefined ? {} : { path }),
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      try {
        start((error, value) => (error ? reject(toRemoteError(error, path)) : resolve(value as T)));
      } catch (error) {
        reject(toRemoteError(error, path));
      }
    });
  }

  stat(path: string): Promise<Attributes> {
    return this.call(path, (cb) => this.sftp.stat(path, cb));
  }

  lstat(path: string): Promise<Attributes> {
    return this.call(path, (cb) => this.sftp.lstat(path, cb));
  }

  fstat(handle: Handle, path: string): Promise<Attributes> {
    return this.call(path, (cb) => this.sftp.fstat(handle, cb));
  }

  realpath(path: string): Promise<string> {
    return this.call(path, (cb) => this.sftp.realpath(path, cb));
  }

  readlink(path: string): Promise<string> {
    return this.call(path, (cb) => this.sftp.readlink(path, cb));
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

  /** `copy-data`: the server copies `length` bytes (0 = to EOF) between two open handles. */
  copyData(source: Handle, target: Handle, path: string): Promise<void> {
    return this.call(path, (cb) => this.sftp.ext_copy_data(source, 0, 0, target, 0, cb));
  }

  read(
    handle: Handle,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    path: string,
  ): Promise<number> {
    return this.call(path, (cb) =>
      this.sftp.read(handle, buffer, offset, length, position, (error, bytesRead) => cb(error, bytesRead)),
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
    return this.call(path, (cb) =>
      this.sftp.write(handle, buffer, offset, length, position, (error) => cb(error)),
    );
  }

  /**
   * Opens `path`, runs `use` with the handle and always closes it. At most a bounded number of handles
   * are open at once, so VS Code's unbounded parallel calls cannot exhaust the server's limit. Code that
   * already holds a handle from `withFile` opens its second one with `inner: true`.
   */
  withFile<T>(
    path: string,
    flags: OpenFlags,
    attrs: InputAttributes,
    use: (handle: Handle) => Promise<T>,
    inner = false,
  ): Promise<T> {
    return (inner ? this.innerHandleSlots : this.outerHandleSlots).run(async () => {
      const handle = await this.call<Handle>(path, (cb) => this.sftp.open(path, flags, attrs, cb));
      return this.useThenClose(handle, path, use);
    });
  }

  /** Lists a folder: OPENDIR, READDIR until EOF, CLOSE (ssh2 drops `.` and `..`). */
  readdir(path: string): Promise<FileEntry[]> {
    return this.outerHandleSlots.run(async () => {
      const handle = await this.call<Handle>(path, (cb) => this.sftp.opendir(path, cb));
      return this.useThenClose(handle, path, async () => {
        const entries: FileEntry[] = [];
        for (;;) {
          const batch = await this.readdirBatch(handle, path);
          if (batch === undefined) {
            return entries;
          }
          entries.push(...batch);
        }
      });
    });
  }

  private readdirBatch(handle: Handle, path: string): Promise<FileEntry[] | undefined> {
    return new Promise((resolve, reject) => {
      this.call<FileEntry[] | false>(path, (cb) => this.sftp.readdir(handle, cb)).then(
        (list) => resolve(list === false ? undefined : list),
        (error: RemoteFsError) => (error.sftpStatus === 1 ? resolve(undefined) : reject(error)),
      );
    });
  }

  private async useThenClose<T>(
    handle: Handle,
    path: string,
    use: (handle: Handle) => Promise<T>,
  ): Promise<T> {
    let result: T;
    try {
      result = await use(handle);
    } catch (error) {
      await this.call<void>(path, (cb) => this.sftp.close(handle, cb)).catch(() => undefined);
      throw error;
    }
    // A failed CLOSE after writing can mean the data never reached the disk, so it is reported.
    await this.call<void>(path, (cb) => this.sftp.close(handle, cb));
    return result;
  }
}
