import type { ResolvedHost } from '../config/hostResolver';

/** What a reader thread is started with (its `workerData`): everything it needs to log in by itself. */
export interface ReaderThreadSetup {
  /** The authority of the connection it serves (`user@host:port`), which tags its log lines. */
  readonly authority: string;
  /** As the connection it serves resolved it: the thread logs in to the same address, as the same user. */
  readonly host: ResolvedHost;
  readonly maxReadFileBytes: number;
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
  | { readonly kind: 'close' };

/** Messages from the thread. */
export type FromReaderThread =
  /** Logged in; `roundTripMs` as its connection measured it before its first read. */
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
  | {
      readonly kind: 'failed';
      readonly id: number;
      readonly reason: string;
      /** The thread's own connection is gone: it will not read again. */
      readonly connectionLost: boolean;
    };
