import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';

import { startLatencyProxyProcess, type LatencyProxy } from '../../bench/latencyProxyProcess';

/**
 * The benchmark's latency line (a relay in a process of its own) counts the bytes it carries: the
 * Source Control bench reads them before and after a refresh, and OpenSSH's ssh closes its connection
 * before the count is read, so closed connections must still count.
 */
const ONE_WAY_MS = 10;
const state = {} as { echo: Server; line: LatencyProxy };

before(async () => {
  state.echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => state.echo.listen(0, '127.0.0.1', resolve));
  const address = state.echo.address();
  assert.ok(typeof address === 'object' && address !== null);
  state.line = await startLatencyProxyProcess(address.port, ONE_WAY_MS);
});

after(async () => {
  await state.line.close();
  await new Promise((resolve) => state.echo.close(resolve));
});

/** Sends `bytes` through the line, waits for all of them to come back, then closes the connection. */
async function echoThroughLine(bytes: number): Promise<number> {
  const socket = connect({ host: '127.0.0.1', port: state.line.port });
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= bytes) {
        resolve();
      }
    });
    socket.write(Buffer.alloc(bytes, 7));
  });
  const ms = performance.now() - started;
  await new Promise<void>((resolve) => socket.end(resolve));
  socket.destroy();
  return ms;
}

test('the latency line counts the bytes of every connection each way, closed ones included', async () => {
  const before = await state.line.relayed();
  const roundTrip = await echoThroughLine(1000);
  await echoThroughLine(500);
  await new Promise((resolve) => setTimeout(resolve, 4 * ONE_WAY_MS)); // the closes have reached the relay
  const after = await state.line.relayed();
  assert.deepEqual({ up: after.up - before.up, down: after.down - before.down }, { up: 1500, down: 1500 });
  assert.ok(roundTrip >= 2 * ONE_WAY_MS, `a round trip took ${roundTrip.toFixed(1)} ms`);
});
