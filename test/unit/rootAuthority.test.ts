import assert from 'node:assert/strict';
import { test } from 'node:test';

import { nullLogger } from '../../src/core/common/logger';
import { parseAuthority } from '../../src/core/config/authority';
import { asRootAuthority, isRootAuthority, rootRouteOf } from '../../src/core/config/rootAuthority';
import { ConnectionManager } from '../../src/core/connection/connectionManager';

test('the root marker follows the user name, and is added once', () => {
  assert.equal(asRootAuthority('alice@web1'), 'alice;sudo@web1');
  assert.equal(asRootAuthority('alice@web1:2222'), 'alice;sudo@web1:2222');
  assert.equal(asRootAuthority('web1'), ';sudo@web1');
  assert.equal(asRootAuthority('alice;sudo@web1'), 'alice;sudo@web1');
  assert.equal(asRootAuthority('me@corp@[::1]:22'), 'me@corp;sudo@[::1]:22');
});

test('a root authority names the login its files are reached through', () => {
  assert.deepEqual(rootRouteOf('alice;sudo@web1:2222'), { login: 'alice@web1:2222', asRoot: true });
  assert.deepEqual(rootRouteOf(';sudo@web1'), { login: 'web1', asRoot: true });
  assert.deepEqual(rootRouteOf('alice@web1'), { login: 'alice@web1', asRoot: false });
  assert.deepEqual(rootRouteOf('web1'), { login: 'web1', asRoot: false });
  assert.equal(isRootAuthority('alice;sudo@web1'), true);
  assert.equal(isRootAuthority('sudo@web1'), false, 'a user named sudo is just a user');
});

test('no login can be taken for the marker: a user name with ";" is refused', () => {
  assert.throws(() => parseAuthority('alice;sudo@web1'), /user name contains characters/);
});

test('the connection manager keys a root route apart from its login, and a root route shares the login state', () => {
  const manager = new ConnectionManager({
    resolveHost: () => {
      throw new Error('not connecting in a unit test');
    },
    logger: nullLogger,
    fileSystem: { maxReadFileBytes: 1024 },
  });
  assert.equal(manager.keyOf('alice;sudo@WEB1:22'), 'alice;sudo@web1:22');
  assert.equal(manager.keyOf('alice@WEB1:22'), 'alice@web1:22');
  assert.notEqual(manager.fileSystem('alice;sudo@web1'), manager.fileSystem('alice@web1'));
  assert.equal(manager.fileSystem('alice;sudo@WEB1'), manager.fileSystem('alice;sudo@web1'));
  assert.equal(manager.state('alice;sudo@web1'), 'disconnected');
  assert.deepEqual(
    manager.knownHosts().map(({ authority }) => authority),
    ['alice@web1'],
    'the Hosts view lists the login only',
  );
  manager.dispose();
});
