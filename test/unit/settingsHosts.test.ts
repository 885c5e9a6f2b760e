import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import { hostsToConfig, usableHostsToConfig } from '../../src/core/config/settingsHosts';

test('writes one Host block per setting, quoting values with spaces', () => {
  assert.equal(
    hostsToConfig([
      { name: 'nas', hostName: '10.0.0.2', user: 'admin', port: 2222, identityFile: ['/k 1', '/k2'] },
    ]),
    'Host nas\n  HostName 10.0.0.2\n  User admin\n  Port 2222\n  IdentityFile "/k 1"\n  IdentityFile /k2',
  );
});

test('refuses values that would inject more directives or shell syntax', () => {
  const bad = [
    { name: 'ok', identityFile: '/k\n  ProxyCommand evil' },
    { name: 'x y' },
    { name: 'ok', hostName: 'host;id' },
    { name: 'ok', user: '-oProxyCommand' },
  ];
  for (const host of bad) {
    assert.throws(() => hostsToConfig([host]), RemoteFsError, JSON.stringify(host));
  }
});

test('an invalid or malformed entry is left out and named; the valid ones still make a config', () => {
  const { text, problems } = usableHostsToConfig([
    { name: 'nas', hostName: '10.0.0.2' },
    { name: 'x y' },
    'just a string',
    { hostName: 'no-name' },
    { name: 'pi', user: 'pi' },
  ]);
  assert.equal(text, 'Host nas\n  HostName 10.0.0.2\nHost pi\n  User pi');
  assert.equal(problems.length, 3);
  assert.match(problems[0] ?? '', /Invalid host name.*"x y".*ignored/);
  assert.match(problems[1] ?? '', /Entry 3 .* no "name"/);
  assert.match(problems[2] ?? '', /Entry 4 .* no "name"/);
});
