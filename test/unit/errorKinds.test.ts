import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ERROR_KIND_BY_CODE } from '../../src/adapter/errorKinds';

test('connection, authentication and host-key failures surface as Unavailable', () => {
  for (const code of ['ECONNLOST', 'ECONNECT', 'ETIMEDOUT', 'EAUTH', 'EHOSTKEY'] as const) {
    assert.equal(ERROR_KIND_BY_CODE[code], 'Unavailable', code);
  }
});

test('the codes VS Code acts on map to their own FileSystemError', () => {
  assert.equal(ERROR_KIND_BY_CODE.ENOENT, 'FileNotFound');
  assert.equal(ERROR_KIND_BY_CODE.EEXIST, 'FileExists');
  assert.equal(ERROR_KIND_BY_CODE.ENOTDIR, 'FileNotADirectory');
  assert.equal(ERROR_KIND_BY_CODE.EISDIR, 'FileIsADirectory');
  assert.equal(ERROR_KIND_BY_CODE.EACCES, 'NoPermissions');
});
