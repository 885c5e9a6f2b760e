import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { resolveHost } from '../../src/core/config/hostResolver';
import { READER_THREAD_SCRIPT, RecordingLogger, patternBytes, rejectsWith } from '../support/harness';
import { settleRoundTrip } from '../support/readerThreads';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * Two real sshd instances: `target` serves the files, `jump` is the bastion. The client config below
 * only knows how to reach the target through the jump host (or through `ssh -W`).
 */
const state = {} as { target: SshdFixture; jump: SshdFixture; config: string; knownHosts: string };

before(async () => {
  state.target = await startSshd({ alias: 'target' });
  state.jump = await startSshd({ alias: 'bastion' });
  const { target, jump } = state;
  state.knownHosts = join(target.dir, 'known_hosts_both');
  writeFileSync(
    state.knownHosts,
    readFileSync(target.knownHosts, 'utf8') + readFileSync(jump.knownHosts, 'utf8'),
  );
  const common = (fixture: SshdFixture): string =>
    `  User ${fixture.user}\n  IdentityFile ${fixture.clientKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${state.knownHosts}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`;
  state.config = join(target.dir, 'ssh_config_proxies');
  writeFileSync(
    state.config,
    [
      `Host behind-bastion\n  HostName 127.0.0.1\n  Port ${target.port}\n  ProxyJump bastion\n${common(target)}`,
      `Host behind-two-hops\n  HostName 127.0.0.1\n  Port ${target.port}\n  ProxyJump bastion,bastion-again\n${common(target)}`,
      `Host behind-command\n  HostName 127.0.0.1\n  Port ${target.port}\n  ProxyCommand ssh -F ${join(target.dir, 'ssh_config_proxies')} -W %h:%p bastion\n${common(target)}`,
      `Host behind-unknown-bastion\n  HostName 127.0.0.1\n  Port ${target.port}\n  ProxyJump bastion-unknown\n${common(target)}`,
      `Host injected
  HostName 127.0.0.1;touch${'${IFS}'}${join(target.dir, 'pwned')}
  ProxyCommand nc %h %p
${common(target)}`,
      `Host bastion bastion-again\n  HostName 127.0.0.1\n  Port ${jump.port}\n${common(jump)}`,
      `Host bastion-unknown\n  HostName 127.0.0.1\n  Port ${jump.port}\n  User ${jump.user}\n  IdentityFile ${jump.clientKey}\n  UserKnownHostsFile ${target.knownHosts}\n  StrictHostKeyChecking yes\n`,
    ].join('\n'),
  );
});

after(async () => {
  await state.target?.stop();
  await state.jump?.stop();
});

function manager(logger = new RecordingLogger()): ConnectionManager {
  return new ConnectionManager({
    resolveHost: (authority) => resolveHost(authority, { configFiles: [state.config], environment: {} }),
    logger,
    fileSystem: { maxReadFileBytes: 1 << 20 },
  });
}

describe('jump hosts', () => {
  test('reaches a host through ProxyJump and works on its files', async () => {
    state.target.writeLocal('via-jump.txt', 'reached through the bastion');
    const logger = new RecordingLogger();
    const connections = manager(logger);
    try {
      const fs = connections.fileSystem('behind-bastion');
      assert.equal(
        Buffer.from(await fs.readFile(state.target.local('via-jump.txt'))).toString(),
        'reached through the bastion',
      );
      assert.ok(
        logger.lines.some((line) =>
          line.includes(`Connecting to jump host ${state.jump.user}@127.0.0.1:${state.jump.port}`),
        ),
      );
    } finally {
      connections.dispose();
    }
  });

  test('follows a chain of two jump hosts', async () => {
    const connections = manager();
    try {
      await connections.fileSystem('behind-two-hops').stat(state.target.root);
    } finally {
      connections.dispose();
    }
  });

  test('verifies the host key of every hop', async () => {
    const connections = manager();
    try {
      const error = await rejectsWith(connections.session('behind-unknown-bastion'), 'EHOSTKEY');
      assert.ok(error.message.includes(`[127.0.0.1]:${state.jump.port}`), error.message);
    } finally {
      connections.dispose();
    }
  });

  test('closing the connection closes the jump hosts too', async () => {
    const logger = new RecordingLogger();
    const connections = manager(logger);
    await connections.session('behind-bastion');
    connections.dispose();
    assert.equal(logger.lines.filter((line) => line.includes('Connection closed')).length, 2);
  });
});

describe('ProxyCommand', () => {
  test('refuses to run when the host name would inject shell syntax', async () => {
    const connections = manager();
    try {
      const error = await rejectsWith(connections.session('injected'), 'EINVAL');
      assert.match(error.message, /could be interpreted by the shell/);
      assert.equal(existsSync(join(state.target.dir, 'pwned')), false);
    } finally {
      connections.dispose();
    }
  });

  test('runs the command (here ssh -W) and talks SSH over it', async () => {
    state.target.writeLocal('via-command.txt', 'reached through ssh -W');
    const connections = manager();
    try {
      const content = await connections
        .fileSystem('behind-command')
        .readFile(state.target.local('via-command.txt'));
      assert.equal(Buffer.from(content).toString(), 'reached through ssh -W');
    } finally {
      connections.dispose();
    }
  });
});

describe('the reader thread behind a jump host or a proxy command', () => {
  test('large reads stay on the connection: its route is never repeated by a second login', async () => {
    const content = patternBytes(12 * 1024 * 1024, 41);
    const path = state.target.writeLocal('thread-behind.bin', content);
    for (const alias of ['behind-bastion', 'behind-command']) {
      const logger = new RecordingLogger();
      const connections = new ConnectionManager({
        resolveHost: (authority) => resolveHost(authority, { configFiles: [state.config], environment: {} }),
        logger,
        fileSystem: { maxReadFileBytes: 64 * 1024 * 1024 },
        readerThreadScript: READER_THREAD_SCRIPT,
      });
      try {
        // Loopback hops: a line fast enough for the thread, were the route allowed.
        const session = await connections.session(alias);
        await settleRoundTrip(session, path);
        assert.ok((session.roundTripMs ?? Infinity) < 5, `${alias}: a fast line`);
        for (let round = 0; round < 3; round++) {
          assert.ok(Buffer.from(await connections.fileSystem(alias).readFile(path)).equals(content));
          await delay(100);
        }
        assert.ok(!logger.lines.some((line) => /reader thread/i.test(line)), `${alias}: no reader thread`);
      } finally {
        connections.dispose();
      }
    }
  });
});
