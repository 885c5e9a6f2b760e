import type { Attributes } from 'ssh2';

import type { ResolvedHost } from '../config/hostResolver';

/** What a reader thread is started with (its `workerData`): everything it needs to log in by itself. */
export interface ReaderThreadSetup {
  /** The authority of the connection it serves (`user@host:port`), which tags its log lines. */
  readonly authority: string;
  /** As the connection it serves resolved it: the thread logs in to the same address, as the same user. */
  readonly host: ResolvedHost;
  readonly maxReadFileBytes: number;
  /** It ends after this long unused; its transfer lanes are kept as long. */
  readonly idleMs: number;
  readonly stallTimeoutMs: number | undefined;
  readonly traceEnabled: boolean;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Messages to the thread. */
export type ToReaderThread =
  | {
      readonly kind: 'read';
      readonly id: number;
      readonly path: string;
      /** The size the caller last saw the file have: its extra channels open it with the first. */
      readonly expectedSize: number;
    }
  | {
      readonly kind: 'write';
      readonly id: number;
      readonly path: string;
      /**
       * Memory shared with the thread, sized for the new content, which is copied into it, front to
       * back, while the save goes on: `content` messages say how far.
       */
      readonly shared: SharedArrayBuffer;
      /** As WriteOptions.create; the save always may overwrite (it may be made again on the other side). */
      readonly create: boolean;
    }
  /** The first `upTo` bytes of save `id`'s content are in its shared memory. */
  | { readonly kind: 'content'; readonly id: number; readonly upTo: number }
  | { readonly kind: 'close' };

/** Messages from the thread. */
export type FromReaderThread =
  /** Logged in; `roundTripMs` as its connection measured it before its first read or save. */
  | { readonly kind: 'ready'; readonly roundTripMs?: number }
  | { readonly kind: 'unavailable'; readonly reason: string }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly message: string }
  /** The file's bytes: `length` bytes from `offset` of `buffer`, which is transferred, not copied. */
  | {
      readonly kind: 'read';
      readonly id: number;
      readonly buffer: ArrayBuffer;
      readonly offset: number;
      readonly length: number;
    }
  /** Saved `target` (the path's, or a link's target); `attrs`: the path's now, when the save learnt them. */
  | { readonly kind: 'written'; readonly id: number; readonly target: string; readonly attrs?: Attributes }
  | {
      readonly kind: 'failed';
      readonly id: number;
      readonly reason: string;
      /** The thread's own connection is gone: it will not read or save again. */
      readonly connectionLost: boolean;
      /** A save refused because the file has to be saved in place (InPlaceRefused). */
      readonly inPlace: boolean;
    }
  /**
   * Temporaries a save cut by the loss of the thread's connection left on the server, for the other
   * side to remove. Sent before the save's failure, and even once told to close.
   */
  | { readonly kind: 'leftovers'; readonly temporaries: readonly string[] };
