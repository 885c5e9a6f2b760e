import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, test } from 'node:test';

import { PrefaultedBuffer } from '../../src/core/sftp/prefaultedBuffer';

const MiB = 1024 * 1024;

/** Lets `turns` turns of the event loop go by. */
async function turns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) {
    await nextTurn();
  }
}

describe('a download buffer touched while the OPEN is under way', () => {
  test('unclaimed, it is touched a slice per turn of the event loop, to its end', async () => {
    const prefaulted = new PrefaultedBuffer(4 * MiB + 5);
    assert.equal(prefaulted.touchedBytes, 0, 'nothing is touched before the OPEN has gone out');
    await turns(1);
    assert.ok(prefaulted.touchedBytes > 0 && prefaulted.touchedBytes < 4 * MiB, 'one slice per turn');
    await turns(10);
    assert.equal(prefaulted.touchedBytes, 4 * MiB + 5);
  });

  test('once claimed it is never written again: what the download put there stays', async () => {
    const prefaulted = new PrefaultedBuffer(8 * MiB);
    await turns(2);
    const touchedAtClaim = prefaulted.touchedBytes;
    const buffer = prefaulted.claim(8 * MiB);
    assert.ok(buffer !== undefined);
    // The download's bytes, in the part already touched and in the part not touched yet.
    buffer.fill(0xab);
    await turns(20);
    assert.equal(prefaulted.touchedBytes, touchedAtClaim, 'the touching stopped at the claim');
    assert.ok(
      buffer.every((byte) => byte === 0xab),
      'no byte written after the claim was overwritten',
    );
    assert.equal(prefaulted.claim(8 * MiB), undefined, 'a buffer is claimed once');
  });

  test('a claim for another size (the file changed since it was seen) gets nothing, and the touching stops', async () => {
    const prefaulted = new PrefaultedBuffer(2 * MiB);
    assert.equal(prefaulted.claim(3 * MiB), undefined);
    await turns(5);
    assert.equal(prefaulted.touchedBytes, 0);
  });

  test('a discarded buffer is not touched any more', async () => {
    const prefaulted = new PrefaultedBuffer(16 * MiB);
    await turns(1);
    const touched = prefaulted.touchedBytes;
    prefaulted.discard();
    await turns(10);
    assert.equal(prefaulted.touchedBytes, touched);
    assert.equal(prefaulted.claim(16 * MiB), undefined);
  });
});
