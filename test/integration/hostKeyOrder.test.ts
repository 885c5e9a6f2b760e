import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { resolveHost } from '../../src/core/config/hostResolver';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { RecordingLogger, rejectsWith } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * A server with ed25519, ECDSA and RSA host keys, and a known_hosts that records only one of them (as
 * for hosts first met years ago): this extension connects exactly when OpenSSH's ssh does, because it
 * orders its host-key algorithm offer as ssh does. ssh itself runs against the same files as the
 * reference.
 */
const state = {} as { sshd: SshdFixture; dir: string; keys: Record<'rsa' | 'ecdsa' | 'ed25519', string> };

before(async () => {
  state.dir = mkdtempSync(join(tmpdir(), 'sftpfs-hostkey-order-'));
  const rsa = join(state.dir, 'host_rsa');
  const ecdsa = join(state.dir, 'host_ecdsa');
  execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '384', '-N', '', '-f', ecdsa]);
  state.sshd = await startSshd({ alias: 'order', config: [`HostKey ${rsa}`, `HostKey ${ecdsa}`] });
  const publicKey = (file: string): string =>
    readFileSync(`${file}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  state.keys = { rsa: publicKey(rsa), ecdsa: publicKey(ecdsa), ed25519: state.sshd.hostPublicKey };
});
after(async () => {
  await state.sshd?.stop();
  rmSync(state.dir, { recursive: true, force: true });
});

/** An ssh_config for the server with only `recorded` in its known_hosts, and `extra` lines. */
function configRecording(recorded: keyof typeof state.keys, extra: string[] = []): string {
  const name = `${recorded}-${extra.length}`;
  const knownHosts = join(state.dir, `known_hosts_${name}`);
  writeFileSync(knownHosts, `[127.0.0.1]:${state.sshd.port} ${state.keys[recorded]}\n`);
  const config = join(state.dir, `ssh_config_${name}`);
  writeFileSync(
    config,
    [
      'Host order',
      '  HostName 127.0.0.1',
      `  Port ${state.sshd.port}`,
      `  User ${state.sshd.user}`,
      `  IdentityFile ${state.sshd.clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      ...extra.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  return config;
}

/** Does OpenSSH's ssh connect with this config? (Its exit code 255 means it did not.) */
function sshConnects(config: string): boolean {
  const result = spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', 'order', 'true'], {
    timeout: 20_000,
  });
  return result.status === 0;
}

async function weConnect(config: string): Promise<{ connected: boolean; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const manager = new ConnectionManager({
    resolveHost: (authority) => resolveHost(authority, { configFiles: [config], environment: {} }),
    logger,
    fileSystem: { maxReadFileBytes: 1024 * 1024 },
    lifecycle: { idleTimeoutMs: 0, maxReconnectAttempts: 0 },
  });
  try {
    await manager.fileSystem('order').stat(state.sshd.root);
    return { connected: true, logger };
  } catch (error) {
    await rejectsWith(Promise.reject(error), 'EHOSTKEY');
    return { connected: false, logger };
  } finally {
    manager.dispose();
  }
}

describe('host key algorithms ordered as ssh orders them', () => {
  for (const recorded of ['rsa', 'ecdsa', 'ed25519'] as const) {
    test(`only the ${recorded} key recorded: ssh connects, and so do we, with StrictHostKeyChecking yes`, async () => {
      const config = configRecording(recorded);
      assert.equal(sshConnects(config), true, 'the reference: ssh connects');
      const { connected, logger } = await weConnect(config);
      assert.equal(connected, true, logger.lines.filter((l) => !l.startsWith('trace')).join('\n'));
      assert.ok(
        logger.lines.some((line) => line.includes('matches') && line.includes(`known_hosts_${recorded}`)),
        'the recorded key was the one presented',
      );
    });
  }

  test('HostKeyAlgorithms +ssh-rsa still puts the recorded RSA key first, as ssh does', async () => {
    const config = configRecording('rsa', ['HostKeyAlgorithms +ssh-rsa']);
    assert.equal(sshConnects(config), true);
    assert.equal((await weConnect(config)).connected, true);
  });

  test('an explicit HostKeyAlgorithms list is kept in its order: ed25519 first, the RSA-only host is refused by both', async () => {
    const config = configRecording('rsa', ['HostKeyAlgorithms ssh-ed25519,rsa-sha2-512']);
    assert.equal(sshConnects(config), false, 'the reference: ssh refuses the unknown ed25519 key');
    assert.equal((await weConnect(config)).connected, false);
  });
});
