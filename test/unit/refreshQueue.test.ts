import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { RefreshQueue } from '../../src/core/git/refreshQueue';

/** A refresh that takes `ms`, counting its runs and the most that ever overlapped. */
function countingRefresh(ms: number): {
  refresh: () => Promise<void>;
  runs: () => number;
  maxOverlap: () => number;
} {
  let runs = 0;
  let active = 0;
  let maxOverlap = 0;
  return {
    refresh: async () => {
      runs++;
      active++;
      maxOverlap = Math.max(maxOverlap, active);
      await sleep(ms);
      active--;
    },
    runs: () => runs,
    maxOverlap: () => maxOverlap,
  };
}

const failOnError = (error: unknown): void => assert.fail(String(error));

test('a burst of requests makes one run, after the delay', async () => {
  const counted = countingRefresh(5);
  const queue = new RefreshQueue(counted.refresh, 20, failOnError);
  for (let i = 0; i < 10; i++) {
    queue.request();
  }
  assert.equal(counted.runs(), 0, 'nothing runs before the delay');
  await sleep(60);
  assert.equal(counted.runs(), 1);
  queue.dispose();
});

test('requests during a run make exactly one more run after it, never two at once', async () => {
  const counted = countingRefresh(40);
  const queue = new RefreshQueue(counted.refresh, 5, failOnError);
  queue.request();
  await sleep(20); // the first run is under way
  queue.request();
  queue.request();
  await sleep(150);
  assert.equal(counted.runs(), 2);
  assert.equal(counted.maxOverlap(), 1);
  queue.dispose();
});

test('now() runs at once, waits for a run under way, and concurrent calls share one run', async () => {
  const counted = countingRefresh(30);
  const queue = new RefreshQueue(counted.refresh, 10_000, failOnError);
  queue.request(); // would run only after 10 s: now() replaces it
  await queue.now();
  assert.equal(counted.runs(), 1);
  const first = queue.now();
  await sleep(5);
  await Promise.all([queue.now(), queue.now(), first]);
  assert.equal(counted.runs(), 3, 'one run for the first call, one shared by the two made during it');
  assert.equal(counted.maxOverlap(), 1);
  queue.dispose();
});

test('a failing run is reported and later requests still run; nothing runs after dispose', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  const queue = new RefreshQueue(
    async () => {
      runs++;
      if (runs === 1) {
        throw new Error('connection lost');
      }
    },
    5,
    (error) => errors.push(error),
  );
  await queue.now();
  await queue.now();
  assert.equal(runs, 2);
  assert.deepEqual(
    errors.map((error) => (error as Error).message),
    ['connection lost'],
  );
  queue.request();
  queue.dispose();
  await sleep(20);
  assert.equal(runs, 2);
});
