import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { resolveHost } from '../../src/core/config/hostResolver';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { RecordingLogger, rejectsWith } from '../support/harness';
import { startSshd, stopProcess, type SshdFixture } from '../support/sshd';

/**
 * OpenSSH certificates against a real sshd set up as an organisation with an SSH CA would: user keys
 * that are in no authorized_keys file but certified by a CA the server trusts (TrustedUserCAKeys),
 * and host keys certified by a CA the client trusts (`@cert-authority` in known_hosts, no host key
 * recorded). OpenSSH's own ssh runs against the same files as the reference where it matters.
 */
const state = {} as {
  sshd: SshdFixture;
  dir: string;
  userCa: string;
  hostCa: string;
  agents: ChildProcess[];
};

function keygen(...args: string[]): void {
  execFileSync('ssh-keygen', ['-q', ...args], { stdio: 'ignore' });
}

/** A fresh key pair in the test folder, in no authorized_keys file. */
function newKey(name: string, type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519'): string {
  const file = join(state.dir, name);
  keygen('-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', name, '-f', file);
  return file;
}

/** Signs `key`.pub with the user CA: `key-cert.pub` beside it (or `to`), for `principals`. */
function certifyUser(
  key: string,
  options: { principals?: string; validity?: string; to?: string } = {},
): string {
  keygen(
    '-s',
    state.userCa,
    '-I',
    `${key}-id`,
    '-n',
    options.principals ?? state.sshd.user,
    '-V',
    options.validity ?? '-5m:+1h',
    `${key}.pub`,
  );
  const made = `${key}-cert.pub`;
  if (options.to !== undefined) {
    copyFileSync(made, options.to);
    rmSync(made);
    return options.to;
  }
  return made;
}

before(async () => {
  state.dir = mkdtempSync(join(tmpdir(), 'sftpfs-certificates-'));
  state.agents = [];
  state.userCa = join(state.dir, 'user_ca');
  state.hostCa = join(state.dir, 'host_ca');
  keygen('-t', 'ed25519', '-N', '', '-C', 'user-ca', '-f', state.userCa);
  keygen('-t', 'ed25519', '-N', '', '-C', 'host-ca', '-f', state.hostCa);
  state.sshd = await startSshd({ alias: 'certs', config: [`TrustedUserCAKeys ${state.userCa}.pub`] });
});
after(async () => {
  for (const agent of state.agents ?? []) {
    await stopProcess(agent);
  }
  await state.sshd?.stop();
  rmSync(state.dir, { recursive: true, force: true });
});

