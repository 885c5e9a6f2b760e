import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { RemoteFsError } from '../../src/core/common/errors';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { RecordingLogger, patternBytes, randomSource } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * Several real sshd hosts, hundreds of operations in flight for a bounded time. Every answer is
 * checked against what that host holds (a response meant for another request or host would not
 * match), and afterwards no handle is open on either side and memory has not grown with the work.
 * One host runs with a low open-file limit, so its SFTP server can run out of handles.
 */
const FILES_PER_HOST = 40;
const IN_FLIGHT_PER_HOST = 80;
const RUN_MS = 10_000;
/** The low-limit host: sshd's own descriptors, then few for SFTP. */
const LOW_OPEN_FILES = 24;

setFlagsFromString('--expose_gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Host {
  readonly sshd: SshdFixture;
  readonly fs: RemoteFileSystem;
  readonly files: ReadonlyMap<string, Buffer>;
}

describe('load over several hosts', () => {
  const hosts: Host[] = [];
  const logger = new RecordingLogger();
  const state = {} as { manager: ConnectionManager };

  before(async () => {
    const servers = await Promise.all([
      startSshd({ alias: 'load-a' }),
      startSshd({ alias: 'load-b' }),
      startSshd({ alias: 'load-low', maxOpenFiles: LOW_OPEN_FILES }),
    ]);
    state.manager = new ConnectionManager({
      resolveHost: (authority) => {
        const server = servers.find((candidate) => candidate.alias === authority.host);
        assert.ok(server, `no test host ${authority.host}`);
        return server.resolve(authority);
      },
      logger,
      fileSystem: { maxReadFileBytes: 64 * 1024 * 1024 },
      lifecycle: { idleTimeoutMs: 0 },
    });
    servers.forEach((sshd, hostIndex) => {
      sshd.mkdirLocal('data');
      sshd.mkdirLocal('work');
      const files = new Map<string, Buffer>();
      for (let i = 0; i < FILES_PER_HOST; i++) {
        // The host and the file are written into the content: a mixed-up answer cannot pass for it.
        const content = Buffer.concat([
          Buffer.from(`${sshd.alias} file ${i}\n`),
          patternBytes(((i * 7919) % 400_000) + 1, hostIndex * 1000 + i + 1),
        ]);
        sshd.writeLocal(`data/file-${i}.bin`, content);
        files.set(`file-${i}.bin`, content);
      }
      hosts.push({ sshd, fs: state.manager.fileSystem(sshd.alias), files });
    });
  });
  after(async () => {
    state.manager?.dispose();
    await Promise.all(hosts.map((host) => host.sshd.stop()));
  });

  /** Runs random checked operations on every host for `durationMs`; answers how many completed. */
  async function drive(
    durationMs: number,
    seed: number,
  ): Promise<{ operations: number; failures: string[] }> {
    const deadline = Date.now() + durationMs;
    const failures: string[] = [];
    let operations = 0;
    const worker = async (host: Host, workerId: number): Promise<void> => {
      const random = randomSource(seed * 7919 + workerId * 104729 + 1);
      const own = (name: string): string => `${host.sshd.root}/work/${name}-${workerId}`;
      const data = (name: string): string => `${host.sshd.root}/data/${name}`;
      for (let step = 0; Date.now() < deadline && failures.length < 5; step++) {
        const name = `file-${random(FILES_PER_HOST)}.bin`;
        const expected = host.files.get(name) as Buffer;
        const what = `${host.sshd.alias} worker ${workerId} step ${step}`;
        try {
          switch (random(7)) {
            case 0:
            case 1: {
              const content = Buffer.from(await host.fs.readFile(data(name)));
              assert.ok(content.equals(expected), `${what}: ${name} came back as other content`);
              break;
            }
            case 2: {
              const stat = await host.fs.stat(data(name));
              assert.equal(stat.size, expected.length, `${what}: size of ${name}`);
              break;
            }
            case 3: {
              const names = (await host.fs.readDirectory(`${host.sshd.root}/data`)).map(([entry]) => entry);
              assert.deepEqual(names.sort(), [...host.files.keys()].sort(), `${what}: listing`);
              break;
            }
            case 4: {
              const content = Buffer.from(`${what} wrote this\n`.repeat(1 + random(2000)));
              await host.fs.writeFile(own('w'), content, { create: true, overwrite: true });
              const back = Buffer.from(await host.fs.readFile(own('w')));
              assert.ok(back.equals(content), `${what}: read back another content than saved`);
              break;
            }
            case 5: {
              await host.fs.copy(data(name), own('c'), { overwrite: true });
              const back = Buffer.from(await host.fs.readFile(own('c')));
              assert.ok(back.equals(expected), `${what}: the copy of ${name} differs`);
              break;
            }
            default: {
              await host.fs.writeFile(own('r'), Buffer.from(what), { create: true, overwrite: true });
              await host.fs.rename(own('r'), own('moved'), { overwrite: true });
              await host.fs.delete(own('moved'), { recursive: false });
            }
          }
          operations++;
        } catch (error) {
          failures.push(
            error instanceof RemoteFsError ? `${what}: ${error.code} ${error.message}` : String(error),
          );
        }
      }
    };
    await Promise.all(
      hosts.flatMap((host) => Array.from({ length: IN_FLIGHT_PER_HOST }, (_, id) => worker(host, id))),
    );
    return { operations, failures };
  }

  test(`3 hosts x ${IN_FLIGHT_PER_HOST} operations in flight for ${RUN_MS / 1000} s: every answer right, no handle left open on either side, memory flat`, async () => {
    const warmUp = await drive(1500, 1);
    assert.deepEqual(warmUp.failures, []);
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;

    const run = await drive(RUN_MS, 2);
    assert.deepEqual(run.failures, []);

    collectGarbage();
    const heapGrowthMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    const sessions = await Promise.all(hosts.map((host) => state.manager.session(host.sshd.alias)));
    await Promise.all(sessions.map((session) => session.closesSettled()));
    const serverOpen = hosts.map((host) => host.sshd.openFilesUnderRoot());
    assert.deepEqual(
      sessions.map((session) => session.openHandleCount),
      hosts.map(() => 0),
      'handles our sessions still count as open',
    );
    assert.deepEqual(serverOpen, [0, 0, 0], 'files the SFTP servers still hold open under the served folder');
    const low = sessions[2];
    assert.ok(low !== undefined && low.peakOpenHandles <= low.limits.maxOpenHandles);
    assert.ok(heapGrowthMiB < 48, `heap grew by ${heapGrowthMiB.toFixed(1)} MiB over the run`);
    console.log(
      `load summary: ${run.operations} checked operations over ${hosts.length} hosts in ${RUN_MS / 1000} s ` +
        `(${Math.round(run.operations / (RUN_MS / 1000))}/s), 0 wrong answers, peak open handles ` +
        `${sessions.map((session) => session.peakOpenHandles).join('/')} (low-limit host allows ` +
        `${low.limits.maxOpenHandles}), open afterwards: ours 0, servers' ${serverOpen.join('/')}, ` +
        `heap growth ${heapGrowthMiB.toFixed(1)} MiB`,
    );
  });
});
