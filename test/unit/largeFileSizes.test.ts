import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LargeFileSizes } from '../../src/core/fs/largeFileSizes';

describe('the sizes of large files read lately', () => {
  test('a file seen at or above the threshold is remembered with its last size', () => {
    const sizes = new LargeFileSizes(100);
    sizes.seen('/a', 100);
    sizes.seen('/b', 99);
    sizes.seen('/a', 500);
    assert.equal(sizes.get('/a'), 500);
    assert.equal(sizes.get('/b'), undefined);
  });

  test('a file seen small afterwards is forgotten', () => {
    const sizes = new LargeFileSizes(100);
    sizes.seen('/a', 1000);
    sizes.seen('/a', 10);
    assert.equal(sizes.get('/a'), undefined);
  });

  test('only the most recently seen files are kept', () => {
    const sizes = new LargeFileSizes(1, 3);
    for (const path of ['/1', '/2', '/3']) {
      sizes.seen(path, 5);
    }
    sizes.seen('/1', 6); // seen again: now the most recent
    sizes.seen('/4', 5);
    assert.equal(sizes.get('/2'), undefined, 'the oldest went first');
    assert.deepEqual(
      ['/1', '/3', '/4'].map((path) => sizes.get(path)),
      [6, 5, 5],
    );
  });
});
