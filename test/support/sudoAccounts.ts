import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

import { USUAL_SFTP_SERVER_PATHS } from '../../src/core/ssh/sudoSftp';
import { canManageAccounts } from './sshd';

/** An account with a sudoers rule that asks for its password (as a typical administrator has). */
export const SUDOER = { name: 'sftpfs-sudoer', password: 'sftpfs-sudoer-S3cret!pw' } as const;
/** An account allowed to run the SFTP server, and nothing else, as root without a password. */
export const NOPASSWD_SUDOER = { name: 'sftpfs-sudo-nopw', password: 'sftpfs-sudo-nopw-Pa55word' } as const;
/** An account whose sudo requires a terminal (`Defaults requiretty`, as some distributions ship). */
export const TTY_SUDOER = { name: 'sftpfs-sudo-tty', password: 'sftpfs-sudo-tty-Pa55word' } as const;

const RULES_FILE = '/etc/sudoers.d/sftpfs-tests';

/** Why the sudo tests cannot run here, or undefined when they can. */
export const sudoUnavailable = !canManageAccounts
  ? 'needs root: the harness creates accounts and a sudoers rule file'
  : !existsSync('/usr/bin/sudo') || !existsSync('/usr/sbin/visudo')
    ? 'needs sudo (npm test installs it as root: apt-get install sudo)'
    : USUAL_SFTP_SERVER_PATHS.every((path) => !existsSync(path))
      ? 'needs OpenSSH sftp-server (openssh-server) at one of the usual paths'
      : undefined;

/** The SFTP server program the NOPASSWD rule names: the first of the usual paths on this machine. */
export function sftpServerPath(): string {
  return USUAL_SFTP_SERVER_PATHS.find((path) => existsSync(path)) ?? USUAL_SFTP_SERVER_PATHS[0] ?? '';
}

/**
 * As root: the three accounts (made once, passwords set, which unlocks them for sshd) and their rules
 * in a sudoers.d file, installed mode 0440 once `visudo -cf` has checked it. The fixture's test account
 * gets no rule: an account without sudo.
 */
export function installSudoRules(): void {
  for (const account of [SUDOER, NOPASSWD_SUDOER, TTY_SUDOER]) {
    try {
      execFileSync('getent', ['passwd', account.name]);
    } catch {
      execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', account.name]);
    }
    execFileSync('chpasswd', { input: `${account.name}:${account.password}\n` });
  }
  const rules = [
    `${SUDOER.name} ALL=(ALL:ALL) ALL`,
    `${NOPASSWD_SUDOER.name} ALL=(root) NOPASSWD: ${sftpServerPath()}`,
    `Defaults:${TTY_SUDOER.name} requiretty`,
    `${TTY_SUDOER.name} ALL=(ALL:ALL) NOPASSWD: ALL`,
    '',
  ].join('\n');
  const draft = join(tmpdir(), `sftpfs-sudoers-${process.pid}`);
  writeFileSync(draft, rules, { mode: 0o440 });
  try {
    execFileSync('visudo', ['-cf', draft], { stdio: 'pipe' });
    execFileSync('install', ['-D', '-m', '0440', '-o', 'root', '-g', 'root', draft, RULES_FILE]);
  } finally {
    rmSync(draft, { force: true });
  }
}

export function removeSudoRules(): void {
  rmSync(RULES_FILE, { force: true });
}
