import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { parseAuthority } from '../../src/core/config/authority';
import { defaultConfigFiles, listConfiguredHosts, resolveHost } from '../../src/core/config/hostResolver';

function homeWithConfig(config: string, extraFiles: Record<string, string> = {}): string {
  const home = mkdtempSync(join(tmpdir(), 'sftpfs-home-'));
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'config'), config);
  for (const [name, content] of Object.entries(extraFiles)) {
    mkdirSync(join(home, '.ssh', name, '..'), { recursive: true });
    writeFileSync(join(home, '.ssh', name), content);
  }
  return home;
}

function resolve(text: string, home: string) {
  return resolveHost(parseAuthority(text), {
    homeDir: home,
    localUser: 'local',
    configFiles: [join(home, '.ssh', 'config')],
    environment: { SSH_AUTH_SOCK: '/run/agent.sock' },
  });
}

test('applies HostName, User, Port and IdentityFile of an alias', () => {
  const home = homeWithConfig(
    'Host web\n  HostName 10.0.0.5\n  User deploy\n  Port 2200\n  IdentityFile ~/.ssh/web_key\n',
  );
  const host = resolve('web', home);
  assert.equal(host.hostName, '10.0.0.5');
  assert.equal(host.user, 'deploy');
  assert.equal(host.port, 2200);
  assert.deepEqual(host.identityFiles, [join(home, '.ssh', 'web_key')]);
});

test('lets the first value win and the URI override user and port', () => {
  const home = homeWithConfig('Host web\n  User first\n  Port 1\nHost *\n  User second\n  Port 2\n');
  assert.equal(resolve('web', home).user, 'first');
  const overridden = resolve('other@web:3', home);
  assert.equal(overridden.user, 'other');
  assert.equal(overridden.port, 3);
  assert.equal(resolve('elsewhere', home).user, 'second');
});

test('keeps several IdentityFiles in order and expands tokens', () => {
  const home = homeWithConfig(
    'Host box\n  HostName box.example\n  IdentityFile ~/.ssh/%h_%r\n  IdentityFile %d/second\n  User me\n',
  );
  assert.deepEqual(resolve('box', home).identityFiles, [
    join(home, '.ssh', 'box.example_me'),
    join(home, 'second'),
  ]);
});

test('follows Include with globs relative to ~/.ssh', () => {
  const home = homeWithConfig('Include conf.d/*.conf\nHost *\n  User fallback\n', {
    'conf.d/a.conf': 'Host inc\n  HostName included.example\n  User inc-user\n',
  });
  const host = resolve('inc', home);
  assert.equal(host.hostName, 'included.example');
  assert.equal(host.user, 'inc-user');
});

test('defaults: port 22, the local user, ask for unknown keys, the agent from SSH_AUTH_SOCK', () => {
  const host = resolve('plain.example', homeWithConfig(''));
  assert.equal(host.port, 22);
  assert.equal(host.user, 'local');
  assert.equal(host.strictHostKeyChecking, 'ask');
  assert.equal(host.agentSocket, '/run/agent.sock');
  assert.ok(host.userKnownHostsFiles[0]?.endsWith('/.ssh/known_hosts'));
});

test('reads StrictHostKeyChecking, UserKnownHostsFile, IdentityAgent none and ProxyJump', () => {
  const home = homeWithConfig(
    'Host strict\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile ~/kh1 ~/kh2\n  IdentityAgent none\n  ProxyJump bastion\n',
  );
  const host = resolve('strict', home);
  assert.equal(host.strictHostKeyChecking, 'accept-new');
  assert.deepEqual(host.userKnownHostsFiles, [join(home, 'kh1'), join(home, 'kh2')]);
  assert.equal(host.agentSocket, undefined);
  assert.equal(host.proxyJump, 'bastion');
});

test('applies Match user with the user from the URI', () => {
  const home = homeWithConfig('Match user deploy\n  Port 2201\nHost *\n  Port 22\n');
  assert.equal(resolve('deploy@box', home).port, 2201);
  assert.equal(resolve('other@box', home).port, 22);
});

test('applies Match host and Match all', () => {
  const home = homeWithConfig('Match host *.internal\n  User insider\nMatch all\n  User everyone\n');
  assert.equal(resolve('db.internal', home).user, 'insider');
  assert.equal(resolve('db.example', home).user, 'everyone');
});

test('never runs Match exec unless allowed', () => {
  const home = homeWithConfig('');
  const marker = join(home, 'exec-ran');
  writeFileSync(join(home, '.ssh', 'config'), `Match exec "touch ${marker}"\n  User ran\n`);
  const host = resolve('box', home);
  assert.equal(existsSync(marker), false);
  assert.equal(host.user, 'local');
});

