import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import {
  isSafeEntryName,
  isSameOrInside,
  joinRemote,
  normalizeRemotePath,
} from '../../src/core/common/remotePath';

test('normalises dots, double slashes and trailing slashes', () => {
  assert.equal(normalizeRemotePath('/a//b/./c/../d/'), '/a/b/d');
  assert.equal(normalizeRemotePath('/'), '/');
  assert.equal(normalizeRemotePath('/..'), '/');
});

test('rejects relative paths and NUL bytes', () => {
  assert.throws(
    () => normalizeRemotePath('a/b'),
    (e) => e instanceof RemoteFsError && e.code === 'EINVAL',
  );
  assert.throws(
    () => normalizeRemotePath('/a\0b'),
    (e) => e instanceof RemoteFsError && e.code === 'EINVAL',
  );
});

test('accepts only entry names that name exactly one child', () => {
  for (const bad of ['', '.', '..', 'a/b', '../x', 'nul\0']) {
    assert.equal(isSafeEntryName(bad), false, JSON.stringify(bad));
  }
  for (const good of ['a', '.hidden', '...', 'with space', 'tab\tname', '%2F']) {
    assert.equal(isSafeEntryName(good), true, JSON.stringify(good));
  }
});

test('joins under the root without a double slash', () => {
  assert.equal(joinRemote('/', 'a'), '/a');
  assert.equal(joinRemote('/x', 'a'), '/x/a');
});

test('tells a path inside a folder from a sibling sharing its prefix', () => {
  assert.equal(isSameOrInside('/a', '/a/b'), true);
  assert.equal(isSameOrInside('/a', '/a'), true);
  assert.equal(isSameOrInside('/a', '/ab'), false);
  assert.equal(isSameOrInside('/', '/anything'), true);
});
