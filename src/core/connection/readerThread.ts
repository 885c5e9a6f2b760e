import { Worker } from 'node:worker_threads';

import { errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import type { WriteOptions } from '../fs/entryType';
import type { FileThread, Saved } from '../fs/remoteFileSystem';
import { InPlaceRefused } from '../fs/save/saveFile';
import type { FromReaderThread, ReaderThreadSetup, ToReaderThread } from './readerThreadProtocol';

/** How much of a save's content is copied into the thread's memory between two turns of the event loop. */
const COPY_SLICE_BYTES = 4 * 1024 * 1024;

/** What the thread answers a read or a save with. */
type Answer = { readonly data: Buffer } | { readonly saved: Saved };

/** A read or save waiting for the thread's answer. */
interface Waiter {
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
}

export interface ThreadEnding {
  readonly reason: string;
  /** It ended because it was not used for its idle time (not because something failed). */
  readonly idle: boolean;
  /** It was asked to read or save at least once. */
  readonly used: boolean;
}

/**
 * A worker thread with an SSH connection of its own that reads and saves whole files for a connection,
 * so that what a large transfer costs the CPU (the cipher on every packet, and the garbage Node's
 * cipher leaves: a new buffer per 32 KiB packet) falls on another core and on a small heap of its
 * own. In VS Code's extension host, whose heap holds every extension, that garbage set off full
 * collections that took the second core from sshd, and a 64 MiB read on loopback was slower than
 * OpenSSH's sftp (docs/performance.md). A file read comes back in one transferred buffer: nothing
 * is copied between the threads. A save's content is copied once, into memory shared with the thread,
 * while the save is under way (each WRITE waits for its own bytes): the caller's buffer stays the caller's.
 *
 * The thread only ever logs in the way the connection it serves did without the user (agent or a key
 * without passphrase, straight over TCP; SshConnection.canLogInAgainUnattended), and its known_hosts
 * check has no prompt: it never asks anything and never accepts a host key the user's files do not
 * trust. It is an accelerator: callers read and save on their own connection when it is not ready, and
 * when a call here fails for any reason. So it only makes saves that can be made again there: ones
 * that may overwrite, by replacing the file (never in place; see RemoteFileSystemOptions).
 */
export class ReaderThread implements FileThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Waiter>();
  private nextId = 1;
  private used = false;
  private state: 'starting' | 'ready' | 'ended' = 'starting';
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly endListeners = new Set<(ending: ThreadEnding) => void>();

  constructor(
    script: string,
    setup: ReaderThreadSetup,
    private readonly logger: Logger,
    /** The thread ends after this long unused (its connection is a second login on the server). */
    private readonly idleMs: number,
    /** Told about temporaries the thread's cut saves left on the server (even after it ended). */
    private readonly onLeftovers: (temporaries: readonly string[]) => void,
  ) {
    this.worker = new Worker(script, { workerData: setup });
    // Never what keeps the process alive: the connection it serves decides when it ends.
    this.worker.unref();
    this.worker.on('message', (message: FromReaderThread) => this.onMessage(message));
    this.worker.on('error', (error) => this.end(`it failed: ${errorMessage(error)}`));
    this.worker.on('exit', (code) => this.end(`it exited with code ${code}`));
  }

  /** True once the thread's connection is up and it takes reads and saves. */
  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Told once, with why, when the thread has ended (closed, idle, failed, or could not log in). */
  onEnded(listener: (ending: ThreadEnding) => void): void {
    this.endListeners.add(listener);
  }

  /**
   * The whole file at `path` as the thread's connection reads it; rejects when it could not.
   * `expectedSize`: the size the caller last saw it have.
   */
  async read(path: string, expectedSize: number): Promise<Buffer> {
    const answer = await this.ask((id) => ({ kind: 'read', id, path, expectedSize }));
    if (!('data' in answer)) {
      throw new Error('the reader thread answered a read with no data');
    }
    return answer.data;
  }

  /**
   * Saves `content` at `path` on the thread's connection (an overwriting save: `options.overwrite` is
   * required); rejects when it could not, with InPlaceRefused when the file has to be saved in place.
   */
  async write(path: string, content: Uint8Array, options: WriteOptions): Promise<Saved> {
    if (!options.overwrite) {
      throw new Error('the reader thread only makes saves that may overwrite');
    }
    // Memory the thread shares, into which the content is copied (VS Code or an extension may still use
    // the caller's buffer, which may also be a view of a larger one): told first, the thread sends the
    // temporary's OPEN while the copy is made.
    const shared = new SharedArrayBuffer(content.byteLength);
    let id = 0;
    const answer = this.ask((assigned) => {
      id = assigned;
      return { kind: 'write', id, path, shared, create: options.create };
    });
    let answered = false;
    answer.then(
      () => (answered = true),
      () => (answered = true),
    );
    // Front to back, a slice at a time, each told as it lands: the first WRITEs go out while the rest
    // is copied (fresh memory costs a page fault per 4 KiB: 256 MiB take about 250 ms here, more than
    // a round trip), and the event loop (the extension host's) is never held for the whole copy.
    const into = new Uint8Array(shared);
    for (let offset = 0; offset < content.byteLength && this.state === 'ready' && !answered;) {
      const end = Math.min(offset + COPY_SLICE_BYTES, content.byteLength);
      into.set(content.subarray(offset, end), offset);
      this.send({ kind: 'content', id, upTo: end });
      offset = end;
      if (offset < content.byteLength) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    const outcome = await answer;
    if (!('saved' in outcome)) {
      throw new Error('the reader thread answered a save with data');
    }
    return outcome.saved;
  }

  private ask(message: (id: number) => ToReaderThread): Promise<Answer> {
    if (this.state !== 'ready') {
      return Promise.reject(new Error('the reader thread is not ready'));
    }
    const id = this.nextId++;
    this.used = true;
    this.disarmIdleTimer();
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(message(id));
    });
  }

  /** Ends the thread: its connection logs out, reads and saves under way fail (their callers make them). */
  close(reason: string, idle = false): void {
    if (this.state === 'ended') {
      return;
    }
    this.send({ kind: 'close' });
    // The thread disconnects and ends by itself; one that does not is stopped.
    const terminate = setTimeout(() => void this.worker.terminate(), 2000);
    terminate.unref();
    this.worker.once('exit', () => clearTimeout(terminate));
    this.end(reason, idle);
  }

  private onMessage(message: FromReaderThread): void {
    switch (message.kind) {
      case 'ready':
        if (this.state === 'starting') {
          this.state = 'ready';
          const roundTrip =
            message.roundTripMs === undefined ? '' : ` (round trip ${message.roundTripMs.toFixed(1)} ms)`;
          this.logger.debug(
            `Large reads and saves go through a reader thread with a connection of its own${roundTrip}`,
          );
          // Unused from now on: its idle time counts from here, not from the start of its login.
          this.armIdleTimer();
        }
        return;
      case 'unavailable':
        this.close(message.reason);
        return;
      case 'leftovers':
        this.onLeftovers(message.temporaries);
        return;
      case 'log':
        this.logger[message.level](`Reader thread: ${message.message}`);
        return;
      case 'read':
        this.settle(message.id)?.resolve({
          data: Buffer.from(message.buffer, message.offset, message.length),
        });
        return;
      case 'written':
        this.settle(message.id)?.resolve({ saved: { target: message.target, attrs: message.attrs } });
        return;
      case 'failed': {
        this.settle(message.id)?.reject(
          message.inPlace ? new InPlaceRefused(message.reason) : new Error(message.reason),
        );
        if (message.connectionLost) {
          this.close(`its connection was lost: ${message.reason}`);
        }
        return;
      }
    }
  }

  private settle(id: number): Waiter | undefined {
    const waiter = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) {
      this.armIdleTimer();
    }
    return waiter;
  }

  private end(reason: string, idle = false): void {
    if (this.state === 'ended') {
      return;
    }
    this.state = 'ended';
    this.disarmIdleTimer();
    for (const waiter of this.pending.values()) {
      waiter.reject(new Error(`the reader thread ended: ${reason}`));
    }
    this.pending.clear();
    this.logger.debug(`The reader thread ended: ${reason}`);
    for (const listener of this.endListeners) {
      listener({ reason, idle, used: this.used });
    }
    this.endListeners.clear();
  }

  private send(message: ToReaderThread): void {
    try {
      this.worker.postMessage(message);
    } catch (error) {
      this.end(`it cannot be reached: ${errorMessage(error)}`);
      // Not told to close (a save there may wait for content that will not come): stopped.
      void this.worker.terminate();
    }
  }

  private armIdleTimer(): void {
    this.disarmIdleTimer();
    if (this.state === 'ended') {
      return;
    }
    this.idleTimer = setTimeout(() => this.close('it was not used for a while', true), this.idleMs);
    this.idleTimer.unref();
  }

  private disarmIdleTimer(): void {
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }
}
