import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  checkOrder,
  dueAt,
  duePolls,
  waitAfterScan,
  type PollClock,
} from '../../src/core/watch/pollSchedule';

test('a quick scan is repeated at the interval', () => {
  assert.equal(waitAfterScan(3000, 40), 3000);
  assert.equal(waitAfterScan(3000, 0), 3000);
});

test('a slow scan waits nine times its length: scanning takes at most a tenth of the time', () => {
  assert.equal(waitAfterScan(3000, 2000), 18_000);
  // Over a long run with scans of varying length, the share of time spent scanning stays at or below 10 %.
  let now = 0;
  let scanning = 0;
  const clock: { last: PollClock['last'] } = { last: undefined };
  for (let round = 0; round < 200; round++) {
    now = Math.max(now, dueAt(clock, 1000));
    const tookMs = 50 + ((round * 7919) % 4000);
    scanning += tookMs;
    now += tookMs;
    clock.last = { endedAt: now, tookMs };
  }
  const wallMs = dueAt(clock, 1000); // up to the next scan: every scan is followed by its wait
  assert.ok(scanning / wallMs <= 0.1 + 1e-9, `scanning took ${((100 * scanning) / wallMs).toFixed(1)} %`);
});

test('something never checked is due at once', () => {
  const { due, nextInMs } = duePolls([{ last: undefined }], 3000, 1_000_000);
  assert.equal(due.length, 1);
  assert.equal(nextInMs, 0);
});

test('open files are due at the interval while a slow tree waits its turn', () => {
  const tree = { name: 'tree', last: { endedAt: 0, tookMs: 5000 } };
  const openFiles = { name: 'open files', last: { endedAt: 0, tookMs: 20 } };
  const at = (now: number) => duePolls([tree, openFiles], 3000, now);
  assert.deepEqual(at(1000), { due: [], nextInMs: 2000 });
  assert.deepEqual(
    at(3000).due.map((c) => c.name),
    ['open files'],
  );
  assert.deepEqual(
    at(45_000).due.map((c) => c.name),
    ['tree', 'open files'],
  );
});

test('nothing to poll, no timer', () => {
  assert.deepEqual(duePolls([], 3000, 0), { due: [], nextInMs: undefined });
});

test('a round checks open files first, then watched files, then folders from the quickest', () => {
  const order = checkOrder([
    { name: 'big tree', kind: 'folder', lastTookMs: 900 },
    { name: 'small folder', kind: 'folder', lastTookMs: 15 },
    { name: 'file outside the workspace', kind: 'file', lastTookMs: 3 },
    { name: 'open files', kind: 'openFiles', lastTookMs: 30 },
  ] as const);
  assert.deepEqual(
    order.map((check) => check.name),
    ['open files', 'file outside the workspace', 'small folder', 'big tree'],
  );
});
