import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  completeFixture,
  launchServer,
  prepareFixture,
  requireServer,
  type FixtureBase,
  type SftpServerFixture,
} from './sftpServerFixture';

const DROPBEAR = '/usr/sbin/dropbear';
const DROPBEARKEY = '/usr/bin/dropbearkey';
/** The SFTP subsystem compiled into Dropbear; Debian's openssh-sftp-server provides it. */
const SFTP_SERVER = '/usr/lib/sftp-server';
/** Client keys a fixture adds carry `sftpfs-dropbear-fixture:<its temp dir>` as their comment. */
const KEY_COMMENT = /\ssftpfs-dropbear-fixture:(\S+)\s*$/;

/**
 * Dropbear 2022.83 on 127.0.0.1 with OpenSSH's sftp-server, as a fixture (see SftpServerFixture): its
 * own instance in the foreground as root, public-key login only, no root login, no forwarding. Its
 * log (stderr) is `dropbear.log` in the temp dir.
 *
 * Dropbear reads public keys only from the login user's `~/.ssh/authorized_keys` (no option changes
 * that), so the fixture adds its client key there and removes exactly that line in stop(); lines left
 * by a fixture that never stopped (its temp dir gone) are removed by the next one.
 */
export async function startDropbear(options: { alias?: string } = {}): Promise<SftpServerFixture> {
  requireServer('dropbear', [DROPBEAR, DROPBEARKEY, SFTP_SERVER]);
  const base = await prepareFixture('dropbear');
  const { dir } = base;
  let keyAdded = false;
  try {
    const hostKey = join(dir, 'host_ed25519.dropbear');
    execFileSync(DROPBEARKEY, ['-t', 'ed25519', '-f', hostKey], { stdio: 'pipe' });
    const hostPublicKey = publicKeyOf(hostKey);

    addAuthorizedKey(base);
    keyAdded = true;
    const server = await launchServer(base, DROPBEAR, [
      '-F', // foreground
      '-E', // log to stderr
      '-s', // no password logins
      '-g', // no password logins for root
      '-w', // no root logins
      '-j', // no local port forwarding
      '-k', // no remote port forwarding
      '-m', // no motd
      // Dropbear's default per-channel receive window is 24 KiB: uploads crawl through it on a slow
      // line. 1 MiB is nearer what other servers offer.
      '-W',
      String(1024 * 1024),
      '-r',
      hostKey,
      '-p',
      `127.0.0.1:${base.port}`,
      '-P',
      join(dir, 'dropbear.pid'),
    ]);
    return completeFixture(base, {
      alias: options.alias ?? 'sftpfs-dropbear',
      hostPublicKey,
      stopServer: async () => {
        try {
          await server.stop();
        } finally {
          removeAuthorizedKey(base);
        }
      },
    });
  } catch (error) {
    if (keyAdded) {
      removeAuthorizedKey(base);
    }
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `ssh-ed25519 AAAA…` of a Dropbear key file. */
function publicKeyOf(keyFile: string): string {
  const output = execFileSync(DROPBEARKEY, ['-y', '-f', keyFile], { encoding: 'utf8' });
  const line = output.split('\n').find((candidate) => /^ssh-\S+ \S+/.test(candidate));
  if (line === undefined) {
    throw new Error(`dropbearkey printed no public key for ${keyFile}:\n${output}`);
  }
  return line.split(/\s+/).slice(0, 2).join(' ');
}

function addAuthorizedKey(base: FixtureBase): void {
  editAuthorizedKeys(base, (lines) => [
    // Keys of fixtures that never stopped (their temp dir is gone) go now.
    ...lines.filter((line) => {
      const owner = KEY_COMMENT.exec(line)?.[1];
      return owner === undefined || existsSync(owner);
    }),
    base.clientPublicKey,
  ]);
}

function removeAuthorizedKey(base: FixtureBase): void {
  editAuthorizedKeys(base, (lines) => lines.filter((line) => line.trim() !== base.clientPublicKey));
}

/**
 * Rewrites the account's `~/.ssh/authorized_keys` (created 0600 in a 0700 `~/.ssh`, owned by the
 * account, if missing), under a lock: fixtures in parallel test files edit the same file.
 */
function editAuthorizedKeys(base: FixtureBase, edit: (lines: string[]) => string[]): void {
  const { account } = base;
  const home = homeOf(account.name);
  const sshDir = join(home, '.ssh');
  const file = join(sshDir, 'authorized_keys');
  withLock(() => {
    if (!existsSync(sshDir)) {
      mkdirSync(sshDir, { mode: 0o700 });
      chmodSync(sshDir, 0o700);
      chownSync(sshDir, account.uid, account.gid);
    }
    const existing = existsSync(file) ? statSync(file) : undefined;
    const lines = existing === undefined ? [] : readFileSync(file, 'utf8').split('\n');
    const kept = edit(lines.filter((line) => line.trim() !== ''));
    // A new file beside it, renamed over it: Dropbear never reads a half-written file.
    const next = `${file}.sftpfs-${process.pid}`;
    writeFileSync(next, kept.map((line) => `${line}\n`).join(''), { mode: 0o600 });
    chmodSync(next, existing === undefined ? 0o600 : existing.mode & 0o777);
    chownSync(next, existing?.uid ?? account.uid, existing?.gid ?? account.gid);
    renameSync(next, file);
  });
}

function homeOf(name: string): string {
  const home = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[5];
  if (home === undefined || home === '') {
    throw new Error(`the account ${name} has no home folder: Dropbear reads its ~/.ssh/authorized_keys`);
  }
  return home;
}

/** Runs `action` holding a lock file shared by every test process on this machine. */
function withLock(action: () => void): void {
  const lock = join(tmpdir(), 'sftpfs-dropbear-authorized_keys.lock');
  const deadline = Date.now() + 10_000;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
      try {
        // A holder that died keeps it forever: a lock older than the longest edit is stale.
        if (Date.now() - statSync(lock).mtimeMs > 10_000) {
          unlinkSync(lock);
          continue;
        }
      } catch {
        continue; // released meanwhile
      }
      if (Date.now() > deadline) {
        throw new Error(`${lock} stayed locked for 10 s`);
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    action();
  } finally {
    closeSync(fd);
    unlinkSync(lock);
  }
}
