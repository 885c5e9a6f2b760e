import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { listConfiguredHostSources } from '../../src/core/config/hostResolver';
import {
  appendHostBlock,
  chooseAlias,
  hasHostSetting,
  hostLineIndex,
  hostSettingEntry,
  identityFileProblem,
  parseNewHost,
  remoteFolderName,
  renderHostBlock,
  textToAppend,
  userConfigFile,
  withoutHostSetting,
} from '../../src/core/config/managedHosts';
import { hostsToConfig } from '../../src/core/config/settingsHosts';

const withTempDir = (body: (dir: string) => void): void => {
  const dir = mkdtempSync(join(tmpdir(), 'sftpfs-hosts-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test('Add Host takes user@host:port and sftp:// without a path, and names what is wrong otherwise', () => {
  assert.deepEqual(parseNewHost('pi@Example.org:2222'), {
    ok: true,
    host: 'example.org',
    user: 'pi',
    port: 2222,
  });
  assert.deepEqual(parseNewHost('sftp://nas'), { ok: true, host: 'nas', user: undefined, port: undefined });
  assert.deepEqual(parseNewHost('[::1]:22'), { ok: true, host: '::1', user: undefined, port: 22 });
  for (const [typed, problem] of [
    ['pi@host:99999', /out of range/],
    ['host:/srv', /without a folder/],
    ['', /Type a host/],
    ['-oProxyCommand=x', /host name/],
  ] as const) {
    const parsed = parseNewHost(typed);
    assert.equal(parsed.ok, false, typed);
    assert.match(parsed.ok ? '' : parsed.problem, problem, typed);
  }
});

test('a key file path with a quote or a line break is refused; spaces are fine', () => {
  assert.match(identityFileProblem('/k"ey') ?? '', /quotes or line breaks/);
  assert.match(identityFileProblem('/k\n  ProxyCommand evil') ?? '', /quotes or line breaks/);
  assert.equal(identityFileProblem('/home/me/my keys/id'), undefined);
});

test('the alias is the host name, numbered when a host of that name (any case) exists', () => {
  assert.equal(chooseAlias('pi', []), 'pi');
  assert.equal(chooseAlias('pi', ['PI', 'pi-2']), 'pi-3');
  assert.equal(chooseAlias('::1', []), '1');
  assert.equal(chooseAlias('fe80::1%eth0', []), 'fe80-1-eth0');
  assert.equal(chooseAlias(':::', []), 'host');
});

test('a Host block has HostName and what was given, and quotes a key path with spaces', () => {
  assert.equal(
    renderHostBlock('nas', { host: '10.0.0.2', user: 'admin', port: 2222, identityFile: '~/my keys/id' }),
    'Host nas\n  HostName 10.0.0.2\n  User admin\n  Port 2222\n  IdentityFile "~/my keys/id"\n',
  );
  assert.equal(
    renderHostBlock('pi', { host: 'pi', user: undefined, port: undefined, identityFile: undefined }),
    'Host pi\n  HostName pi\n',
  );
});

test('an appended block follows the existing text after one blank line, whatever its last line ends with', () => {
  const block = 'Host b\n  HostName b\n';
  assert.equal(textToAppend('', block), block);
  assert.equal(textToAppend('Host a\n', block), `\n${block}`);
  assert.equal(textToAppend('Host a', block), `\n\n${block}`);
  assert.equal(textToAppend('Host a\n\n', block), block);
});

test('appending creates a missing config with mode 0600 in a 0700 folder', () => {
  withTempDir((dir) => {
    const file = join(dir, 'ssh', 'config');
    appendHostBlock(file, 'Host b\n  HostName b\n');
    assert.equal(readFileSync(file, 'utf8'), 'Host b\n  HostName b\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'ssh')).mode & 0o777, 0o700);
  });
});

test('appending keeps the existing content byte for byte and its mode', () => {
  withTempDir((dir) => {
    const file = join(dir, 'config');
    const before = '# mine\r\nHost a\r\n  User x';
    writeFileSync(file, before, { mode: 0o644 });
    appendHostBlock(file, 'Host b\n  HostName b\n');
    const after = readFileSync(file, 'utf8');
    assert.ok(after.startsWith(before));
    assert.equal(after, `${before}\n\nHost b\n  HostName b\n`);
    assert.equal(statSync(file).mode & 0o777, 0o644);
  });
});

test('the settings entry omits hostName when it is the name, and makes the same config as the block', () => {
  const host = { host: 'pi', user: 'me', port: 2200, identityFile: '/k' };
  assert.deepEqual(hostSettingEntry('pi', host), { name: 'pi', user: 'me', port: 2200, identityFile: '/k' });
  const other = hostSettingEntry('pi-2', host);
  assert.equal(other.hostName, 'pi');
  assert.equal(hostsToConfig([other]), renderHostBlock('pi-2', host).trimEnd());
});

test('removing a settings host drops only the entries of that name and keeps the others as written', () => {
  const hosts = [{ name: 'a' }, 'junk', { name: 'b', port: 1 }, { name: 'a', user: 'x' }, null];
  assert.deepEqual(withoutHostSetting(hosts, 'a'), ['junk', { name: 'b', port: 1 }, null]);
  assert.equal(hasHostSetting(hosts, 'b'), true);
  assert.equal(hasHostSetting(hosts, 'c'), false);
});

test('the Host line of an alias is found among patterns, in any case, with = and quotes', () => {
  const text = '# Host pi\nHost *\n  User x\n\nhost=web  "db"  # servers\nHost db-2 pi\n  HostName 1.2.3.4\n';
  assert.equal(hostLineIndex(text, 'pi'), 5);
  assert.equal(hostLineIndex(text, 'DB'), 4);
  assert.equal(hostLineIndex(text, 'web'), 4);
  assert.equal(hostLineIndex(text, 'servers'), undefined);
  assert.equal(hostLineIndex(text, 'db-'), undefined);
});

test('the file hosts are added to is the sshConfigFile setting (~ expanded) or ~/.ssh/config', () => {
  assert.equal(userConfigFile(undefined, '/home/me'), '/home/me/.ssh/config');
  assert.equal(userConfigFile('  ', '/home/me'), '/home/me/.ssh/config');
  assert.equal(userConfigFile('~/.ssh/editor', '/home/me'), '/home/me/.ssh/editor');
  assert.equal(userConfigFile('/etc/x', '/home/me'), '/etc/x');
});

test('configured hosts say which file names them first, through Includes; settings hosts have none', () => {
  withTempDir((dir) => {
    const main = join(dir, 'config');
    const extra = join(dir, 'extra');
    writeFileSync(main, `Include ${extra}\nHost a b\n  HostName x\nHost c\n`);
    writeFileSync(extra, 'Host d a\n');
    assert.deepEqual(
      listConfiguredHostSources({ configFiles: [main], leadingConfig: 'Host s\n  HostName y', homeDir: dir }),
      [
        { alias: 's', file: undefined },
        { alias: 'd', file: extra },
        { alias: 'a', file: extra },
        { alias: 'b', file: main },
        { alias: 'c', file: main },
      ],
    );
  });
});

test('a workspace folder is named after its folder and host, without the user, with a port if given', () => {
  assert.equal(remoteFolderName('pi', '/home/pi/project'), 'project (pi)');
  assert.equal(remoteFolderName('me@example.org:2222', '/srv/www/'), 'www (example.org:2222)');
  assert.equal(remoteFolderName('[::1]:22', '/'), '/ ([::1]:22)');
});
