import { appendFileSync, readFileSync } from 'node:fs';

import { ConnectionManager } from '../src/core/connection/connectionManager';
import type { SftpSession } from '../src/core/sftp/session';
import { startDropbear } from '../test/support/dropbear';
import { RecordingLogger, patternBytes } from '../test/support/harness';
import { startProftpd } from '../test/support/proftpd';
import type { SftpServerFixture } from '../test/support/sftpServerFixture';
import { startLatencyProxyProcess, type LatencyProxy } from './latencyProxyProcess';

/**
 * node out/bench/otherServerRead.js [proftpd|dropbear] [rounds] [MiB] [--rtt=50]: reads one file
 * through the core (RemoteFileSystem.readFile, as VS Code does) from a server other than OpenSSH's
 * sshd, on loopback or through the benchmark's latency line, and prints each round's time, the READ
 * length the session settled on and the READ requests sent. For the servers table: what a server
 * without limits@openssh.com costs. Needs root and `bash scripts/other-servers.sh`, as the fixtures do.
 */
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const kind = positional[0] ?? 'proftpd';
const rounds = Number(positional[1] ?? 7);
const size = Number(positional[2] ?? 64) * 1024 * 1024;
const rttMs = Number(process.argv.find((arg) => arg.startsWith('--rtt='))?.slice('--rtt='.length) ?? 0);

async function main(): Promise<void> {
  const server: SftpServerFixture = kind === 'dropbear' ? await startDropbear() : await startProftpd();
  let proxy: LatencyProxy | undefined;
  if (rttMs > 0) {
    proxy = await startLatencyProxyProcess(server.port, rttMs / 2);
    // The server's key, known under the line's port too.
    const hostKey = readFileSync(server.knownHosts, 'utf8').trim().split(/\s+/).slice(1).join(' ');
    appendFileSync(server.knownHosts, `[127.0.0.1]:${proxy.port} ${hostKey}\n`);
  }
  const port = proxy?.port;
  const manager = new ConnectionManager({
    resolveHost: (authority) => ({
      ...server.resolve(authority),
      ...(port === undefined ? {} : { port }),
    }),
    logger: new RecordingLogger(),
    fileSystem: { maxReadFileBytes: 2 * size },
    lifecycle: { idleTimeoutMs: 0 },
  });
  try {
    const content = patternBytes(size, 9);
    const path = server.writeLocal('bench-read.bin', content);
    const fs = manager.fileSystem(server.alias);
    const session = await manager.session(server.alias);
    const reads = countReads(session);
    const times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const before = reads.count;
      const started = process.hrtime.bigint();
      const data = await fs.readFile(path);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (!Buffer.from(data).equals(content)) {
        throw new Error('the bytes read differ from the file');
      }
      times.push(ms);
      const length = (session as { readLength?: number }).readLength ?? session.limits.maxReadLength;
      console.log(
        `round ${round + 1}: ${ms.toFixed(0)} ms, ${(((size / ms) * 1e3) / 1e6).toFixed(0)} MB/s, ${reads.count - before} READs, read length ${length}`,
      );
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
    console.log(
      `${kind}${rttMs > 0 ? ` at ${rttMs} ms RTT` : ''}: ${size / 1024 / 1024} MiB read ${rounds} times, median ${median.toFixed(0)} ms (${(((size / median) * 1e3) / 1e6).toFixed(0)} MB/s), min ${sorted[0]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`,
    );
  } finally {
    manager.dispose();
    await proxy?.close();
    await server.stop();
  }
}

/** Counts the READ requests the session hands to ssh2 (one request each: none is longer than ssh2 sends whole). */
function countReads(session: SftpSession): { count: number } {
  const counter = { count: 0 };
  const channel = session.channel as unknown as { read: (...args: unknown[]) => unknown };
  const original = channel.read.bind(channel);
  channel.read = (...args: unknown[]): unknown => {
    counter.count++;
    return original(...args);
  };
  return counter;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
