import { execFileSync } from 'node:child_process';

import { TEST_ACCOUNT, canManageAccounts } from './sshd';

/** A group the test account belongs to besides its own, as colleagues sharing a web root would. */
export const SHARED_GROUP = 'sftpfs-shared';
/** Another user, owning files the test account may only reach through the shared group. */
export const COLLEAGUE = 'sftpfs-colleague';

export interface SharedAccounts {
  readonly sharedGid: number;
  readonly colleagueUid: number;
}

/** Why tests of other owners cannot run here, or undefined when they can. */
export const sharedAccountsUnavailable = canManageAccounts
  ? undefined
  : 'needs root: the harness creates a group and a second user';

/**
 * As root: the shared group with the test account and a colleague in it (created once). The test
 * account must join before it logs in for its sessions to have the group, so call this before the
 * first connection of a test file.
 */
export function ensureSharedAccounts(): SharedAccounts {
  const lookup = (database: 'group' | 'passwd', name: string): string[] | undefined => {
    try {
      return execFileSync('getent', [database, name], { encoding: 'utf8' }).trim().split(':');
    } catch {
      return undefined;
    }
  };
  if (lookup('group', SHARED_GROUP) === undefined) {
    execFileSync('groupadd', [SHARED_GROUP]);
  }
  if (lookup('passwd', COLLEAGUE) === undefined) {
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', COLLEAGUE]);
  }
  execFileSync('usermod', ['-aG', SHARED_GROUP, TEST_ACCOUNT]);
  execFileSync('usermod', ['-aG', SHARED_GROUP, COLLEAGUE]);
  return {
    sharedGid: Number(lookup('group', SHARED_GROUP)?.[2]),
    colleagueUid: Number(lookup('passwd', COLLEAGUE)?.[2]),
  };
}