test('reads hosts from the settings before ~/.ssh/config', () => {
  const home = homeWithConfig('Host nas\n  User from-file\n  Port 1\n');
  const host = resolveHost(parseAuthority('nas'), {
    homeDir: home,
    localUser: 'local',
    configFiles: [join(home, '.ssh', 'config')],
    leadingConfig: 'Host nas\n  User from-settings\n',
    environment: {},
  });
  assert.equal(host.user, 'from-settings');
  assert.equal(host.port, 1);
});

test('reads algorithm lines and Compression as written', () => {
  const home = homeWithConfig(
    'Host old\n  HostKeyAlgorithms +ssh-rsa\n  Ciphers ^aes256-ctr\n  Compression yes\n',
  );
  const { algorithms } = resolve('old', home);
  assert.equal(algorithms.hostKeys, '+ssh-rsa');
  assert.equal(algorithms.ciphers, '^aes256-ctr');
  assert.equal(algorithms.compression, true);
});

test('turns PreferredAuthentications and the per-method switches into an order', () => {
  const home = homeWithConfig(
    'Host a\n  PreferredAuthentications password,publickey\nHost b\n  PasswordAuthentication no\n',
  );
  assert.deepEqual(resolve('a', home).preferredAuthentications, ['password', 'publickey']);
  assert.deepEqual(resolve('b', home).preferredAuthentications, ['publickey', 'keyboard-interactive']);
});

