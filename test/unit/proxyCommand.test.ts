import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import type { ResolvedHost } from '../../src/core/config/hostResolver';
import { expandProxyCommand, proxyCommandSpawn, type ProxyCommandSpawn } from '../../src/core/ssh/transport';

/** The command line CreateProcessW receives: with verbatim arguments Node joins argv0 and the rest with spaces. */
function windowsCommandLine(how: ProxyCommandSpawn): string {
  assert.equal(how.options.windowsVerbatimArguments, true);
  return [how.options.argv0 ?? how.file, ...how.args].join(' ');
}

const host = {
  alias: 'web',
  hostName: '10.0.0.5',
  port: 2222,
  user: 'deploy',
} as ResolvedHost;

test('expands %h, %p, %r, %n and %% as OpenSSH does, leaving other tokens alone', () => {
  assert.equal(
    expandProxyCommand(host, 'connect -H proxy:8080 %h %p %r@%n 100%% %k'),
    'connect -H proxy:8080 10.0.0.5 2222 deploy@web 100% %k',
  );
});

test('refuses a host or user name that a shell or cmd.exe could read as syntax', () => {
  for (const unsafe of [
    { ...host, hostName: '10.0.0.5;calc' },
    { ...host, hostName: 'a&b' },
    { ...host, user: 'me|calc' },
  ]) {
    assert.throws(
      () => expandProxyCommand(unsafe, 'nc %h %p'),
      (error: unknown) => error instanceof RemoteFsError && error.code === 'EINVAL',
    );
  }
});

test('elsewhere than Windows the command runs through /bin/sh with exec', () => {
  assert.deepEqual(proxyCommandSpawn('linux', 'ssh -W 10.0.0.5:22 bastion'), {
    file: '/bin/sh',
    args: ['-c', 'exec ssh -W 10.0.0.5:22 bastion'],
    options: {},
  });
  assert.equal(proxyCommandSpawn('darwin', 'nc %h %p').file, '/bin/sh');
});

test('on Windows the command line reaches CreateProcessW as written, with no shell', () => {
  const how = proxyCommandSpawn('win32', 'ssh -W 10.0.0.5:22 bastion', {});
  assert.equal(how.file, 'ssh', 'Node looks the program up on PATH, as CreateProcessW does');
  assert.deepEqual(how.args, ['-W 10.0.0.5:22 bastion']);
  assert.equal(windowsCommandLine(how), '"ssh" -W 10.0.0.5:22 bastion');
  assert.equal(how.options.windowsHide, true);
  // Quotes inside the arguments are the program's to read, exactly as the user wrote them.
  assert.equal(
    windowsCommandLine(proxyCommandSpawn('win32', 'ncat --proxy "my proxy:1080" 10.0.0.5 22', {})),
    '"ncat" --proxy "my proxy:1080" 10.0.0.5 22',
  );
});

test('on Windows a quoted program path may contain spaces', () => {
  const how = proxyCommandSpawn(
    'win32',
    '"C:\\Program Files (x86)\\Nmap\\ncat.exe" --proxy-type socks5 --proxy 127.0.0.1:1080 10.0.0.5 22',
    {},
  );
  assert.equal(how.file, 'C:\\Program Files (x86)\\Nmap\\ncat.exe');
  assert.equal(
    windowsCommandLine(how),
    '"C:\\Program Files (x86)\\Nmap\\ncat.exe" --proxy-type socks5 --proxy 127.0.0.1:1080 10.0.0.5 22',
  );
});

test('on Windows an unquoted path up to .exe may contain spaces, as Win32-OpenSSH allows', () => {
  const how = proxyCommandSpawn('win32', 'C:\\Program Files\\OpenSSH\\ssh.exe -W 10.0.0.5:22 bastion', {});
  assert.equal(how.file, 'C:\\Program Files\\OpenSSH\\ssh.exe');
  assert.deepEqual(how.args, ['-W 10.0.0.5:22 bastion']);
  // Only a leading path gets that reading: here the program is the first word.
  assert.equal(proxyCommandSpawn('win32', 'plink -proxycmd x.exe bastion', {}).file, 'plink');
});

test('on Windows a program without arguments gets none', () => {
  const how = proxyCommandSpawn('win32', 'C:\\tools\\tunnel.exe', {});
  assert.equal(how.file, 'C:\\tools\\tunnel.exe');
  assert.deepEqual(how.args, []);
  assert.equal(windowsCommandLine(how), '"C:\\tools\\tunnel.exe"');
});

test('on Windows a batch file runs through cmd.exe, which CreateProcessW would start for it', () => {
  const how = proxyCommandSpawn('win32', 'C:\\tools\\proxy.cmd 10.0.0.5 22', {
    ComSpec: 'C:\\Windows\\system32\\cmd.exe',
  });
  assert.equal(how.file, 'C:\\Windows\\system32\\cmd.exe');
  // /s: cmd.exe drops the outer quotes and runs the rest as typed.
  assert.deepEqual(how.args, ['/d', '/s', '/c', '""C:\\tools\\proxy.cmd" 10.0.0.5 22"']);
  const quoted = proxyCommandSpawn('win32', '"C:\\tools\\my proxy.cmd" 10.0.0.5 22', {});
  assert.equal(quoted.file, 'cmd.exe');
  assert.deepEqual(quoted.args, ['/d', '/s', '/c', '""C:\\tools\\my proxy.cmd" 10.0.0.5 22"']);
  assert.equal(quoted.options.argv0, undefined);
  assert.equal(quoted.options.windowsVerbatimArguments, true);
});

test('an empty ProxyCommand is refused before anything is started', () => {
  for (const platform of ['win32', 'linux'] as const) {
    assert.throws(
      () => proxyCommandSpawn(platform, '   ', {}),
      (error: unknown) => error instanceof RemoteFsError && error.code === 'EINVAL',
    );
  }
});
