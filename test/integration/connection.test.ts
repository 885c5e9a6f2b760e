import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { receiveWindowOf } from '../../src/core/sftp/sftpInternals';
import type { ResolvedHost } from '../../src/core/config/hostResolver';
import { freePort, stopProcess } from '../support/sshd';
import { RecordingLogger, rejectsWith, useSshd } from '../support/harness';

const h = useSshd();

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('timed out waiting');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A manager whose resolved host is changed by `adjust`, to try one setting at a time. */
function managerWith(
  adjust: (host: ResolvedHost) => ResolvedHost,
  logger = new RecordingLogger(),
): ConnectionManager {
  return new ConnectionManager({
    resolveHost: (authority) => adjust(h.sshd.resolve(authority)),
    logger,
    fileSystem: { maxReadFileBytes: 1 << 20 },
  });
}

describe('connections', () => {
  test('resolves the alias from ssh_config and reads the server limits through ssh2 internals', async () => {
    const session = await h.manager.session(h.sshd.alias);
    // If an ssh2 upgrade moves these private fields, the fallbacks (32 KiB, no extensions) show up here.
    assert.equal(session.limits.maxReadLength, 261120);
    assert.equal(session.limits.maxWriteLength, 261120);
    assert.ok(session.limits.maxOpenHandles > 64);
    assert.ok(session.hasExtension('posix-rename@openssh.com'));
    assert.ok(session.hasExtension('fsync@openssh.com'));
    assert.ok(session.hasExtension('copy-data'));
  });

  test('keeps the enlarged receive window while a download runs (guards an ssh2 internal)', async () => {
    const MiB = 1024 * 1024;
    h.sshd.writeLocal('window.bin', Buffer.alloc(7 * MiB));
    const session = await h.manager.session(h.sshd.alias);
    // The window after every packet the channel takes in, not only at the end: answers other than
    // DATA (the CLOSE's STATUS) top it up too, and hid a window that sank during the transfer.
    const channel = session.channel as unknown as { push(data: Buffer | null): unknown };
    const push = channel.push;
    let lowest = Infinity;
    channel.push = function (this: unknown, data: Buffer | null): unknown {
      const result = push.call(this, data);
      lowest = Math.min(lowest, receiveWindowOf(session.channel) ?? 0);
      return result;
    };
    try {
      await h.fs.readFile(h.path('window.bin'));
    } finally {
      channel.push = push;
    }
    assert.ok(lowest > 3 * MiB, `the window fell to ${lowest} bytes (ssh2 keeps 2 MiB)`);
  });

  test('shares one connection between concurrent operations', async () => {
    const manager = managerWith((host) => host);
    const states: string[] = [];
    manager.onDidChangeState((change) => states.push(change.state));
    try {
      h.sshd.writeLocal('shared.txt', 'x');
      const fs = manager.fileSystem(h.sshd.alias);
      await Promise.all(Array.from({ length: 25 }, () => fs.stat(h.path('shared.txt'))));
      assert.deepEqual(states, ['connecting', 'connected']);
    } finally {
      manager.dispose();
    }
  });

  test('negotiates aes128-gcm and turns Nagle off', async () => {
    const logger = new RecordingLogger();
    const manager = managerWith((host) => host, logger);
    try {
      await manager.session(h.sshd.alias);
      assert.ok(
        logger.lines.some((line) => line.includes('cipher aes128-gcm@openssh.com')),
        logger.lines.join('\n'),
      );
    } finally {
      manager.dispose();
    }
  });

  test('reconnects by itself after the connection is lost', async () => {
    h.sshd.writeLocal('after-drop.txt', 'still here');
    const first = await h.manager.session(h.sshd.alias);
    h.manager.disconnect(h.sshd.alias);
    assert.ok(first.isClosed);
    const content = await h.fs.readFile(h.path('after-drop.txt'));
    assert.equal(Buffer.from(content).toString(), 'still here');
    assert.notEqual(await h.manager.session(h.sshd.alias), first);
  });

  test('an operation pending when the connection drops fails with ECONNLOST, saying so', async () => {
    const manager = managerWith((host) => host);
    try {
      h.sshd.writeLocal('pending.bin', Buffer.alloc(16 * 1024 * 1024));
      const read = manager.fileSystem(h.sshd.alias).readFile(h.path('pending.bin'));
      await manager.session(h.sshd.alias);
      manager.disconnect(h.sshd.alias);
      const error = await rejectsWith(read, 'ECONNLOST');
      assert.match(error.message, /connection to the server was lost/);
    } finally {
      manager.dispose();
    }
  });
});

