import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';

import type { Authority } from '../../src/core/config/authority';
import { resolveHost, type ResolvedHost } from '../../src/core/config/hostResolver';

/**
 * A real OpenSSH sshd on 127.0.0.1, started for a test run: generated host and client keys, its own
 * config, known_hosts and ssh_config in a temp dir, stopped (by PID) and removed afterwards.
 *
 * Port `port` serves read-write SFTP; `readOnlyPort` serves the same files through `internal-sftp -R`.
 * As root the files belong to a dedicated unprivileged account, so permission checks are real
 * (root would bypass them); otherwise the current user logs in as itself.
 */
export interface SshdFixture {
  readonly dir: string;
  /** The folder the tests work in, on this machine's disk and over SFTP alike. */
  readonly root: string;
  readonly port: number;
  readonly readOnlyPort: number;
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly clientKey: string;
  readonly knownHosts: string;
  readonly sshConfig: string;
  /** ssh_config aliases for the read-write and the read-only server. */
  readonly alias: string;
  readonly readOnlyAlias: string;
  readonly hostPublicKey: string;
  resolve(authority: Authority): ResolvedHost;
  /** Writes a file under `root` as the SFTP user would own it. */
  writeLocal(relative: string, content: string | Buffer, mode?: number): string;
  mkdirLocal(relative: string, mode?: number): string;
  local(relative: string): string;
  /** Files under `root` the processes serving current connections hold open: the server's open handles. */
  openFilesUnderRoot(): number;
  /** Kills the processes serving current connections (the server keeps listening). */
  dropConnections(): void;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the processes serving current connections: a hung server. */
  freezeConnections(frozen: boolean): void;
  /** Kills the whole server, then starts it again on the same ports with the same host key. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const TEST_ACCOUNT = 'sftpfs-test';
/** The test account's password, set when the harness runs as root (password and PAM tests need it). */
export const TEST_PASSWORD = 'sftpfs-test-Pa55word';

export interface SshdOptions {
  /** sshd_config lines placed first, so they win over the defaults below (sshd keeps the first value). */
  readonly config?: readonly string[];
  /** The ssh_config alias of this server (its read-only twin gets `-readonly`). */
  readonly alias?: string;
  /** RLIMIT_NOFILE for sshd and the SFTP servers it starts: a server that runs out of handles. */
  readonly maxOpenFiles?: number;
  /** The account that owns the served files and logs in (default: `ensureAccount()`'s test account). */
  readonly account?: Account;
}

/** True when the harness can create the test account and set its password (password and PAM tests). */
export const canManageAccounts = process.getuid?.() === 0;

export async function startSshd(options: SshdOptions = {}): Promise<SshdFixture> {
  requireOpenSsh();
  const dir = mkdtempSync(join(tmpdir(), 'sftpfs-sshd-'));
  chmodSync(dir, 0o755);
  const account = options.account ?? ensureAccount();

  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sftpfs-test-host', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sftpfs-test-client', '-f', clientKey]);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`));
  chmodSync(authorizedKeys, 0o644);

  const root = join(dir, 'files');
  mkdirSync(root, { mode: 0o755 });
  chownSync(root, account.uid, account.gid);

  const [port, readOnlyPort] = [await freePort(), await freePort()];
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      ...(options.config ?? []),
      `Port ${port}`,
      `Port ${readOnlyPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      'MaxStartups 50:30:100',
      'MaxSessions 50',
      'LogLevel VERBOSE',
      `Match LocalPort ${readOnlyPort}`,
      '  ForceCommand internal-sftp -R',
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  }
  execFileSync('/usr/sbin/sshd', ['-t', '-f', config]);
  const logFile = join(dir, 'sshd.log');
  const appendLog = (chunk: Buffer): void => {
    try {
      writeFileSync(logFile, chunk, { flag: 'a' });
    } catch {
      // The fixture folder is gone: sshd's session children can still write after the master stopped.
    }
  };
  const launch = async (): Promise<ChildProcess> => {
    const sshdArgs = ['-D', '-e', '-f', config];
    // `exec` keeps the PID: the shell becomes sshd, with the lowered limit inherited by its children.
    const [command, args] =
      options.maxOpenFiles === undefined
        ? ['/usr/sbin/sshd', sshdArgs]
        : [
            '/bin/sh',
            ['-c', `ulimit -n ${options.maxOpenFiles} && exec /usr/sbin/sshd "$@"`, 'sh', ...sshdArgs],
          ];
    const child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', appendLog);
    await waitForPort(port, child, logFile);
    await waitForPort(readOnlyPort, child, logFile);
    return child;
  };
  let server = await launch();
  const connectionProcesses = (): number[] => (server.pid === undefined ? [] : descendantsOf(server.pid));
  const stopServer = async (): Promise<void> => {
    const sessions = connectionProcesses();
    await stopProcess(server);
    signalAll(sessions, 'SIGKILL');
    server.stderr?.off('data', appendLog);
    server.stderr?.destroy();
  };

  const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(
    knownHosts,
    `[127.0.0.1]:${port} ${hostPublicKey}\n[127.0.0.1]:${readOnlyPort} ${hostPublicKey}\n`,
  );

  const alias = options.alias ?? 'sftpfs-test';
  const readOnlyAlias = `${alias}-readonly`;
  const sshConfig = join(dir, 'ssh_config');
  const hostBlock = (name: string, hostPort: number): string =>
    sshConfigHostBlock({ name, port: hostPort, user: account.name, clientKey, knownHosts });
  writeFileSync(sshConfig, hostBlock(alias, port) + hostBlock(readOnlyAlias, readOnlyPort));

  const served = servedFolder(root, account);
  return {
    dir,
    root,
    port,
    readOnlyPort,
    user: account.name,
    uid: account.uid,
    gid: account.gid,
    clientKey,
    knownHosts,
    sshConfig,
    alias,
    readOnlyAlias,
    hostPublicKey,
    resolve: (authority) => resolveHost(authority, { configFiles: [sshConfig], environment: {} }),
    ...served,
    openFilesUnderRoot() {
      return connectionProcesses()
        .flatMap((pid) => openFilesOf(pid))
        .filter((target) => target.startsWith(`${root}/`)).length;
    },
    dropConnections() {
      signalAll(connectionProcesses(), 'SIGKILL');
    },
    freezeConnections(frozen) {
      signalAll(connectionProcesses(), frozen ? 'SIGSTOP' : 'SIGCONT');
    },
    async restart() {
      await stopServer();
      server = await launch();
    },
    async stop() {
      signalAll(connectionProcesses(), 'SIGCONT');
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An ssh_config `Host` block for a test server on 127.0.0.1 that the client logs in to with a key. */
export function sshConfigHostBlock(host: {
  readonly name: string;
  readonly port: number;
  readonly user: string;
  readonly clientKey: string;
  readonly knownHosts: string;
}): string {
  return [
    `Host ${host.name}`,
    '  HostName 127.0.0.1',
    `  Port ${host.port}`,
    `  User ${host.user}`,
    `  IdentityFile ${host.clientKey}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${host.knownHosts}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n');
}

/** The served folder as the tests see it on this machine's disk, with files owned by the SFTP account. */
export function servedFolder(
  root: string,
  account: { readonly uid: number; readonly gid: number },
): Pick<SshdFixture, 'local' | 'writeLocal' | 'mkdirLocal'> {
  const local = (relative: string): string => join(root, relative);
  const own = (path: string): void => chownSync(path, account.uid, account.gid);
  return {
    local,
    /** Writes a file under `root` as the SFTP user would own it. */
    writeLocal(relative, content, mode = 0o644) {
      const path = local(relative);
      writeFileSync(path, content, { mode });
      chmodSync(path, mode);
      own(path);
      return path;
    },
    mkdirLocal(relative, mode = 0o755) {
      const path = local(relative);
      const firstCreated = mkdirSync(path, { recursive: true, mode });
      // Every folder created on the way belongs to the SFTP user, not just the last one.
      for (
        let folder = path;
        firstCreated !== undefined && folder.length >= firstCreated.length;
        folder = dirname(folder)
      ) {
        chmodSync(folder, mode);
        own(folder);
      }
      return path;
    },
  };
}

function requireOpenSsh(): void {
  if (!existsSync('/usr/sbin/sshd') || !existsSync('/usr/bin/ssh-keygen')) {
    throw new Error(
      'OpenSSH is needed for these tests: run `npm test` (which installs it as root) or `apt-get install openssh-server openssh-client`',
    );
  }
}

export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** As root: an unprivileged account for the tests (created once). Otherwise: the current user. */
export function ensureAccount(): Account {
  if (process.getuid?.() !== 0) {
    const me = userInfo();
    return { name: me.username, uid: me.uid, gid: me.gid };
  }
  const lookup = (): string | undefined => {
    try {
      return execFileSync('getent', ['passwd', TEST_ACCOUNT], { encoding: 'utf8' });
    } catch {
      return undefined;
    }
  };
  if (lookup() === undefined) {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', TEST_ACCOUNT]);
  }
  // A known password also unlocks the account: sshd without PAM refuses locked (`!`) accounts even for keys.
  execFileSync('chpasswd', { input: `${TEST_ACCOUNT}:${TEST_PASSWORD}\n` });
  const fields = (lookup() ?? '').split(':');
  return { name: TEST_ACCOUNT, uid: Number(fields[2]), gid: Number(fields[3]) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, server: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(
        `sshd exited with ${server.exitCode}: ${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`,
      );
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd did not listen on ${port} within 10 s`);
}

/** Every process below `pid` (a server's per-connection processes), from /proc. */
export function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent PID; the command name (field 2) may contain spaces, so split after it.
      const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(afterName[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const result: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop() as number;
    for (const [child, itsParent] of parentOf) {
      if (itsParent === parent) {
        result.push(child);
        frontier.push(child);
      }
    }
  }
  return result;
}

/** Where the open file descriptors of `pid` point (none if it ended meanwhile). */
function openFilesOf(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return []; // closed while we looked
      }
    });
  } catch {
    return [];
  }
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Ends a process we started, by its PID: TERM, then KILL if it lingers. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 3000)));
  const outcome = await Promise.race([exited, timeout]);
  clearTimeout(timer); // a pending timer would keep the test process alive for 3 s
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}