test('the host list offers concrete aliases from settings and config files, without patterns or repeats', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftpfs-hosts-'));
  try {
    writeFileSync(join(dir, 'extra'), 'Host included-one\n  HostName 10.0.0.9\n');
    writeFileSync(
      join(dir, 'config'),
      `Include ${join(dir, 'extra')}\nHost web db\n  User x\nHost *.internal !bastion-* dev?\n  Port 2\nHost web\n  Port 3\nMatch host foo\n  User y\n`,
    );
    const hosts = listConfiguredHosts({
      configFiles: [join(dir, 'config'), join(dir, 'missing')],
      leadingConfig: 'Host from-settings\n  HostName 10.0.0.1\n',
      homeDir: dir,
    });
    assert.deepEqual(hosts, ['from-settings', 'included-one', 'web', 'db']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('OpenSSH for Windows: system files under %PROGRAMDATA%\\ssh, the agent service pipe without SSH_AUTH_SOCK', () => {
  assert.deepEqual(defaultConfigFiles('C:\\Users\\me', 'win32', { PROGRAMDATA: 'D:\\ProgramData' }), [
    'C:\\Users\\me\\.ssh\\config',
    'D:\\ProgramData\\ssh\\ssh_config',
  ]);
  assert.deepEqual(defaultConfigFiles('/home/me', 'linux', {}), [
    '/home/me/.ssh/config',
    '/etc/ssh/ssh_config',
  ]);
  const home = homeWithConfig('Host box\n  HostName 10.0.0.9\n');
  try {
    const onWindows = (environment: NodeJS.ProcessEnv, config = join(home, '.ssh', 'config')) =>
      resolveHost(parseAuthority('box'), {
        homeDir: home,
        localUser: 'me',
        configFiles: [config],
        environment,
        platform: 'win32',
        windowsPipes: () => ['openssh-ssh-agent'],
      });
    const plain = onWindows({ PROGRAMDATA: 'C:\\ProgramData' });
    assert.equal(plain.agentSocket, '\\\\.\\pipe\\openssh-ssh-agent');
    assert.deepEqual(plain.globalKnownHostsFiles, [
      'C:\\ProgramData\\ssh\\ssh_known_hosts',
      'C:\\ProgramData\\ssh\\ssh_known_hosts2',
    ]);
    assert.equal(onWindows({ SSH_AUTH_SOCK: '\\\\.\\pipe\\my-agent' }).agentSocket, '\\\\.\\pipe\\my-agent');
    writeFileSync(join(home, '.ssh', 'no-agent'), 'Host box\n  IdentityAgent none\n');
    assert.equal(onWindows({}, join(home, '.ssh', 'no-agent')).agentSocket, undefined);
    const onLinux = resolveHost(parseAuthority('box'), {
      homeDir: home,
      localUser: 'me',
      configFiles: [],
      environment: {},
      platform: 'linux',
    });
    assert.equal(onLinux.agentSocket, undefined, 'no agent pipe off Windows');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

const PAGEANT_HASH = 'a3f1'.repeat(16);

function onWindows(
  config: string,
  pipes: readonly string[] | undefined,
  environment: NodeJS.ProcessEnv = {},
) {
  const home = homeWithConfig(config);
  try {
    return resolveHost(parseAuthority('box'), {
      homeDir: home,
      localUser: 'Me',
      configFiles: [join(home, '.ssh', 'config')],
      environment,
      platform: 'win32',
      windowsPipes: () => pipes,
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test('Windows without SSH_AUTH_SOCK: the OpenSSH agent service if its pipe is open, else Pageant, else none', () => {
  const pageant = `pageant.me.${PAGEANT_HASH}`;
  assert.equal(
    onWindows('', ['InitShutdown', pageant, 'openssh-ssh-agent']).agentSocket,
    '\\\\.\\pipe\\openssh-ssh-agent',
    'ssh.exe asks the agent service',
  );
  assert.equal(onWindows('', ['InitShutdown', pageant]).agentSocket, `\\\\.\\pipe\\${pageant}`);
  assert.equal(onWindows('', ['InitShutdown', 'lsass']).agentSocket, undefined, 'no agent is running');
  assert.equal(
    onWindows('', undefined).agentSocket,
    '\\\\.\\pipe\\openssh-ssh-agent',
    'pipes that cannot be listed: the pipe ssh.exe would ask',
  );
  assert.equal(
    onWindows('', [pageant], { SSH_AUTH_SOCK: '\\\\.\\pipe\\other-agent' }).agentSocket,
    '\\\\.\\pipe\\other-agent',
    'SSH_AUTH_SOCK still comes first',
  );
});

test("Pageant's pipe is the local user's among other users' (names are compared as Windows does, ignoring case)", () => {
  const others = [`pageant.alice.${PAGEANT_HASH}`, `pageant.bob.${PAGEANT_HASH}`];
  const mine = `pageant.ME.${'0b'.repeat(32)}`;
  assert.equal(onWindows('', [...others, mine]).agentSocket, `\\\\.\\pipe\\${mine}`);
  assert.equal(onWindows('', others).agentSocket, undefined, "another user's agent is never chosen by guess");
  // A domain account's pipe carries its principal name, which can differ from the account name.
  const domain = `pageant.me.smith.${PAGEANT_HASH}`;
  assert.equal(onWindows('', [domain]).agentSocket, `\\\\.\\pipe\\${domain}`);
  assert.equal(onWindows('', ['pageant.me.not-a-hash']).agentSocket, undefined);
});

test('IdentityAgent pageant names the running Pageant, and says why when none is running', () => {
  const pageant = `pageant.me.${PAGEANT_HASH}`;
  const found = onWindows('Host box\n  IdentityAgent pageant\n', ['openssh-ssh-agent', pageant]);
  assert.equal(found.agentSocket, `\\\\.\\pipe\\${pageant}`, 'even with the OpenSSH agent running');
  assert.equal(found.agentUnavailable, undefined);
  const missing = onWindows('Host box\n  IdentityAgent Pageant\n', ['openssh-ssh-agent']);
  assert.equal(missing.agentSocket, undefined);
  assert.match(missing.agentUnavailable ?? '', /Pageant is not running, or is older than 0\.75/);
  assert.match(missing.agentUnavailable ?? '', /pagent\.exe/);
  const unlisted = onWindows('Host box\n  IdentityAgent pageant\n', undefined);
  assert.equal(unlisted.agentSocket, undefined);
  assert.match(unlisted.agentUnavailable ?? '', /could not be listed/);
});

test('IdentityAgent as pageant --openssh-config writes it (forward slashes) becomes the Windows pipe path', () => {
  const pipe = `pageant.me.${PAGEANT_HASH}`;
  assert.equal(
    onWindows(`Host box\n  IdentityAgent "//./pipe/${pipe}"\n`, []).agentSocket,
    `\\\\.\\pipe\\${pipe}`,
  );
  assert.equal(
    onWindows(`Host box\n  IdentityAgent \\\\.\\pipe\\${pipe}\n`, []).agentSocket,
    `\\\\.\\pipe\\${pipe}`,
  );
});

test('off Windows, IdentityAgent pageant is a socket path like any other and no pipe is looked for', () => {
  const home = homeWithConfig('Host box\n  IdentityAgent pageant\n');
  try {
    const host = resolveHost(parseAuthority('box'), {
      homeDir: home,
      localUser: 'me',
      configFiles: [join(home, '.ssh', 'config')],
      environment: {},
      platform: 'linux',
      windowsPipes: () => assert.fail('pipes are a Windows matter'),
    });
    assert.equal(host.agentSocket, 'pageant');
    assert.equal(host.agentUnavailable, undefined);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
