import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { FaultProxy } from '../support/faultProxy';

const MB = 1_000_000;
/** 2 MB/s each way: 1 MB takes half a second through the bottleneck. */
const BITS_PER_SECOND = 16e6;

/**
 * The benchmark's and the tests' shaped lines are FaultProxy relays: a second connection over the same
 * line (a reader thread's, OpenSSH's) must share its rate, not get a line of its own, or whatever
 * opens more connections would look faster than the line allows.
 */
describe('a shaped line carries all its connections through one bottleneck', () => {
  const state = {} as { sink: Server; proxy: FaultProxy; received: number };
  before(async () => {
    // A server that takes whatever comes, counts it, and says nothing.
    state.received = 0;
    state.sink = createServer((socket) =>
      socket.on('data', (chunk: Buffer) => {
        state.received += chunk.length;
      }),
    );
    await new Promise<void>((resolve) => state.sink.listen(0, '127.0.0.1', resolve));
    const address = state.sink.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    state.proxy = await FaultProxy.start(port, { oneWayDelayMs: 5, bitsPerSecond: BITS_PER_SECOND });
  });
  after(async () => {
    await state.proxy?.close();
    await new Promise((resolve) => state.sink?.close(resolve));
  });

  /**
   * Sends `bytes` on each of `connections` new connections through the line at once; resolves with the
   * ms until the server has received them all.
   */
  async function sendAll(connections: number, bytes: number): Promise<number> {
    const started = performance.now();
    const before = state.received;
    const sockets = Array.from({ length: connections }, () => connect(state.proxy.port, '127.0.0.1'));
    for (const socket of sockets) {
      socket.write(Buffer.alloc(bytes, 7));
    }
    while (state.received - before < connections * bytes) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ms = performance.now() - started;
    for (const socket of sockets) {
      socket.destroy();
    }
    return ms;
  }

  test('two connections sending at once take as long as one sending both their bytes', async () => {
    const alone = await sendAll(1, MB);
    const together = await sendAll(2, MB);
    // Alone: 1 MB at 2 MB/s, about 500 ms. Together: 2 MB through the same bottleneck, about 1000 ms
    // (about 500 ms if each had a line of its own).
    assert.ok(alone >= 450 && alone < 800, `1 MB alone took ${alone.toFixed(0)} ms`);
    assert.ok(together >= 950, `1 MB on each of two connections took ${together.toFixed(0)} ms`);
  });
});
