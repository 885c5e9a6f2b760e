import assert from 'node:assert/strict';
import { test } from 'node:test';

import { passwordKey } from '../../src/core/ssh/credentials';

test('a remembered password belongs to a user on one server: host name and port, not the alias', () => {
  assert.notEqual(
    passwordKey('me', 'box', 22),
    passwordKey('me', 'box', 2222),
    'another sshd on the same box',
  );
  assert.notEqual(passwordKey('me', 'box', 22), passwordKey('you', 'box', 22));
  assert.equal(
    passwordKey('me', 'Box.Example', 22),
    passwordKey('me', 'box.example', 22),
    'host names ignore case',
  );
  assert.equal(passwordKey('me', '::1', 22), 'password:me@[::1]:22', 'an IPv6 address is bracketed');
});
