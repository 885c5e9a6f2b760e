import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';

import { errorMessage, isConnectionError } from '../common/errors';
import type { Logger } from '../common/logger';
import { InPlaceRefused } from '../fs/save/saveFile';
import { ArrivingContent } from '../sftp/arrivingContent';
import { ConnectionManager } from './connectionManager';
import type { FromReaderThread, LogLevel, ReaderThreadSetup, ToReaderThread } from './readerThreadProtocol';

/**
 * The reader thread's program (bundled on its own as dist/readerThread.js): a ConnectionManager of its
 * own for one host, logged in without prompts, reading and saving whole files when asked. See
 * readerThread.ts.
 */

const port = parentPort;
if (port === null) {
  throw new Error('readerThreadMain runs in a worker thread');
}
const setup = workerData as ReaderThreadSetup;
/**
 * Set once told to close: what settles afterwards (the login abandoned, a read cut short) is not sent,
 * but for the temporaries of cut saves.
 */
let closing = false;
const post = (message: FromReaderThread, transfer: ArrayBuffer[] = []): void => {
  // What cut saves left behind is always told: the other side removes it.
  if (!closing || message.kind === 'leftovers') {
    port.postMessage(message, transfer);
  }
};

// The manager tags its lines with the host; the connection served tags them again on the other side.
const tag = `[${setup.authority}] `;
const forward =
  (level: LogLevel) =>
  (message: string): void =>
    post({ kind: 'log', level, message: message.startsWith(tag) ? message.slice(tag.length) : message });
const logger: Logger = {
  trace: forward('trace'),
  debug: forward('debug'),
  info: forward('info'),
  warn: forward('warn'),
  error: forward('error'),
  isTraceEnabled: () => setup.traceEnabled,
};

const manager = new ConnectionManager({
  // Only hosts reached straight over TCP get a reader thread: nothing else is ever resolved here.
  resolveHost: () => setup.host,
  logger,
  // No prompts: the login is the one the connection served made without the user, or none.
  // Anything (a passphrase, a host key not in known_hosts) fails instead, and reads and saves stay there.
  fileSystem: {
    maxReadFileBytes: setup.maxReadFileBytes,
    // Each call says what it needs: nothing the other side changed meanwhile is answered from here.
    attributeLifetimeMs: 0,
    // This connection never comes back: the other side removes what a cut save leaves.
    onBehalfOfAnother: { onOrphan: (temporary) => post({ kind: 'leftovers', temporaries: [temporary] }) },
  },
  ...(setup.stallTimeoutMs === undefined ? {} : { session: { stallTimeoutMs: setup.stallTimeoutMs } }),
  // The connection served decides when this one ends. The lanes are what makes it fast: they are given
  // back only after as long unused as ends the thread itself.
  lifecycle: { idleTimeoutMs: 0, laneIdleMs: setup.idleMs },
});
const files = manager.fileSystem(setup.authority);

/** Saves whose content is still being copied in, by request. */
const contentOf = new Map<number, ArrivingContent>();
/** WRITEs waiting for content still to come fail with `reason`: the thread is going away. */
const failArrivals = (reason: string): void => {
  for (const arriving of contentOf.values()) {
    arriving.fail(new Error(reason));
  }
};

/** Reads and saves under way. */
const underWay = new Set<Promise<unknown>>();
/**
 * Waits (at most 2 s) for what is under way to settle once the connection is gone, which fails it at
 * once: what a cut save leaves behind is told before the thread says it is unavailable or ends.
 */
const settled = (): Promise<unknown> =>
  Promise.race([Promise.allSettled(underWay), delay(2000, undefined, { ref: false })]);

// A drop ends the thread: it never logs in again by itself (a read or save under way fails, and is
// made on the connection served instead).
manager.onDidChangeState(({ state, error }) => {
  if (state === 'reconnecting') {
    failArrivals('the reader thread lost its connection');
    manager.dispose();
    void settled().then(() =>
      post({
        kind: 'unavailable',
        reason: `its connection was lost${error === undefined ? '' : `: ${error}`}`,
      }),
    );
  }
});

manager.session(setup.authority).then(
  async (session) => {
    // The line's round trip, before the first read: the read stripes over extra channels on a slow
    // line and sizes what it keeps in flight by it, and a connection that has measured none yet
    // starts its first read on one channel (the login times no request). The faster of two answers:
    // the first one after a login can wait for the server's own start.
    for (let probe = 0; probe < 2; probe++) {
      await session.probeRoundTrip().catch(() => undefined);
    }
    const roundTripMs = session.roundTripMs;
    post(roundTripMs === undefined ? { kind: 'ready' } : { kind: 'ready', roundTripMs });
    // The thread exists for large files: its extra channels open now (four round trips, after the
    // probes so as not to slow their answers), not during its first transfer, which would run on one
    // channel's window meanwhile.
    files.openTransferLanes();
  },
  (error: unknown) =>
    post({ kind: 'unavailable', reason: `it could not log in without the user: ${errorMessage(error)}` }),
);

/** Runs a read or save for request `id`, answering with `answer(result)` or its failure. */
function serve<T>(id: number, work: Promise<T>, answer: (result: T) => void): void {
  const done = work.then(answer, (error: unknown) =>
    post({
      kind: 'failed',
      id,
      reason: errorMessage(error),
      connectionLost: isConnectionError(error),
      inPlace: error instanceof InPlaceRefused,
    }),
  );
  underWay.add(done);
  void done.finally(() => underWay.delete(done));
}

port.on('message', (message: ToReaderThread) => {
  switch (message.kind) {
    case 'close':
      closing = true;
      failArrivals('the reader thread was told to close');
      manager.dispose();
      void settled().then(() => port.close());
      return;
    case 'write': {
      const { id, path, shared, create } = message;
      // The temporary's OPEN goes out now; each WRITE waits for its bytes, copied in meanwhile.
      const arriving = new ArrivingContent();
      contentOf.set(id, arriving);
      const saving = files.save(path, new Uint8Array(shared), { create, overwrite: true }, arriving);
      void saving.finally(() => contentOf.delete(id)).catch(() => undefined);
      serve(id, saving, ({ target, attrs }) =>
        post(attrs === undefined ? { kind: 'written', id, target } : { kind: 'written', id, target, attrs }),
      );
      return;
    }
    case 'content':
      contentOf.get(message.id)?.arrivedUpTo(message.upTo);
      return;
    case 'read': {
      const { id, path, expectedSize } = message;
      serve(id, files.readFile(path, expectedSize), (data) => {
        // The result owns its memory (readWholeFile allocates it whole): it moves to the other thread
        // as it is. A buffer no larger than Buffer's pool may be a slice of the pool: copied.
        const owned = data.buffer.byteLength > Buffer.poolSize ? data : new Uint8Array(data);
        const buffer = owned.buffer as ArrayBuffer;
        post({ kind: 'read', id, buffer, offset: owned.byteOffset, length: owned.byteLength }, [buffer]);
      });
      return;
    }
  }
});
