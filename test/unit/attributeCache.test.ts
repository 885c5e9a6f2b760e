import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AttributeCache } from '../../src/core/fs/attributeCache';

const attrs = (size: number) => ({ mode: 0o100644, size, uid: 0, gid: 0, atime: 0, mtime: 0 });

test('answers within its lifetime and forgets afterwards', () => {
  let now = 1000;
  const cache = new AttributeCache(500, () => now);
  cache.set('/a', { own: attrs(1) });
  now += 500;
  assert.equal(cache.get('/a')?.own.size, 1);
  now += 1;
  assert.equal(cache.get('/a'), undefined);
});

test('forgetTree drops a folder and everything below it, and nothing beside it', () => {
  const cache = new AttributeCache(10_000);
  for (const path of ['/d', '/d/x', '/d/sub/y', '/dx', '/e']) {
    cache.set(path, { own: attrs(1) });
  }
  cache.forgetTree('/d');
  assert.deepEqual(
    ['/d', '/d/x', '/d/sub/y', '/dx', '/e'].map((p) => cache.get(p) !== undefined),
    [false, false, false, true, true],
  );
});

test('forgetTree also drops entries past their lifetime, so the cache holds about one lifetime of them', () => {
  let now = 1000;
  const cache = new AttributeCache(500, () => now);
  for (let i = 0; i < 100; i++) {
    cache.set(`/old/${i}`, { own: attrs(i) });
  }
  now += 501;
  cache.set('/new', { own: attrs(1) });
  cache.forgetTree('/elsewhere');
  assert.equal(cache.size, 1);
  assert.equal(cache.get('/new')?.own.size, 1);
});

test('a lifetime of 0 turns it off', () => {
  const cache = new AttributeCache(0);
  cache.set('/a', { own: attrs(1) });
  assert.equal(cache.get('/a'), undefined);
});
