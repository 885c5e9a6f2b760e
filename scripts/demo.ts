import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PROJECT_ROOT, installExtension, startCodeServer } from '../test/support/codeServer';
import { freePort, startSshd, type Account } from '../test/support/sshd';

/**
 * The local demo: a throwaway OpenSSH server on 127.0.0.1 with sample files (and a read-only twin of
 * it on a second port), and code-server with the packaged extension opening that server's folder as
 * sftp://. Runs until Ctrl+C (or for SFTPFS_DEMO_EXIT_AFTER seconds), then stops both by PID and
 * removes everything it created: its temporary folders and, as root, the account it logged in as.
 *
 * As root the files belong to an account made for this run only (`sftpfs-demo-<pid>`): no password
 * (a `*` in the shadow file: nothing can log in with one, keys still work), removed with its home
 * folder when the demo stops. Accounts left by a demo that was killed with SIGKILL are removed by the
 * next run. Otherwise the current user logs in as itself.
 */
const DEMO_ACCOUNT_PREFIX = 'sftpfs-demo-';
/** The GECOS field that marks an account as the demo's, so that only ours are ever removed. */
const DEMO_ACCOUNT_COMMENT = 'sftp-fs demo, removed when the demo stops';

async function main(): Promise<void> {
  const cleanups: (() => Promise<void> | void)[] = [];
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      console.log('\nStopping the demo...');
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          console.error('demo: cleanup step failed:', error);
          code = code || 1;
        }
      }
      console.log('Stopped: servers ended, temporary folders and the demo account removed.');
    }
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(0));
  }

  try {
    removeStaleDemoAccounts();
    const account = createDemoAccount();
    if (account !== undefined) {
      cleanups.push(() => removeDemoAccount(account.name));
    }
    const work = mkdtempSync(join(tmpdir(), 'sftpfs-demo-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const sshd = await startSshd({ alias: 'sftpfs-demo', ...(account === undefined ? {} : { account }) });
    cleanups.push(() => sshd.stop());
    writeSampleFiles(sshd);

    const home = join(work, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(sshd.sshConfig, join(home, '.ssh', 'config'));
    const dataDir = join(work, 'code-server');
    installExtension(dataDir, join(PROJECT_ROOT, 'dist', 'sftp-fs.vsix'));
    const requested = Number(process.env['DEMO_PORT'] ?? 8080);
    const port = (await isFree(requested)) ? requested : await freePort();
    const server = await startCodeServer({ dataDir, home, port });
    cleanups.push(() => server.stop());

    const folder = `sftp://${sshd.alias}${sshd.local('demo')}`;
    const user = account?.name ?? sshd.user;
    console.log('\nSFTP Remote Filesystem demo is running. Everything listens on 127.0.0.1 only.');
    console.log(`  code-server:      ${server.url} (no password: anyone on this machine can open it)`);
    console.log(`  OpenSSH server:   127.0.0.1:${sshd.port}, alias "${sshd.alias}" (read-write)`);
    console.log(
      `                    127.0.0.1:${sshd.readOnlyPort}, alias "${sshd.readOnlyAlias}" (read-only)`,
    );
    console.log(
      `  Login account:    ${user}` +
        (account === undefined ? ' (you)' : ' (made for this run, key only, removed on exit)'),
    );
    console.log(`  Temporary files:  ${work}, ${sshd.dir}`);
    console.log(`  Remote folder:    ${folder}`);
    console.log(`\n  Open: ${server.url}/?folder=${encodeURIComponent(folder)}\n`);

    const exitAfter = Number(process.env['SFTPFS_DEMO_EXIT_AFTER'] ?? 0);
    if (exitAfter > 0) {
      console.log(`Stopping by itself in ${exitAfter} s (SFTPFS_DEMO_EXIT_AFTER), or press Ctrl+C.`);
      setTimeout(() => void stop(0), exitAfter * 1000);
    } else {
      console.log('Press Ctrl+C to stop.');
    }
  } catch (error) {
    console.error(error);
    await stop(1);
  }
}

type Sshd = Awaited<ReturnType<typeof startSshd>>;

function writeSampleFiles(sshd: Sshd): void {
  sshd.mkdirLocal('demo/src/lib');
  sshd.mkdirLocal('demo/docs');
  sshd.writeLocal(
    'demo/README.md',
    '# A remote project\n\nEverything here lives on the SSH server.\nEdit and save: the change is written atomically over SFTP.\n',
  );
  sshd.writeLocal('demo/src/main.py', 'from lib.greeting import greet\n\nprint(greet("world"))\n');
  sshd.writeLocal('demo/src/lib/greeting.py', 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n');
  sshd.writeLocal('demo/src/run.sh', '#!/bin/sh\nexec python3 "$(dirname "$0")/main.py"\n', 0o755);
  sshd.writeLocal('demo/docs/notes.md', '- [ ] try renaming this file\n- [ ] copy the src folder\n');
  sshd.writeLocal('demo/.env.example', 'API_URL=https://example.invalid\n');
  symlinkSync('docs/notes.md', sshd.local('demo/notes-link.md'));
}

/** As root: an account for this run, with no password at all. Otherwise undefined (the current user). */
function createDemoAccount(): Account | undefined {
  if (process.getuid?.() !== 0) {
    return undefined;
  }
  const name = `${DEMO_ACCOUNT_PREFIX}${process.pid}`;
  execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', '--comment', DEMO_ACCOUNT_COMMENT, name]);
  // `*` rather than useradd's `!`: sshd without PAM refuses locked (`!`) accounts even for keys, while
  // `*` matches no password, so the only way in is the demo's generated key.
  execFileSync('usermod', ['--password', '*', name]);
  console.log(`demo: created the account ${name} (key only; removed when the demo stops)`);
  return { ...accountIds(name), name };
}

function accountIds(name: string): Omit<Account, 'name'> {
  const fields = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function removeDemoAccount(name: string): void {
  // The account's processes are the sshd sessions, already ended with the server; userdel refuses
  // an account still in use rather than leave it half removed.
  execFileSync('userdel', ['--remove', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  console.log(`demo: removed the account ${name} and its home folder`);
}

/** Accounts a demo killed with SIGKILL could not remove: ours by name and comment, their demo gone. */
function removeStaleDemoAccounts(): void {
  if (process.getuid?.() !== 0) {
    return;
  }
  for (const line of execFileSync('getent', ['passwd'], { encoding: 'utf8' }).split('\n')) {
    const [name = '', , , , comment] = line.split(':');
    const pid = Number(name.slice(DEMO_ACCOUNT_PREFIX.length));
    if (!name.startsWith(DEMO_ACCOUNT_PREFIX) || comment !== DEMO_ACCOUNT_COMMENT || !(pid > 0)) {
      continue;
    }
    if (isAlive(pid)) {
      continue; // another demo, still running
    }
    removeDemoAccount(name);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

void main();
