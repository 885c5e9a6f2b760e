import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utils } from 'ssh2';

import { RemoteFsError } from '../../src/core/common/errors';
import { describeStatus, knownStatuses, toRemoteError } from '../../src/core/sftp/statusCodes';

test('the table names every SFTP status from 1 to 31', () => {
  assert.deepEqual(
    knownStatuses().sort((a, b) => a - b),
    Array.from({ length: 31 }, (_, i) => i + 1),
  );
});

test('the table agrees with ssh2 on the names of the version 3 statuses', () => {
  // The TypeScript enum maps both ways; only the name -> number direction is wanted.
  for (const [name, value] of Object.entries(utils.sftp.STATUS_CODE)) {
    if (typeof value === 'number' && value !== 0) {
      assert.equal(describeStatus(value).name, name);
    }
  }
});

test('maps the statuses VS Code distinguishes to the matching core codes', () => {
  const expectations: Array<[number, string]> = [
    [2, 'ENOENT'],
    [3, 'EACCES'],
    [4, 'EFAILURE'],
    [8, 'EUNSUPPORTED'],
    [10, 'ENOENT'],
    [11, 'EEXIST'],
    [14, 'ENOSPC'],
    [15, 'ENOSPC'],
    [18, 'ENOTEMPTY'],
    [19, 'ENOTDIR'],
    [24, 'EISDIR'],
    [7, 'ECONNLOST'],
  ];
  for (const [status, code] of expectations) {
    assert.equal(describeStatus(status).code, code, `status ${status}`);
  }
});

test('keeps the server message and the path', () => {
  const error = toRemoteError(Object.assign(new Error('Operation not permitted on /x'), { code: 3 }), '/x');
  assert.equal(error.code, 'EACCES');
  assert.equal(error.serverMessage, 'Operation not permitted on /x');
  assert.equal(error.sftpStatus, 3);
  assert.equal(
    error.message,
    'Permission denied: /x (Error message from server: Operation not permitted on /x)',
  );
});

test('does not repeat ssh2 default text as if the server had said it', () => {
  const error = toRemoteError(Object.assign(new Error('No such file'), { code: 2 }), '/x');
  assert.equal(error.serverMessage, undefined);
  assert.equal(error.message, 'No such file or folder: /x');
});

test('turns ssh2 "No response from server" into ECONNLOST', () => {
  assert.equal(toRemoteError(new Error('No response from server'), '/x').code, 'ECONNLOST');
});

test('an unknown status becomes a generic failure that names the number', () => {
  const error = toRemoteError(Object.assign(new Error(''), { code: 99 }));
  assert.equal(error.code, 'EFAILURE');
  assert.match(error.message, /99/);
});

test('never converts an already converted error again', () => {
  const original = new RemoteFsError('EEXIST', 'Already exists', { path: '/a' });
  assert.equal(toRemoteError(original, '/b'), original);
});
