import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import { formatAuthority, parseAuthority } from '../../src/core/config/authority';

test('parses user, host and port', () => {
  assert.deepEqual(parseAuthority('alice@example.com:2222'), {
    user: 'alice',
    host: 'example.com',
    port: 2222,
  });
  assert.deepEqual(parseAuthority('myalias'), { user: undefined, host: 'myalias', port: undefined });
});

test('parses bracketed IPv6 addresses', () => {
  assert.deepEqual(parseAuthority('bob@[::1]:22'), { user: 'bob', host: '::1', port: 22 });
  assert.equal(formatAuthority(parseAuthority('[::1]:22')), '[::1]:22');
});

test('decodes a percent-encoded user', () => {
  assert.equal(parseAuthority('first.last%40corp@host').user, 'first.last@corp');
});

test('rejects host names and users that could inject options or shell syntax', () => {
  for (const bad of [
    '-oProxyCommand=x',
    'host;rm',
    'a b',
    'host$(id)',
    '`id`',
    "ev'il",
    'x@-p',
    'us er@host',
    '$USER@host',
  ]) {
    assert.throws(
      () => parseAuthority(bad),
      (e) => e instanceof RemoteFsError && e.code === 'EINVAL',
      bad,
    );
  }
});

test('rejects ports out of range', () => {
  for (const bad of ['h:0', 'h:65536', 'h:abc', 'h:-1']) {
    assert.throws(() => parseAuthority(bad), RemoteFsError, bad);
  }
});

test('gives one key per host whatever the case of its name', () => {
  assert.equal(formatAuthority(parseAuthority('u@Example.COM:22')), 'u@example.com:22');
});
