import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ArrivingContent } from '../../src/core/sftp/arrivingContent';

/** Whether `promise` has settled after the microtasks queued so far ran. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return settled;
}

describe('content copied in while a save is under way', () => {
  test('a range already in place is answered at once, without a promise', () => {
    const arriving = new ArrivingContent();
    arriving.arrivedUpTo(100);
    assert.equal(arriving.until(100), undefined);
    assert.equal(arriving.until(0), undefined);
  });

  test('a range waits until the copy has passed its end, not only its start', async () => {
    const arriving = new ArrivingContent();
    const waiting = arriving.until(200);
    assert.ok(waiting !== undefined);
    arriving.arrivedUpTo(150);
    assert.equal(await settledYet(waiting), false, 'half of the range is not enough');
    arriving.arrivedUpTo(200);
    assert.equal(await settledYet(waiting), true);
  });

  test('progress never goes back: a late, smaller report changes nothing', async () => {
    const arriving = new ArrivingContent();
    arriving.arrivedUpTo(300);
    arriving.arrivedUpTo(100);
    assert.equal(arriving.until(300), undefined);
  });

  test('once the copy failed, what waits and what asks later for bytes that never came fail with its reason; what came is still there', async () => {
    const arriving = new ArrivingContent();
    arriving.arrivedUpTo(50);
    const waiting = arriving.until(80);
    arriving.fail(new Error('the thread was told to close'));
    await assert.rejects(waiting as Promise<void>, /told to close/);
    await assert.rejects(arriving.until(60) as Promise<void>, /told to close/);
    assert.equal(arriving.until(50), undefined);
  });
});
