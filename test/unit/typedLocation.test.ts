import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseTypedLocation } from '../../src/core/config/typedLocation';

const accepted = (text: string): { authority: string; path: string | undefined } => {
  const result = parseTypedLocation(text);
  assert.ok(result.ok, `${text}: ${result.ok ? '' : result.problem}`);
  return { authority: result.authority, path: result.path };
};

const problemOf = (text: string): string => {
  const result = parseTypedLocation(text);
  assert.ok(!result.ok, `${text} was accepted as ${JSON.stringify(result)}`);
  return result.problem;
};

test('a pasted sftp:// address connects to its host, not to a host named sftp', () => {
  assert.deepEqual(accepted('sftp://example.com/srv/www'), { authority: 'example.com', path: '/srv/www' });
  assert.deepEqual(accepted('sftp://alice@example.com:2222/home/alice'), {
    authority: 'alice@example.com:2222',
    path: '/home/alice',
  });
  assert.deepEqual(accepted('SFTP://Example.COM'), { authority: 'example.com', path: undefined });
  assert.deepEqual(accepted('ssh://pi/etc'), { authority: 'pi', path: '/etc' });
});

test('an sftp:// address has its percent-encoding decoded', () => {
  assert.deepEqual(accepted('sftp://first.last%40corp@host/my%20files'), {
    authority: 'first.last@corp@host',
    path: '/my files',
  });
});

test('user@host:port/path names user, host, port and folder', () => {
  assert.deepEqual(accepted('bob@10.0.0.5:2200/var/log'), {
    authority: 'bob@10.0.0.5:2200',
    path: '/var/log',
  });
  assert.deepEqual(accepted('host:22'), { authority: 'host:22', path: undefined });
});

test('scp style host:/path is a host and an absolute path', () => {
  assert.deepEqual(accepted('bob@build:/opt/app'), { authority: 'bob@build', path: '/opt/app' });
  assert.deepEqual(accepted('build:/'), { authority: 'build', path: '/' });
  assert.deepEqual(accepted('build:'), { authority: 'build', path: undefined });
});

test('an ssh_config alias alone, or with a path after a slash, is accepted', () => {
  assert.deepEqual(accepted('my-server'), { authority: 'my-server', path: undefined });
  assert.deepEqual(accepted('  my_server/srv  '), { authority: 'my_server', path: '/srv' });
});

test('bracketed IPv6 addresses work in every form', () => {
  assert.deepEqual(accepted('[::1]:2222/tmp'), { authority: '[::1]:2222', path: '/tmp' });
  assert.deepEqual(accepted('bob@[::1]:/tmp'), { authority: 'bob@[::1]', path: '/tmp' });
  assert.deepEqual(accepted('sftp://[::1]:22/x'), { authority: '[::1]:22', path: '/x' });
});

test('paths are normalized, and may contain spaces', () => {
  assert.deepEqual(accepted('host:/a/./b/../c/'), { authority: 'host', path: '/a/c' });
  assert.deepEqual(accepted('host:/My Documents'), { authority: 'host', path: '/My Documents' });
});

test('a port out of range is refused, naming the range', () => {
  assert.match(problemOf('127.0.0.1:99999/tmp'), /Port 99999 is out of range: ports go from 1 to 65535/);
  assert.match(problemOf('host:0'), /Port 0 is out of range/);
  assert.match(problemOf('sftp://host:70000/'), /Port 70000 is out of range/);
});

test('a port that is not a number is refused', () => {
  assert.match(problemOf('host:22x/tmp'), /port "22x" is not a number/);
});

test('a space between host and path is refused, saying how to write it', () => {
  assert.match(problemOf('host /tmp'), /has a space in it: write the path right after the host/);
  assert.match(problemOf('bob@ho st:/x'), /has a space in it/);
});

test('a relative scp path is refused', () => {
  assert.match(
    problemOf('host:projects'),
    /"projects" after the colon is neither a port number nor an absolute path/,
  );
  assert.match(
    problemOf('host:src/app'),
    /"src" after the colon is neither a port number nor an absolute path/,
  );
});

test('a path without a host is refused, with the form to use', () => {
  assert.match(problemOf('/etc/hosts'), /path without a host: type the host first, as host:\/etc\/hosts/);
});

test('schemes other than sftp are refused', () => {
  assert.match(
    problemOf('http://example.com/'),
    /Only sftp:\/\/ addresses can be opened here, not http:\/\//,
  );
});

test('an sftp:// address without a host, or with an empty port, is refused', () => {
  assert.match(problemOf('sftp:///tmp'), /no host after sftp:\/\//);
  assert.match(problemOf('sftp://host:/tmp'), /colon after the host needs a port number/);
});

test('broken percent-encoding is refused', () => {
  assert.match(problemOf('sftp://host/a%zzb'), /% that is not followed by two hexadecimal digits/);
});

test('host and user names that could carry options or shell syntax are refused', () => {
  assert.match(problemOf('-oProxyCommand=x'), /host name "-oProxyCommand=x" may contain only/);
  assert.match(problemOf('$(id)@host'), /user name "\$\(id\)" contains characters/);
  assert.match(problemOf('@host'), /nothing before the @/);
  assert.match(problemOf('bob@'), /no host name after bob@/);
});

test('nothing typed is a problem of its own', () => {
  assert.match(problemOf('   '), /Type a host/);
});

test('a NUL in the path is refused', () => {
  assert.match(problemOf('host:/a\0b'), /NUL/);
});

test('an unclosed IPv6 bracket is refused', () => {
  assert.match(problemOf('[::1:22/tmp'), /\[ without its \]/);
});
