import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { FaultProxy } from '../support/faultProxy';
import { canManageAccounts, startSshd, type SshdFixture } from '../support/sshd';

/**
 * What the in-editor suite needs, whichever VS Code runs it (code-server or desktop): the test sshd, a
 * bastion, a HOME whose ~/.ssh/config has the aliases the suite uses, and the environment variables
 * that tell the suite where things are.
 */
export interface SuiteEnvironment {
  readonly sshd: SshdFixture;
  /** A second host with a data folder of its own (it also serves as the bastion). */
  readonly second: SshdFixture;
  readonly home: string;
  readonly resultsFile: string;
  readonly learnedKnownHosts: string;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function prepareSuiteEnvironment(work: string): Promise<SuiteEnvironment> {
  // Passwords are allowed too (the test account's password can be set only as root).
  const sshd = await startSshd(canManageAccounts ? { config: ['PasswordAuthentication yes'] } : {});
  const bastion = await startSshd({ alias: 'bastion' });
  // A 50 ms round trip in front of the same server, for stories that need an operation to take a while.
  const slowLink = await FaultProxy.start(sshd.port, { oneWayDelayMs: 25 });
  const home = join(work, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  const hosts = writeClientConfig(home, sshd, bastion, slowLink.port);
  const resultsFile = join(work, 'suite-results.json');
  return {
    sshd,
    second: bastion,
    home,
    resultsFile,
    learnedKnownHosts: hosts.learnedKnownHosts,
    env: {
      HOME: home,
      SFTPFS_TEST_ROOT: sshd.root,
      SFTPFS_TEST_ALIAS: sshd.alias,
      SFTPFS_TEST_PORT: String(sshd.port),
      SFTPFS_TEST_READONLY_ALIAS: sshd.readOnlyAlias,
      SFTPFS_TEST_UID: String(sshd.uid),
      SFTPFS_TEST_GID: String(sshd.gid),
      SFTPFS_TEST_RESULTS: resultsFile,
      SFTPFS_TEST_JUMP_ALIAS: 'behind-bastion',
      // The bastion is a second host with a data folder of its own: copies and moves between hosts.
      SFTPFS_TEST_SECOND_ALIAS: 'bastion',
      SFTPFS_TEST_SECOND_ROOT: bastion.root,
      SFTPFS_TEST_CHANGED_KEY_ALIAS: 'changed-key',
      SFTPFS_TEST_CHANGED_KEY_FILE: hosts.changedKnownHosts,
    },
    async stop() {
      await slowLink.close();
      await sshd.stop();
      await bastion.stop();
    },
  };
}

/**
 * The client's ~/.ssh/config as a user would write it: the test server's aliases, a host reached only
 * through a bastion, a host whose key is not known yet (ask), and one whose recorded key is wrong.
 */
function writeClientConfig(
  home: string,
  sshd: SshdFixture,
  bastion: SshdFixture,
  slowLinkPort: number,
): { learnedKnownHosts: string; changedKnownHosts: string } {
  const ssh = join(home, '.ssh');
  const bothKeys = join(ssh, 'known_hosts');
  writeFileSync(
    bothKeys,
    readFileSync(sshd.knownHosts, 'utf8') +
      readFileSync(bastion.knownHosts, 'utf8') +
      `[127.0.0.1]:${slowLinkPort} ${sshd.hostPublicKey}\n`,
  );
  const learnedKnownHosts = join(ssh, 'known_hosts_learned');
  const changedKnownHosts = join(ssh, 'known_hosts_changed');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(ssh, 'impostor')]);
  const impostor = readFileSync(join(ssh, 'impostor.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(changedKnownHosts, `# recorded long ago\n[127.0.0.1]:${sshd.port} ${impostor}\n`);
  const login = (fixture: SshdFixture, knownHosts: string, strict: string): string =>
    `  User ${fixture.user}\n  IdentityFile ${fixture.clientKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n  StrictHostKeyChecking ${strict}\n`;
  writeFileSync(
    join(ssh, 'config'),
    [
      readFileSync(sshd.sshConfig, 'utf8'),
      `Host behind-bastion\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  ProxyJump bastion\n${login(sshd, bothKeys, 'yes')}`,
      `Host bastion\n  HostName 127.0.0.1\n  Port ${bastion.port}\n${login(bastion, bothKeys, 'yes')}`,
      `Host unknown-host\n  HostName 127.0.0.1\n  Port ${sshd.port}\n${login(sshd, learnedKnownHosts, 'ask')}`,
      `Host changed-key\n  HostName 127.0.0.1\n  Port ${sshd.port}\n${login(sshd, changedKnownHosts, 'ask')}`,
      `Host slow-link\n  HostName 127.0.0.1\n  Port ${slowLinkPort}\n${login(sshd, bothKeys, 'yes')}`,
      `Host with-password\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile none\n  IdentityAgent none\n  UserKnownHostsFile ${bothKeys}\n`,
    ].join('\n'),
  );
  return { learnedKnownHosts, changedKnownHosts };
}
