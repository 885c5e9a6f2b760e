import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Limiter, TaskPool, forEachBounded } from '../../src/core/common/limiter';

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

test('a task pool runs work as it is added, within its bound, and waits for work added meanwhile', async () => {
  const pool = new TaskPool(2);
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  const work = (id: number) => async (): Promise<void> => {
    peak = Math.max(peak, ++running);
    await tick();
    running--;
    done.push(id);
    if (id === 0) {
      pool.add(work(9)); // found while working, as a walk finds more
    }
  };
  for (let id = 0; id < 5; id++) {
    pool.add(work(id));
  }
  await pool.finished();
  assert.equal(peak, 2);
  assert.deepEqual(done.sort(), [0, 1, 2, 3, 4, 9]);
});

test('a task pool reports the first failure once everything has settled, and says it failed', async () => {
  const pool = new TaskPool(4);
  let settled = 0;
  pool.add(async () => {
    await tick();
    throw new Error('first');
  });
  pool.add(async () => {
    await tick();
    await tick();
    settled++;
    throw new Error('second');
  });
  pool.add(async () => {
    await tick();
    await tick();
    await tick();
    settled++;
  });
  await assert.rejects(pool.finished(), /first/);
  assert.equal(settled, 2);
  assert.equal(pool.failed, true);
});
