import { execFileSync } from 'node:child_process';

import type { SshdFixture } from './sshd';

/**
 * git run on this machine in a folder the test server serves: it sees the very repository the server's
 * git works on. As root it runs as the account that owns the served files, so nothing it writes changes
 * hands; `safe.directory` lets it read a repository another user owns when it does not.
 */
export function localGit(sshd: SshdFixture, folder: string, args: readonly string[]): Buffer {
  const asOwner = process.getuid?.() === 0 ? { uid: sshd.uid, gid: sshd.gid } : {};
  return execFileSync('git', ['-c', 'safe.directory=*', ...args], {
    cwd: folder,
    ...asOwner,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: folder,
      GIT_CONFIG_NOSYSTEM: '1',
      LC_ALL: 'C',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A repository in `folder` (relative to the served root) on branch `main`, with an identity to commit with. */
export function initRepository(sshd: SshdFixture, name: string): string {
  const folder = sshd.mkdirLocal(name);
  localGit(sshd, folder, ['init', '-q', '-b', 'main']);
  localGit(sshd, folder, ['config', 'user.name', 'SFTP Test']);
  localGit(sshd, folder, ['config', 'user.email', 'sftp-test@example.invalid']);
  return folder;
}
