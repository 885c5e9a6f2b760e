import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { resolveHost } from '../../src/core/config/hostResolver';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { RecordingLogger, rejectsWith } from '../support/harness';
import { ScriptedPrompts } from '../support/scriptedPrompts';
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
  servers: SshdFixture[];
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
  state.servers = [];
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
  for (const server of state.servers ?? []) {
    await server.stop();
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

/** An ssh_config for the test server (or `server`) with `lines` first in its Host block (the first value wins). */
function configWith(name: string, lines: string[], server: SshdFixture = state.sshd): string {
  const config = join(state.dir, `ssh_config_${name}`);
  writeFileSync(
    config,
    [
      'Host certs',
      '  HostName 127.0.0.1',
      `  Port ${server.port}`,
      `  User ${server.user}`,
      ...lines.map((line) => `  ${line}`),
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  );
  return config;
}

function managerFor(
  config: string,
  logger: RecordingLogger,
  environment: NodeJS.ProcessEnv = {},
  prompts?: ScriptedPrompts,
): ConnectionManager {
  return new ConnectionManager({
    resolveHost: (authority) => resolveHost(authority, { configFiles: [config], environment }),
    logger,
    ...(prompts === undefined ? {} : { prompts }),
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

/** The message of the refused login with `key` as the only identity. */
async function loginRefusal(name: string, key: string): Promise<string> {
  const config = configWith(name, [
    `IdentityFile ${key}`,
    'IdentitiesOnly yes',
    `UserKnownHostsFile ${state.sshd.knownHosts}`,
  ]);
  const manager = managerFor(config, new RecordingLogger());
  try {
    return (await rejectsWith(manager.fileSystem('certs').stat(state.sshd.root), 'EAUTH')).message;
  } finally {
    manager.dispose();
  }
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
    assert.match(await loginRefusal('expired', key), /expired on 2020-01-02/);
  });

  test('a certificate for another user (principal) is refused by the server, and the plain key is still tried', async () => {
    const key = newKey('principal');
    certifyUser(key, { principals: 'somebody-else' });
    assert.match(
      await loginRefusal('principal', key),
      /certificate "[^"]*principal-id" of .*, the key .*principal/,
    );
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

/** A server whose host key is certified by `ca` (the host CA by default) for `principals`. */
async function certifiedServer(
  name: string,
  options: { ca?: string; principals?: string; validity?: string } = {},
): Promise<SshdFixture> {
  const hostKey = newKey(`${name}_host`);
  keygen(
    '-s',
    options.ca ?? state.hostCa,
    '-h',
    '-I',
    `${name}-host`,
    '-n',
    options.principals ?? '127.0.0.1',
    '-V',
    options.validity ?? '-5m:+1h',
    `${hostKey}.pub`,
  );
  // Placed first, this key is the ed25519 key sshd presents (the fixture's own comes second).
  const server = await startSshd({
    alias: name,
    config: [`HostKey ${hostKey}`, `HostCertificate ${hostKey}-cert.pub`],
  });
  state.servers.push(server);
  return server;
}

/** A known_hosts that trusts the host CA for every host and records no host key, plus `extra` lines. */
function caKnownHosts(name: string, extra: string[] = []): string {
  const file = join(state.dir, `known_hosts_${name}`);
  const ca = readFileSync(`${state.hostCa}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(file, [`@cert-authority * ${ca}`, ...extra, ''].join('\n'));
  return file;
}

function hostCertificateConfig(
  name: string,
  server: SshdFixture,
  knownHosts: string,
  lines: string[] = [],
): string {
  return configWith(
    name,
    [`IdentityFile ${server.clientKey}`, 'IdentitiesOnly yes', `UserKnownHostsFile ${knownHosts}`, ...lines],
    server,
  );
}

async function refusal(config: string, prompts?: ScriptedPrompts): Promise<string> {
  const manager = managerFor(config, new RecordingLogger(), {}, prompts);
  try {
    return (await rejectsWith(manager.fileSystem('certs').stat('/'), 'EHOSTKEY')).message;
  } finally {
    manager.dispose();
  }
}

describe('host certificates', () => {
  test('a host known only through @cert-authority is trusted when its certificate is signed by that CA, as with ssh; nothing is recorded', async () => {
    const server = await certifiedServer('vouched');
    const knownHosts = caKnownHosts('vouched');
    const config = hostCertificateConfig('vouched', server, knownHosts);
    assert.equal(sshConnects(config), true, 'ssh trusts the certified host');
    const logger = new RecordingLogger();
    const manager = managerFor(config, logger);
    await manager.fileSystem('certs').stat(server.root);
    manager.dispose();
    assert.ok(
      logger.lines.some((line) => /is vouched for by its host certificate "vouched-host"/.test(line)),
      logger.lines.join('\n'),
    );
    assert.equal(readFileSync(knownHosts, 'utf8').split('\n').filter(Boolean).length, 1, 'no key was added');
  });

  test('a host certificate for another name is refused under StrictHostKeyChecking yes, saying why, as by ssh', async () => {
    const server = await certifiedServer('misnamed', { principals: 'other.example' });
    const config = hostCertificateConfig('misnamed', server, caKnownHosts('misnamed'));
    assert.equal(sshConnects(config), false);
    assert.match(
      await refusal(config),
      /but its host certificate "misnamed-host".* is for other\.example, not for 127\.0\.0\.1/,
    );
  });

  test('under ask, the prompt for the unknown key says why the certificate did not vouch for it', async () => {
    const server = await certifiedServer('expired', { validity: '20200101:20200102' });
    const config = hostCertificateConfig('expired', server, caKnownHosts('expired'), [
      'StrictHostKeyChecking ask',
    ]);
    const prompts = new ScriptedPrompts({ acceptUnknownHostKey: false });
    await refusal(config, prompts);
    assert.match(prompts.hostKeysShown[0]?.certificateProblem ?? '', /expired on 2020-01-02/);
  });

  test('a certificate signed by a CA known_hosts does not trust is refused', async () => {
    const server = await certifiedServer('untrusted', { ca: state.userCa });
    const config = hostCertificateConfig('untrusted', server, caKnownHosts('untrusted'));
    assert.equal(sshConnects(config), false);
    assert.match(
      await refusal(config),
      /signed by a CA \(SHA256:[^)]+\) that no @cert-authority line trusts/,
    );
  });

  test('a revoked CA refuses the host even with StrictHostKeyChecking no', async () => {
    const server = await certifiedServer('revoked');
    const ca = readFileSync(`${state.hostCa}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const knownHosts = caKnownHosts('revoked', [`@revoked * ${ca}`]);
    const config = hostCertificateConfig('revoked', server, knownHosts, ['StrictHostKeyChecking no']);
    assert.match(await refusal(config), /marked as revoked in .*known_hosts_revoked:2/);
  });
});