/** A fresh ssh-agent (stopped after the tests) holding `keys` as `ssh-add` loads them; its socket. */
async function agentHolding(name: string, keys: string[]): Promise<string> {
  const socket = join(state.dir, `${name}.agent`);
  state.agents.push(spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' }));
  for (let waited = 0; !existsSync(socket) && waited < 100; waited++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const key of keys) {
    execFileSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
  }
  return socket;
}

/** An ssh_config for the test server with `lines` in its Host block. */
function configWith(name: string, lines: string[]): string {
  const config = join(state.dir, `ssh_config_${name}`);
  writeFileSync(
    config,
    [
      'Host certs',
      '  HostName 127.0.0.1',
      `  Port ${state.sshd.port}`,
      `  User ${state.sshd.user}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      ...lines.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  return config;
}

function managerFor(
  config: string,
  logger: RecordingLogger,
  environment: NodeJS.ProcessEnv = {},
): ConnectionManager {
  return new ConnectionManager({
    resolveHost: (authority) => resolveHost(authority, { configFiles: [config], environment }),
    logger,
    fileSystem: { maxReadFileBytes: 1024 * 1024 },
    lifecycle: { idleTimeoutMs: 0, maxReconnectAttempts: 0 },
  });
}

async function connects(config: string, environment: NodeJS.ProcessEnv = {}): Promise<RecordingLogger> {
  const logger = new RecordingLogger();
  const manager = managerFor(config, logger, environment);
  try {
    await manager.fileSystem('certs').stat(state.sshd.root);
  } finally {
    manager.dispose();
  }
  return logger;
}

/** Does OpenSSH's ssh log in with this config? */
function sshConnects(config: string, environment: NodeJS.ProcessEnv = {}): boolean {
  const result = spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', 'certs', 'true'], {
    timeout: 20_000,
    env: { ...process.env, SSH_AUTH_SOCK: '', ...environment },
  });
  return result.status === 0;
}

describe('user certificates', () => {
  test('a key in no authorized_keys file logs in with its certificate beside it (id-cert.pub), as with ssh', async () => {
    const key = newKey('beside');
    const config = configWith('beside', [
      `IdentityFile ${key}`,
      'IdentitiesOnly yes',
      `UserKnownHostsFile ${state.sshd.knownHosts}`,
    ]);
    // The control: without the certificate the server refuses the key.
    const refused = new RecordingLogger();
    const manager = managerFor(config, refused);
    await rejectsWith(manager.fileSystem('certs').stat(state.sshd.root), 'EAUTH');
    manager.dispose();

    certifyUser(key);
    assert.equal(sshConnects(config), true, 'ssh logs in with the certificate');
    const logger = await connects(config);
    assert.ok(
      logger.lines.some((line) => /Trying the certificate "/.test(line)),
      logger.lines.join('\n'),
    );
  });

  test('a CertificateFile elsewhere is used for the identity it certifies', async () => {
    const key = newKey('elsewhere');
    const certificate = certifyUser(key, { to: join(state.dir, 'issued-by-ca.pub') });
    const config = configWith('elsewhere', [
      `IdentityFile ${key}`,
      `CertificateFile ${certificate}`,
      'IdentitiesOnly yes',
      `UserKnownHostsFile ${state.sshd.knownHosts}`,
    ]);
    assert.equal(sshConnects(config), true);
    await connects(config);
  });

  test('RSA and ECDSA keys log in with their certificates (SHA-2 signatures for RSA)', async () => {
    for (const type of ['rsa', 'ecdsa'] as const) {
      const key = newKey(`typed-${type}`, type);
      certifyUser(key);
      const config = configWith(`typed-${type}`, [
        `IdentityFile ${key}`,
        'IdentitiesOnly yes',
        `UserKnownHostsFile ${state.sshd.knownHosts}`,
      ]);
      await connects(config);
    }
  });

  test('an expired certificate is not offered, and the failure says why', async () => {
    const key = newKey('expired');
    certifyUser(key, { validity: '20200101:20200102' });
    const config = configWith('expired', [
      `IdentityFile ${key}`,
      'IdentitiesOnly yes',
      `UserKnownHostsFile ${state.sshd.knownHosts}`,
    ]);
    const logger = new RecordingLogger();
    const manager = managerFor(config, logger);
    const error = await rejectsWith(manager.fileSystem('certs').stat(state.sshd.root), 'EAUTH');
    manager.dispose();
    assert.match(error.message, /expired on 2020-01-02/);
  });

  test('a certificate for another user (principal) is refused by the server, and the plain key is still tried', async () => {
    const key = newKey('principal');
    certifyUser(key, { principals: 'somebody-else' });
    const config = configWith('principal', [
      `IdentityFile ${key}`,
      'IdentitiesOnly yes',
      `UserKnownHostsFile ${state.sshd.knownHosts}`,
    ]);
    const logger = new RecordingLogger();
    const manager = managerFor(config, logger);
    const error = await rejectsWith(manager.fileSystem('certs').stat(state.sshd.root), 'EAUTH');
    manager.dispose();
    assert.match(error.message, /certificate "[^"]*principal-id" of .*, the key .*principal/);
  });

  test('a certificate held by the SSH agent logs in (ssh-add loads the key with its certificate)', async () => {
    const key = newKey('agent');
    certifyUser(key);
    const socket = await agentHolding('agent', [key]);
    const listed = execFileSync('ssh-add', ['-L'], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    assert.match(listed.toString(), /ssh-ed25519-cert-v01@openssh.com/, 'the agent holds the certificate');
    // The key files are gone: only the agent can sign, and only its certificate is accepted.
    rmSync(key);
    rmSync(`${key}-cert.pub`);
    const config = configWith('agent', [
      `IdentityAgent ${socket}`,
      `UserKnownHostsFile ${state.sshd.knownHosts}`,
    ]);
    assert.equal(sshConnects(config), true);
    const logger = await connects(config);
    assert.ok(logger.lines.some((line) => /Trying the SSH agent/.test(line)));
  });

  test('a CertificateFile for a key only the agent holds is offered with the agent key', async () => {
    const key = newKey('agent-file');
    const certificate = certifyUser(key, { to: join(state.dir, 'agent-file-cert') });
    const socket = await agentHolding('agent-file', [key]);
    rmSync(key);
    const withoutCertificate = configWith('agent-file-plain', [
      `IdentityAgent ${socket}`,
      `UserKnownHostsFile ${state.sshd.knownHosts}`,
    ]);
    const logger = new RecordingLogger();
    const manager = managerFor(withoutCertificate, logger);
    await rejectsWith(manager.fileSystem('certs').stat(state.sshd.root), 'EAUTH');
    manager.dispose();
    const config = configWith('agent-file', [
      `IdentityAgent ${socket}`,
      `CertificateFile ${certificate}`,
      `UserKnownHostsFile ${state.sshd.knownHosts}`,
    ]);
    assert.equal(sshConnects(config), true);
    await connects(config);
  });
});
