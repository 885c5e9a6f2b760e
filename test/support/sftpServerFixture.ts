import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { resolveHost } from '../../src/core/config/hostResolver';
import {
  descendantsOf,
  ensureAccount,
  freePort,
  servedFolder,
  sshConfigHostBlock,
  stopProcess,
  type SshdFixture,
} from './sshd';

/**
 * An SFTP server other than OpenSSH's (ProFTPD's mod_sftp, Dropbear with sftp-server) on 127.0.0.1,
 * started for a test run like the OpenSSH fixture in sshd.ts: the same test account, a fresh client
 * key, its own known_hosts and ssh_config in a temp dir, stopped (by PID) and removed afterwards.
 */
export interface SftpServerFixture extends Pick<
  SshdFixture,
  | 'dir'
  | 'root'
  | 'port'
  | 'user'
  | 'uid'
  | 'gid'
  | 'clientKey'
  | 'knownHosts'
  | 'sshConfig'
  | 'alias'
  | 'resolve'
  | 'writeLocal'
  | 'mkdirLocal'
  | 'local'
  | 'stop'
> {
  readonly kind: 'proftpd' | 'dropbear';
}

export type SftpServerKind = SftpServerFixture['kind'];

/** What every fixture starts from: a temp dir, the account, a client key, the served folder, a port. */
export interface FixtureBase {
  readonly kind: SftpServerKind;
  readonly dir: string;
  readonly root: string;
  readonly port: number;
  readonly account: { readonly name: string; readonly uid: number; readonly gid: number };
  readonly clientKey: string;
  /** The client's public key line as OpenSSH writes it (`ssh-ed25519 AAAA… comment`). */
  readonly clientPublicKey: string;
  readonly logFile: string;
}

export const INSTALL_HINT = 'bash scripts/other-servers.sh';

/** Fails with what to run when the server's files are not installed, or when not root. */
export function requireServer(kind: SftpServerKind, files: readonly string[]): void {
  const missing = files.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `The ${kind} fixture needs ${missing.join(', ')}: run \`${INSTALL_HINT}\` as root (it installs proftpd-core, proftpd-mod-crypto, dropbear-bin and openssh-sftp-server)`,
    );
  }
  if (!existsSync('/usr/bin/ssh-keygen')) {
    throw new Error(
      `The ${kind} fixture needs ssh-keygen: run \`bash scripts/prerequisites.sh\` as root (or apt-get install openssh-client)`,
    );
  }
  if (process.getuid?.() !== 0) {
    // ProFTPD switches to the login user only as root; Dropbear would have to change the real
    // ~/.ssh/authorized_keys of whoever runs the tests.
    throw new Error(
      `The ${kind} fixture runs as root only (it serves the test account and edits its files); run the tests as root after \`${INSTALL_HINT}\``,
    );
  }
}

export async function prepareFixture(kind: SftpServerKind): Promise<FixtureBase> {
  const dir = mkdtempSync(join(tmpdir(), `sftpfs-${kind}-`));
  try {
    chmodSync(dir, 0o755);
    const account = ensureAccount();
    const clientKey = join(dir, 'client_ed25519');
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      `sftpfs-${kind}-fixture:${dir}`,
      '-f',
      clientKey,
    ]);
    const clientPublicKey = readFileSync(`${clientKey}.pub`, 'utf8').trim();
    const root = join(dir, 'files');
    mkdirSync(root, { mode: 0o755 });
    chownSync(root, account.uid, account.gid);
    const port = await freePort();
    return { kind, dir, root, port, account, clientKey, clientPublicKey, logFile: join(dir, `${kind}.log`) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A server running in the foreground, its stderr in `logFile`. */
export interface RunningServer {
  readonly child: ChildProcess;
  /** Ends the server and the processes serving its connections. */
  stop(): Promise<void>;
}

/**
 * Starts `command` and waits until it listens on 127.0.0.1:`port`. `logs` are read into the error when
 * it exits first (a refused configuration).
 */
export async function launchServer(
  base: FixtureBase,
  command: string,
  args: readonly string[],
  logs: readonly string[] = [],
): Promise<RunningServer> {
  const appendLog = (chunk: Buffer): void => {
    try {
      writeFileSync(base.logFile, chunk, { flag: 'a' });
    } catch {
      // The fixture folder is gone: a session process can still write after the server stopped.
    }
  };
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', appendLog);
  child.stderr?.on('data', appendLog);
  const stop = async (): Promise<void> => {
    // The per-connection processes outlive a stopped server (Dropbear's do): end them too.
    const sessions = child.pid === undefined ? [] : descendantsOf(child.pid);
    await stopProcess(child);
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.stdout?.off('data', appendLog);
    child.stderr?.off('data', appendLog);
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  try {
    await waitForPort(base, child, [base.logFile, ...logs]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, stop };
}

async function waitForPort(base: FixtureBase, server: ChildProcess, logs: readonly string[]): Promise<void> {
  const spawnError = new Promise<Error>((resolve) => server.once('error', resolve));
  const deadline = Date.now() + 10_000;
  const logText = (): string =>
    logs
      .filter((file) => existsSync(file))
      .map((file) => `--- ${file}\n${readFileSync(file, 'utf8')}`)
      .join('\n');
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`${base.kind} exited with ${server.exitCode ?? server.signalCode}:\n${logText()}`);
    }
    const open = await Promise.race([
      new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: base.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
      spawnError.then((error) => {
        throw new Error(`${base.kind} did not start: ${error.message}`);
      }),
    ]);
    if (open) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${base.kind} did not listen on ${base.port} within 10 s:\n${logText()}`);
}

/**
 * Writes the client's known_hosts (the server's `hostPublicKey`, `type base64`) and ssh_config, and
 * returns the fixture. `stopServer` runs first in stop(), then the temp dir goes.
 */
export function completeFixture(
  base: FixtureBase,
  options: { alias: string; hostPublicKey: string; stopServer: () => Promise<void> },
): SftpServerFixture {
  const { dir, root, port, account, clientKey, kind } = base;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${options.hostPublicKey}\n`);
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(
    sshConfig,
    sshConfigHostBlock({ name: options.alias, port, user: account.name, clientKey, knownHosts }),
  );

  let stopped: Promise<void> | undefined;
  return {
    kind,
    dir,
    root,
    port,
    user: account.name,
    uid: account.uid,
    gid: account.gid,
    clientKey,
    knownHosts,
    sshConfig,
    alias: options.alias,
    resolve: (authority) => resolveHost(authority, { configFiles: [sshConfig], environment: {} }),
    ...servedFolder(root, account),
    stop() {
      stopped ??= (async () => {
        try {
          await options.stopServer();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      })();
      return stopped;
    },
  };
}
