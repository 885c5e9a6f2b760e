import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Limiter, forEachBounded } from '../../src/core/common/limiter';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('never runs more tasks at once than its bound', async () => {
  const limiter = new Limiter(3);
  let running = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 20 }, () =>
      limiter.run(async () => {
        peak = Math.max(peak, ++running);
        await tick();
        running--;
      }),
    ),
  );
  assert.equal(peak, 3);
  assert.equal(limiter.active, 0);
});

test('frees the slot of a task that fails', async () => {
  const limiter = new Limiter(1);
  await assert.rejects(limiter.run(() => Promise.reject(new Error('boom'))));
  assert.equal(await limiter.run(() => Promise.resolve(42)), 42);
});

test('forEachBounded stops taking new items after the first failure and rethrows it', async () => {
  const seen: number[] = [];
  await assert.rejects(
    forEachBounded([1, 2, 3, 4, 5, 6], 2, async (n) => {
      seen.push(n);
      await tick();
      if (n === 2) {
        throw new Error('two');
      }
    }),
    /two/,
  );
  assert.ok(seen.length < 6, `started ${seen.length} of 6`);
});
