import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from 'ssh2';

import { nullLogger } from '../src/core/common/logger';
import { ConnectionManager } from '../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../src/core/fs/remoteFileSystem';
import type { SftpSession } from '../src/core/sftp/session';
import { sshConfigHostBlock, startSshd, type SshdFixture } from '../test/support/sshd';
import { startLatencyProxyProcess, type LatencyProxy } from './latencyProxyProcess';

/** One way to reach the server: straight to sshd, or through a latency line (with a rate limit for the shaped ones). */
export interface Link {
  readonly name: 'loopback' | '50 ms RTT' | '1 Gbit/s, 100 ms RTT' | '20 Mbit/s, 40 ms RTT';
  readonly port: number;
  readonly rttMs: number;
  /** The line rate in bytes per second, for shaped lines. */
  readonly bytesPerSecond?: number;
}

/** The shaped lines of the performance issue: a long fat line and a thin one. */
const SHAPED_LINES = {
  longFat: { name: '1 Gbit/s, 100 ms RTT', rttMs: 100, bitsPerSecond: 1e9 },
  thin: { name: '20 Mbit/s, 40 ms RTT', rttMs: 40, bitsPerSecond: 20e6 },
} as const;

/**
 * Everything a benchmark needs: a real sshd, data on tmpfs where the machine has it (so disks do not
 * distort the comparison), a latency line, and the three contenders' ways in.
 */
export class BenchEnvironment {
  private constructor(
    readonly sshd: SshdFixture,
    readonly dataDir: string,
    readonly localDir: string,
    readonly loopback: Link,
    readonly slow: Link,
    private readonly proxy: LatencyProxy,
    private readonly knownHosts: string,
  ) {}

  private readonly shapedProxies: LatencyProxy[] = [];

  /** A shaped line to the server, started on first use (its relay process ends with the environment). */
  async shaped(which: keyof typeof SHAPED_LINES): Promise<Link> {
    const line = SHAPED_LINES[which];
    const proxy = await startLatencyProxyProcess(this.sshd.port, line.rttMs / 2, line.bitsPerSecond);
    this.shapedProxies.push(proxy);
    writeFileSync(this.knownHosts, `[127.0.0.1]:${proxy.port} ${this.sshd.hostPublicKey}\n`, { flag: 'a' });
    return { name: line.name, port: proxy.port, rttMs: line.rttMs, bytesPerSecond: line.bitsPerSecond / 8 };
  }

  /**
   * A 50 ms RTT line of its own, whose bytes can be counted: what one connection through it costs the
   * link (the idle cost of watching, issue 17). Its relay process ends with the environment.
   */
  async countedSlowLine(): Promise<{ link: Link; relayed(): Promise<{ up: number; down: number }> }> {
    const proxy = await startLatencyProxyProcess(this.sshd.port, 25);
    this.shapedProxies.push(proxy);
    writeFileSync(this.knownHosts, `[127.0.0.1]:${proxy.port} ${this.sshd.hostPublicKey}\n`, { flag: 'a' });
    return { link: { name: '50 ms RTT', port: proxy.port, rttMs: 50 }, relayed: () => proxy.relayed() };
  }

  /** The listening sshd's PID: the processes serving each connection are its descendants. */
  sshdPid(): number {
    return Number(readFileSync(join(this.sshd.dir, 'sshd.pid'), 'utf8').trim());
  }

  /** An ssh_config for OpenSSH's `ssh -F`: host `bench` is this server on loopback. */
  sshConfigFile(): string {
    const file = join(this.localDir, 'ssh_config');
    writeFileSync(
      file,
      sshConfigHostBlock({
        name: 'bench',
        port: this.loopback.port,
        user: this.sshd.user,
        clientKey: this.sshd.clientKey,
        knownHosts: this.knownHosts,
      }),
    );
    return file;
  }

  static async start(): Promise<BenchEnvironment> {
    const sshd = await startSshd();
    const ram = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const dataDir = mkdtempSync(join(ram, 'sftpfs-bench-'));
    chownSync(dataDir, sshd.uid, sshd.gid);
    const localDir = mkdtempSync(join(ram, 'sftpfs-bench-local-'));
    const proxy = await startLatencyProxyProcess(sshd.port, 25);
    const knownHosts = join(sshd.dir, 'known_hosts_bench');
    writeFileSync(
      knownHosts,
      `${readFileSync(sshd.knownHosts, 'utf8')}[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}\n`,
    );
    return new BenchEnvironment(
      sshd,
      dataDir,
      localDir,
      { name: 'loopback', port: sshd.port, rttMs: 0 },
      { name: '50 ms RTT', port: proxy.port, rttMs: 50 },
      proxy,
      knownHosts,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.shapedProxies.map((proxy) => proxy.close()));
    await this.proxy.close();
    await this.sshd.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
    rmSync(this.localDir, { recursive: true, force: true });
  }

  /**
   * A HOME whose ~/.ssh/config reaches this server as a user would write it: `bench` straight to sshd,
   * `bench-slow` through the latency line, and `more` by their names (the in-editor tier's extension
   * reads it).
   */
  writeClientHome(
    home: string,
    more: Readonly<Record<string, Link>> = {},
  ): { loopbackAlias: string; slowAlias: string } {
    const ssh = join(home, '.ssh');
    mkdirSync(ssh, { recursive: true, mode: 0o700 });
    const block = (name: string, link: Link): string =>
      sshConfigHostBlock({
        name,
        port: link.port,
        user: this.sshd.user,
        clientKey: this.sshd.clientKey,
        knownHosts: this.knownHosts,
      });
    writeFileSync(
      join(ssh, 'config'),
      block('bench', this.loopback) +
        block('bench-slow', this.slow) +
        Object.entries(more)
          .map(([name, link]) => block(name, link))
          .join(''),
    );
    return { loopbackAlias: 'bench', slowAlias: 'bench-slow' };
  }

