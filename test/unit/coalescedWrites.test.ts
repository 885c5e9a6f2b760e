import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';

import { coalesceWritesPerTick } from '../../src/core/ssh/coalescedWrites';

/** A stream that records each time its writes reach the "socket": one entry per system call. */
function recordingStream(): { stream: Duplex; flushes: string[][] } {
  const flushes: string[][] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      flushes.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      flushes.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      done();
    },
  });
  return { stream, flushes };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('packets written in the same tick reach the socket in one write, and later ones are not held back', async () => {
  const { stream, flushes } = recordingStream();
  coalesceWritesPerTick(stream);
  stream.write('a');
  stream.write('b');
  stream.write('c');
  assert.deepEqual(flushes, [], 'nothing is flushed before the tick ends');
  await nextTurn();
  assert.deepEqual(flushes, [['a', 'b', 'c']]);
  stream.write('d');
  await nextTurn();
  assert.deepEqual(flushes, [['a', 'b', 'c'], ['d']]);
});

test('write callbacks still run, in order, once the data is flushed', async () => {
  const { stream } = recordingStream();
  coalesceWritesPerTick(stream);
  const done: string[] = [];
  stream.write('a', () => done.push('a'));
  stream.write('b', () => done.push('b'));
  await nextTurn();
  await nextTurn();
  assert.deepEqual(done, ['a', 'b']);
});