describe('host keys', () => {
  test('refuses an unknown host key under StrictHostKeyChecking=yes and shows its fingerprint', async () => {
    const empty = join(h.sshd.dir, 'known_hosts_empty');
    writeFileSync(empty, '');
    const manager = managerWith((host) => ({
      ...host,
      userKnownHostsFiles: [empty],
      globalKnownHostsFiles: [],
    }));
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'EHOSTKEY');
      const fingerprint =
        execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(h.sshd.dir, 'host_ed25519.pub')], {
          encoding: 'utf8',
        }).split(' ')[1] ?? '';
      assert.ok(fingerprint?.startsWith('SHA256:'));
      assert.ok(error.message.includes(fingerprint), `${error.message} names ${fingerprint}`);
      assert.match(error.message, /unknown/);
    } finally {
      manager.dispose();
    }
  });

  test('refuses a changed host key and names the file and line', async () => {
    const changed = join(h.sshd.dir, 'known_hosts_changed');
    const otherKey = join(h.sshd.dir, 'other_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const otherPublic = readFileSync(`${otherKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(changed, `# comment\n[127.0.0.1]:${h.sshd.port} ${otherPublic}\n`);
    const manager = managerWith((host) => ({
      ...host,
      userKnownHostsFiles: [changed],
      globalKnownHostsFiles: [],
    }));
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'EHOSTKEY');
      assert.match(error.message, /has changed/);
      assert.ok(error.message.includes(`${changed}:2`), error.message);
    } finally {
      manager.dispose();
    }
  });

  test('refuses a key marked @revoked even when it is also listed as known', async () => {
    const revoked = join(h.sshd.dir, 'known_hosts_revoked');
    writeFileSync(
      revoked,
      `@revoked * ${h.sshd.hostPublicKey}\n[127.0.0.1]:${h.sshd.port} ${h.sshd.hostPublicKey}\n`,
    );
    const manager = managerWith((host) => ({
      ...host,
      userKnownHostsFiles: [revoked],
      globalKnownHostsFiles: [],
    }));
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'EHOSTKEY');
      assert.match(error.message, /revoked/);
    } finally {
      manager.dispose();
    }
  });

  test('records an unknown key under accept-new, then trusts it', async () => {
    const learned = join(h.sshd.dir, 'known_hosts_learned');
    const manager = managerWith((host) => ({
      ...host,
      userKnownHostsFiles: [learned],
      globalKnownHostsFiles: [],
      strictHostKeyChecking: 'accept-new',
    }));
    try {
      await manager.session(h.sshd.alias);
      assert.equal(readFileSync(learned, 'utf8'), `[127.0.0.1]:${h.sshd.port} ${h.sshd.hostPublicKey}\n`);
      // ssh itself accepts the line we wrote.
      execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${h.sshd.port}`, '-f', learned]);
    } finally {
      manager.dispose();
    }
  });

  test('sends no credential before the host key is accepted', async () => {
    const empty = join(h.sshd.dir, 'known_hosts_empty_2');
    writeFileSync(empty, '');
    const logger = new RecordingLogger();
    const manager = managerWith(
      (host) => ({ ...host, userKnownHostsFiles: [empty], globalKnownHostsFiles: [] }),
      logger,
    );
    try {
      await rejectsWith(manager.session(h.sshd.alias), 'EHOSTKEY');
      assert.equal(logger.lines.filter((line) => line.includes('Trying ')).length, 0);
    } finally {
      manager.dispose();
    }
  });
});

describe('authentication and reachability', () => {
  test('authenticates through a real ssh-agent holding the key', async () => {
    const socket = join(h.sshd.dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      await waitFor(() => existsSync(socket));
      execFileSync('ssh-add', ['-q', h.sshd.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      const logger = new RecordingLogger();
      const manager = managerWith(
        (host) => ({ ...host, identityFiles: [], identitiesOnly: false, agentSocket: socket }),
        logger,
      );
      try {
        await manager.session(h.sshd.alias);
        assert.ok(logger.lines.some((line) => line.includes(`Trying the SSH agent at ${socket}`)));
      } finally {
        manager.dispose();
      }
    } finally {
      await stopProcess(agent);
    }
  });

  test('an SSH agent that cannot be reached is logged and skipped, and the key files are tried next', async () => {
    // What a Windows user without the OpenSSH agent service running, or with a stale SSH_AUTH_SOCK, has.
    const gone = join(h.sshd.dir, 'no-agent.sock');
    const logger = new RecordingLogger();
    const manager = managerWith((host) => ({ ...host, identitiesOnly: false, agentSocket: gone }), logger);
    try {
      await manager.session(h.sshd.alias);
      assert.ok(
        logger.lines.some(
          (line) => line.startsWith('warn') && line.includes(`The SSH agent at ${gone} could not be used`),
        ),
        logger.lines.join('\n'),
      );
      assert.ok(!logger.lines.some((line) => line.includes('Connection error')));
    } finally {
      manager.dispose();
    }
  });

  test('an agent the config names but that is not running is named in the log and in the failure', async () => {
    const reason = 'IdentityAgent pageant names Pageant, but no Pageant named pipe is open';
    const logger = new RecordingLogger();
    const manager = managerWith(
      (host) => ({
        ...host,
        identityFiles: [],
        identitiesOnly: false,
        agentSocket: undefined,
        agentUnavailable: reason,
      }),
      logger,
    );
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'EAUTH');
      assert.ok(error.message.includes(`could not use the SSH agent (${reason})`), error.message);
      assert.ok(logger.lines.some((line) => line.startsWith('warn') && line.includes(reason)));
    } finally {
      manager.dispose();
    }
  });

  test('skips a passphrase-protected key with a logged reason and says no key was usable', async () => {
    const locked = join(h.sshd.dir, 'locked_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', locked]);
    const logger = new RecordingLogger();
    const manager = managerWith(
      (host) => ({ ...host, identityFiles: [locked], agentSocket: undefined }),
      logger,
    );
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'EAUTH');
      assert.match(error.message, /no usable key, agent or password/);
      assert.ok(logger.lines.some((line) => line.startsWith('warn') && line.includes(locked)));
      assert.ok(!logger.lines.some((line) => line.includes('correct horse')));
    } finally {
      manager.dispose();
    }
  });

  test('fails with EAUTH when the server accepts none of the keys', async () => {
    const stranger = join(h.sshd.dir, 'stranger_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const manager = managerWith((host) => ({ ...host, identityFiles: [stranger], agentSocket: undefined }));
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'EAUTH');
      assert.match(error.message, /the server refused every key and password: tried the key .*stranger_key/);
      assert.match(error.message, /the server accepts publickey/);
    } finally {
      manager.dispose();
    }
  });

  test('fails with ECONNECT when nothing listens on the port', async () => {
    const port = await freePort();
    const logger = new RecordingLogger();
    const manager = managerWith((host) => ({ ...host, port }), logger);
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'ECONNECT');
      assert.equal(
        error.message,
        `Cannot connect to ${h.sshd.alias}: nothing is listening on port ${port} of 127.0.0.1`,
      );
      assert.ok(
        logger.lines.some((line) => line.includes('ECONNREFUSED')),
        'the log keeps the errno',
      );
    } finally {
      manager.dispose();
    }
  });

  test('a port where a web server answers is named as not speaking SSH, in words', async () => {
    const web = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const port = (web.address() as AddressInfo).port;
    const manager = managerWith((host) => ({ ...host, port }));
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'ECONNLOST');
      assert.equal(
        error.message,
        `Cannot connect to ${h.sshd.alias}: port ${port} does not speak SSH (something else answered, then closed the connection)`,
      );
    } finally {
      manager.dispose();
      web.close();
    }
  });

  test('refuses a host name that could smuggle options into ssh', async () => {
    await rejectsWith(h.manager.session('-oProxyCommand=touch${IFS}x'), 'EINVAL');
  });
});

describe('known_hosts variants, against the real server', () => {
  function connectWith(
    lines: (port: number, key: string) => string,
    strict: ResolvedHost['strictHostKeyChecking'] = 'yes',
  ) {
    const file = join(h.sshd.dir, `known_hosts_${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, lines(h.sshd.port, h.sshd.hostPublicKey));
    const manager = managerWith((host) => ({
      ...host,
      userKnownHostsFiles: [file],
      globalKnownHostsFiles: [],
      strictHostKeyChecking: strict,
    }));
    return {
      file,
      attempt: async () => {
        try {
          await manager.session(h.sshd.alias);
        } finally {
          manager.dispose();
        }
      },
    };
  }

  test('accepts a hashed entry written by ssh-keygen -H', async () => {
    const { file, attempt } = connectWith((port, key) => `[127.0.0.1]:${port} ${key}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    assert.match(readFileSync(file, 'utf8'), /^\|1\|/);
    await attempt();
  });

  test('accepts a wildcard entry', async () => {
    await connectWith((port, key) => `[127.0.0.?]:${port} ${key}\n`).attempt();
  });

  test('a negated pattern vetoes an otherwise matching line', async () => {
    const { attempt } = connectWith((port, key) => `[127.0.0.*]:${port},![127.0.0.1]:${port} ${key}\n`);
    await rejectsWith(attempt(), 'EHOSTKEY');
  });

  test('accepts the bare host name for a non-default port, as ssh does', async () => {
    await connectWith((_port, key) => `127.0.0.1 ${key}\n`).attempt();
  });

  test('StrictHostKeyChecking no records an unknown key and connects', async () => {
    const { file, attempt } = connectWith(() => '', 'no');
    await attempt();
    assert.ok(readFileSync(file, 'utf8').includes(h.sshd.hostPublicKey));
  });

  test('a key in PEM format works too', async () => {
    const pem = join(h.sshd.dir, 'client_pem');
    writeFileSync(pem, readFileSync(h.sshd.clientKey), { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-p', '-N', '', '-P', '', '-m', 'PEM', '-f', pem]);
    const manager = managerWith((host) => ({ ...host, identityFiles: [pem], agentSocket: undefined }));
    try {
      await manager.session(h.sshd.alias);
    } finally {
      manager.dispose();
    }
  });

  test('a file that is not a key is skipped with a message naming the formats that work', async () => {
    const junk = join(h.sshd.dir, 'not_a_key');
    writeFileSync(junk, 'this is not a key\n');
    const logger = new RecordingLogger();
    const manager = managerWith(
      (host) => ({ ...host, identityFiles: [junk], agentSocket: undefined }),
      logger,
    );
    try {
      await rejectsWith(manager.session(h.sshd.alias), 'EAUTH');
      assert.ok(
        logger.lines.some((line) => line.includes(junk) && line.includes('OpenSSH, PEM and PuTTY v2')),
      );
    } finally {
      manager.dispose();
    }
  });
});