  remote(name: string): string {
    return join(this.dataDir, name);
  }

  /** A file in the served folder, owned by the SFTP account. */
  writeRemote(name: string, content: Buffer | string): string {
    const path = this.remote(name);
    writeFileSync(path, content);
    chownSync(path, this.sshd.uid, this.sshd.gid);
    return path;
  }

  mkdirRemote(name: string): string {
    const path = this.remote(name);
    mkdirSync(path, { recursive: true });
    chownSync(path, this.sshd.uid, this.sshd.gid);
    return path;
  }

  /**
   * This extension's core, exactly as the provider uses it, over `link`: large reads on a fast line
   * go through its reader thread, as in the extension (unless `readerThread` is false).
   */
  ours(
    link: Link,
    { readerThread = true }: { readerThread?: boolean } = {},
  ): { manager: ConnectionManager; fs: RemoteFileSystem; session(): Promise<SftpSession> } {
    const manager = new ConnectionManager({
      resolveHost: (authority) => ({
        ...this.sshd.resolve(authority),
        port: link.port,
        userKnownHostsFiles: [this.knownHosts],
      }),
      logger: nullLogger,
      fileSystem: { maxReadFileBytes: 2 * 1024 * 1024 * 1024 },
      lifecycle: { idleTimeoutMs: 0 },
      ...(readerThread
        ? { readerThreadScript: join(__dirname, '..', 'src', 'core', 'connection', 'readerThreadMain.js') }
        : {}),
    });
    return {
      manager,
      fs: manager.fileSystem(this.sshd.alias),
      session: () => manager.session(this.sshd.alias),
    };
  }

  /** Bytes the 50 ms RTT line has carried each way since it started (both contenders' connections). */
  slowLineBytes(): Promise<{ readonly up: number; readonly down: number }> {
    return this.proxy.relayed();
  }

  /**
   * OpenSSH's sftp client in batch mode, with the same cipher; answers the wall time in ms. Spawned
   * asynchronously: the latency line runs in this process and must keep relaying meanwhile.
   */
  async sftpBatch(link: Link, commands: readonly string[]): Promise<number> {
    const batch = join(this.localDir, 'batch.txt');
    writeFileSync(batch, `${commands.join('\n')}\n`);
    const args = ['-q', '-b', batch, '-P', String(link.port), ...this.openSshOptions()];
    const { ms } = await this.openSshClient('sftp', args, 'ignore');
    return ms;
  }

  /**
   * OpenSSH's ssh client running `command` (the account's shell reads it), with the same cipher as sftp;
   * answers the wall time in ms and what the command printed. `options` adds `-o`/`-S` options, such as
   * a control socket to run over a connection already open.
   */
  ssh(link: Link, command: string, options: readonly string[] = []): Promise<{ ms: number; stdout: Buffer }> {
    return this.openSshClient(
      'ssh',
      ['-p', String(link.port), ...options, ...this.openSshOptions(), command],
      'pipe',
    );
  }

  /**
   * An OpenSSH master connection over `link` (ControlMaster): `ssh` calls given `options` run their
   * commands over it, as ours run over the connection the extension keeps open. Ends with `close`.
   */
  async sshMaster(link: Link): Promise<{ options: string[]; close(): Promise<void> }> {
    const socket = join(this.localDir, `ssh-master-${link.port}`);
    const master = spawn(
      'ssh',
      ['-M', '-N', '-S', socket, '-p', String(link.port), ...this.openSshOptions()],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    master.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<void>((resolve) => master.once('close', () => resolve()));
    const close = (): Promise<void> => {
      master.kill('SIGTERM');
      return exited;
    };
    const deadline = Date.now() + 30_000;
    while (!existsSync(socket)) {
      if (master.exitCode !== null || Date.now() > deadline) {
        await close();
        throw new Error(`the ssh master connection did not start: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { options: ['-S', socket, '-o', 'ControlMaster=no'], close };
  }

  /** Options every OpenSSH client here gets, ending with the destination. */
  private openSshOptions(): string[] {
    return [
      '-F',
      '/dev/null',
      '-c',
      'aes128-gcm@openssh.com',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `IdentityFile=${this.sshd.clientKey}`,
      '-o',
      `UserKnownHostsFile=${this.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      `${this.sshd.user}@127.0.0.1`,
    ];
  }

  private async openSshClient(
    program: 'sftp' | 'ssh',
    args: readonly string[],
    output: 'ignore' | 'pipe',
  ): Promise<{ ms: number; stdout: Buffer }> {
    const started = process.hrtime.bigint();
    const child = spawn(program, args, { stdio: ['ignore', output, 'pipe'] });
    const stdout: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (status !== 0) {
      throw new Error(`${program} failed (${status}): ${stderr}`);
    }
    return { ms, stdout: Buffer.concat(stdout) };
  }

  /**
   * The peers' way: ssh2 with its defaults (no TCP_NODELAY, 2 MiB window) and its stop-and-wait
   * createReadStream/createWriteStream, one chunk per round trip.
   */
  async streamClient(link: Link): Promise<{ sftp: SFTPWrapper; close(): void }> {
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({
        host: '127.0.0.1',
        port: link.port,
        username: this.sshd.user,
        privateKey: readFileSync(this.sshd.clientKey),
        hostVerifier: () => true, // the peers' behaviour; only ever pointed at our own loopback sshd
      });
    });
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((error, channel) => (error ? reject(error) : resolve(channel))),
    );
    return { sftp, close: () => client.end() };
  }
}
