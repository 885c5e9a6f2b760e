import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { parseAuthority } from '../../src/core/config/authority';
import { resolveHost } from '../../src/core/config/hostResolver';

/**
 * The resolver against OpenSSH itself: for the same config file, what `ssh -G` prints must be what
 * we resolve. ssh expands ~ from the password database, so the real home is used on both sides.
 */
const home = userInfo().homedir;
const dir = mkdtempSync(join(tmpdir(), 'sftpfs-config-'));
mkdirSync(join(dir, 'conf.d'));
writeFileSync(join(dir, 'conf.d', 'extra.conf'), 'Host included\n  HostName included.example\n  Port 2022\n');
const config = join(dir, 'config');
writeFileSync(
  config,
  [
    `Include ${join(dir, 'conf.d')}/*.conf`,
    'Host web web-*',
    '  HostName %h.example.com',
    '  User deploy',
    '  IdentityFile ~/.ssh/web_%r',
    '  IdentityFile %d/second_%h',
    '  UserKnownHostsFile ~/kh_%h %d/kh2',
    '  ServerAliveInterval 7',
    '  ServerAliveCountMax 4',
    'Host !web-private web-*',
    '  ProxyJump bastion',
    'Match user admin',
    '  Port 2200',
    '  StrictHostKeyChecking accept-new',
    'Match originalhost alias-*',
    '  HostName 192.0.2.10',
    'Host *',
    '  ConnectTimeout 9',
    '  HostKeyAlias shared-alias',
    '  User fallback',
    '',
  ].join('\n'),
);

function ssh(alias: string): Map<string, string[]> {
  const out = execFileSync('ssh', ['-G', '-F', config, alias], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const values = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const [key, ...rest] = line.split(' ');
    if (key) {
      values.set(key, [...(values.get(key) ?? []), rest.join(' ')]);
    }
  }
  return values;
}

for (const alias of ['web', 'web-1', 'web-private', 'admin@web-2', 'included', 'alias-x', 'plain.example']) {
  test(`resolves ${alias} as ssh -G does`, () => {
    const authority = parseAuthority(alias);
    const ours = resolveHost(authority, {
      configFiles: [config],
      homeDir: home,
      localUser: userInfo().username,
      environment: {},
    });
    const theirs = ssh(alias);
    const one = (key: string): string | undefined => theirs.get(key)?.[0];
    assert.equal(ours.hostName, one('hostname'));
    assert.equal(ours.user, one('user'));
    assert.equal(String(ours.port), one('port'));
    assert.equal(ours.proxyJump, one('proxyjump'));
    assert.equal(
      ours.strictHostKeyChecking,
      one('stricthostkeychecking') === 'false' ? 'no' : one('stricthostkeychecking'),
    );
    // One deliberate difference: without ServerAliveInterval ssh sends no keepalives (0); we send one
    // every 15 s so that a dead link is noticed and reconnected instead of hanging.
    const interval = one('serveraliveinterval');
    assert.equal(String(ours.keepaliveIntervalMs / 1000), interval === '0' ? '15' : interval);
    assert.equal(String(ours.keepaliveCountMax), one('serveralivecountmax'));
    assert.equal(String(ours.connectTimeoutMs / 1000), one('connecttimeout'));
    assert.equal(ours.hostKeyAlias, one('hostkeyalias'));
    assert.deepEqual(ours.userKnownHostsFiles, (one('userknownhostsfile') ?? '').split(' '));
    // ssh -G prints IdentityFile unexpanded; expand its tokens the way ssh does when it loads keys.
    const expand = (value: string): string =>
      value.replace(/^~/, home).replace(/%d/g, home).replace(/%r/g, ours.user).replace(/%h/g, ours.hostName);
    const configured = (theirs.get('identityfile') ?? []).map(expand);
    if (ours.identityFiles.length > 0 || configured.some((f) => !/\/\.ssh\/id_[a-z0-9_]+$/.test(f))) {
      assert.deepEqual(ours.identityFiles, configured);
    }
  });
}
