import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { patternBytes } from '../test/support/harness';
import { PROJECT_ROOT } from '../test/support/codeServer';
import { BenchEnvironment, type Link } from './environment';

/**
 * npm run bench [-- --quick] [-- --only=transfer,memory,metadata,copy]: this extension's core side by side with OpenSSH's sftp client and with
 * the peers' stop-and-wait streams, on loopback and through a 50 ms round-trip line. Contenders run
 * interleaved (order rotated each round); every transfer is checked byte for byte. Prints a table of
 * medians and ratios against the targets of the performance issue and writes bench-results/*.json.
 */
const quick = process.argv.includes('--quick');
/** Groups of cases to run (all by default); partial runs are for investigating one figure. */
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (group: 'transfer' | 'memory' | 'metadata' | 'copy'): boolean =>
  only === undefined || only.includes(group);
const ROUNDS = quick ? 3 : 5;
const MiB = 1024 * 1024;
const BIG = (quick ? 64 : 256) * MiB;
const SLOW_SIZE = (quick ? 16 : 64) * MiB;
const STREAM_SAMPLE_SLOW = 4 * MiB;

interface Row {
  readonly contender: string;
  readonly samples: number[];
  readonly bytes?: number;
}

interface CaseResult {
  readonly id: number;
  readonly title: string;
  readonly link: Link['name'];
  readonly rows: Row[];
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean;
}

const results: CaseResult[] = [];
const sha = (data: Buffer | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
async function time(run: () => Promise<unknown> | unknown): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}
function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`verification failed: ${what}`);
  }
}

/** Runs each contender once per round, rotating the order, and collects the times. */
async function interleaved(
  contenders: Record<string, () => Promise<number>>,
  rounds = ROUNDS,
): Promise<Map<string, number[]>> {
  const names = Object.keys(contenders);
  const samples = new Map(names.map((name) => [name, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length] as string;
      samples.get(name)?.push(await (contenders[name] as () => Promise<number>)());
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const env = await BenchEnvironment.start();
  try {
    const noop = async (link: Link): Promise<number> => {
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        samples.push(await env.sftpBatch(link, ['pwd']));
      }
      return median(samples);
    };
    const sftpNoop = { loopback: await noop(env.loopback), slow: await noop(env.slow) };
    console.log(
      `sftp session overhead (subtracted): loopback ${sftpNoop.loopback.toFixed(0)} ms, 50 ms RTT ${sftpNoop.slow.toFixed(0)} ms`,
    );

    if (runs('transfer')) {
      await transferCases(env, sftpNoop);
    }
    if (runs('memory')) {
      await memoryCase(env);
    }
    if (runs('metadata')) {
      await metadataCases(env, sftpNoop);
    }
    if (runs('copy')) {
      await copyCase(env, sftpNoop.loopback);
    }
  } finally {
    await env.stop();
  }
  report();
}

async function transferCases(
  env: BenchEnvironment,
  sftpNoop: { loopback: number; slow: number },
): Promise<void> {
  for (const [link, size, readId, writeId, readTarget, writeTarget] of [
    [env.loopback, BIG, 1, 2, 1.0, 1.0],
    [env.slow, SLOW_SIZE, 3, 4, 5.0, 3.0],
  ] as const) {
    const content = patternBytes(size, size);
    const digest = sha(content);
    const remote = env.writeRemote(`download-${size}.bin`, content);
    const localCopy = join(env.localDir, 'download.bin');
    const localSource = join(env.localDir, 'upload-source.bin');
    writeFileSync(localSource, content);
    const ours = env.ours(link);
    await ours.session();
    const stream = await env.streamClient(link);
    const noopMs = link === env.slow ? sftpNoop.slow : sftpNoop.loopback;
    const streamSize = link === env.slow ? STREAM_SAMPLE_SLOW : size;
    const streamRemote = env.writeRemote(`stream-${streamSize}.bin`, content.subarray(0, streamSize));
    try {
      const reads = await interleaved({
        'this extension': async () => {
          let data: Uint8Array = new Uint8Array();
          const ms = await time(async () => (data = await ours.fs.readFile(remote)));
          check(sha(data) === digest, 'readFile content');
          return ms;
        },
        'OpenSSH sftp': async () => {
          const ms = (await env.sftpBatch(link, [`get ${remote} ${localCopy}`])) - noopMs;
          check(sha(readFileSync(localCopy)) === digest, 'sftp get content');
          return ms;
        },
        [`peers' stream${streamSize === size ? '' : ` (${streamSize / MiB} MiB)`}`]: async () => {
          const chunks: Buffer[] = [];
          const ms = await time(
            () =>
              new Promise<void>((resolve, reject) =>
                stream.sftp
                  .createReadStream(streamRemote)
                  .on('data', (chunk: Buffer) => chunks.push(chunk))
                  .on('end', resolve)
                  .on('error', reject),
              ),
          );
          check(sha(Buffer.concat(chunks)) === sha(content.subarray(0, streamSize)), 'stream content');
          return ms;
        },
      });
      record(readId, `readFile ${size / MiB} MiB`, link, reads, size, streamSize, readTarget);

      const target = env.remote(`upload-${size}.bin`);
      env.writeRemote(`upload-${size}.bin`, 'old');
      const writes = await interleaved({
        'this extension': async () => {
          const ms = await time(() => ours.fs.writeFile(target, content, { create: true, overwrite: true }));
          check(sha(readFileSync(target)) === digest, 'writeFile content');
          return ms;
        },
        'OpenSSH sftp': async () => {
          const ms = (await env.sftpBatch(link, [`put ${localSource} ${target}`])) - noopMs;
          check(sha(readFileSync(target)) === digest, 'sftp put content');
          return ms;
        },
        [`peers' stream${streamSize === size ? '' : ` (${streamSize / MiB} MiB)`}`]: async () => {
          const ms = await time(
            () =>
              new Promise<void>((resolve, reject) => {
                const out = stream.sftp.createWriteStream(target);
                out.on('close', resolve).on('error', reject);
                out.end(content.subarray(0, streamSize));
              }),
          );
          check(sha(readFileSync(target)) === sha(content.subarray(0, streamSize)), 'stream upload content');
          return ms;
        },
      });
      record(
        writeId,
        `writeFile ${size / MiB} MiB (atomic, fsync)`,
        link,
        writes,
        size,
        streamSize,
        writeTarget,
      );
    } finally {
      stream.close();
      ours.manager.dispose();
      rmSync(remote, { force: true });
    }
  }
}

/** Target 9: reading a big file grows memory by at most 1.25 times its size. */
async function memoryCase(env: BenchEnvironment): Promise<void> {
  const content = patternBytes(BIG, 9);
  const remote = env.writeRemote('memory.bin', content);
  const ours = env.ours(env.loopback);
  await ours.session();
  const growth: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // JavaScript-visible memory (buffers + heap): RSS does not shrink after a collection, so later
    // rounds would reuse pages and under-report.
    const used = (): number => {
      const usage = process.memoryUsage();
      return usage.arrayBuffers + usage.heapUsed;
    };
    (globalThis as { gc?: () => void }).gc?.();
    const baseline = used();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, used())), 2);
    let data: Uint8Array | undefined = await ours.fs.readFile(remote);
    clearInterval(sampler);
    peak = Math.max(peak, used());
    check(data.length === BIG, 'memory case length');
    data = undefined;
    growth.push((peak - baseline) / BIG);
  }
  ours.manager.dispose();
  rmSync(remote);
  const measured = median(growth);
  results.push({
    id: 9,
    title: `readFile ${BIG / MiB} MiB: peak memory growth / file size`,
    link: 'loopback',
    rows: [{ contender: 'this extension', samples: growth.map((g) => g * 1000) }],
    target: '<= 1.25x',
    measured: `${measured.toFixed(2)}x`,
    holds: measured <= 1.25,
  });
}

async function metadataCases(
  env: BenchEnvironment,
  sftpNoop: { loopback: number; slow: number },
): Promise<void> {
  const link = env.slow;
  const big = env.mkdirRemote('listing-10000');
  for (let i = 0; i < 10_000; i++) {
    writeFileSync(join(big, `entry-${String(i).padStart(5, '0')}.txt`), '');
  }
  const thousand = env.mkdirRemote('listing-1000');
  for (let i = 0; i < 1000; i++) {
    writeFileSync(join(thousand, `file-${i}.txt`), 'x'.repeat(i));
  }
  const ours = env.ours(link);
  await ours.session();

  const listing = await interleaved({
    'this extension': () =>
      time(async () => check((await ours.fs.readDirectory(big)).length === 10_000, '10,000 entries')),
    'OpenSSH sftp ls -l': async () => (await env.sftpBatch(link, [`ls -l ${big}`])) - sftpNoop.slow,
  });
  const listOurs = median(listing.get('this extension') ?? []);
  const listSftp = median(listing.get('OpenSSH sftp ls -l') ?? []);
  results.push({
    id: 5,
    title: 'readDirectory of 10,000 entries',
    link: link.name,
    rows: rows(listing),
    target: '>= 10x faster than sftp ls -l',
    measured: `${(listSftp / listOurs).toFixed(1)}x`,
    holds: listSftp / listOurs >= 10,
  });

  const sorted = await interleaved({
    'listing alone': () => time(() => ours.fs.readDirectory(thousand)),
    'listing + 1,000 stats': () =>
      time(async () => {
        const entries = await ours.fs.readDirectory(thousand);
        const stats = await Promise.all(entries.map(([name]) => ours.fs.stat(join(thousand, name))));
        check(stats.length === 1000 && stats.every((s) => s.type.kind === 'file'), '1,000 stats');
      }),
  });
  const alone = median(sorted.get('listing alone') ?? []);
  const withStats = median(sorted.get('listing + 1,000 stats') ?? []);
  results.push({
    id: 6,
    title: 'Explorer sorted by modified: readDirectory + 1,000 stats',
    link: link.name,
    rows: rows(sorted),
    target: 'total < 2x the listing alone',
    measured: `${(withStats / alone).toFixed(2)}x`,
    holds: withStats / alone < 2,
  });

  const doc = env.writeRemote('document.txt', 'x'.repeat(4096));
  const saves = await interleaved({
    'stat + writeFile + stat': () =>
      time(async () => {
        await ours.fs.stat(doc);
        await ours.fs.writeFile(doc, patternBytes(4096, Date.now() % 1000), {
          create: true,
          overwrite: true,
        });
        await ours.fs.stat(doc);
      }),
  });
  const roundTrips = median(saves.get('stat + writeFile + stat') ?? []) / link.rttMs;
  results.push({
    id: 7,
    title: 'save of a 4 KiB file (stat, writeFile, stat)',
    link: link.name,
    rows: rows(saves),
    target: '<= 6 round trips, atomic',
    measured: `${roundTrips.toFixed(1)} round trips`,
    holds: roundTrips <= 6.5,
  });
  ours.manager.dispose();

  const small = env.mkdirRemote('connect-and-list');
  for (let i = 0; i < 20; i++) {
    writeFileSync(join(small, `f${i}`), '');
  }
  const connecting = await interleaved({
    'this extension': () =>
      time(async () => {
        const fresh = env.ours(link);
        try {
          check((await fresh.fs.readDirectory(small)).length === 20, 'connect and list');
        } finally {
          fresh.manager.dispose();
        }
      }),
    'OpenSSH sftp': () => env.sftpBatch(link, [`ls ${small}`]),
  });
  const connectOurs = median(connecting.get('this extension') ?? []);
  const connectSftp = median(connecting.get('OpenSSH sftp') ?? []);
  results.push({
    id: 10,
    title: 'connect and list a folder',
    link: link.name,
    rows: rows(connecting),
    target: 'no slower than sftp',
    measured: `${(connectSftp / connectOurs).toFixed(2)}x`,
    holds: connectOurs <= connectSftp * 1.05,
  });
}

/** Target 8: VS Code's copy of 1,000 small files into the server (parallel writeFile calls, no copy()). */
async function copyCase(env: BenchEnvironment, sftpNoopMs: number): Promise<void> {
  const source = join(env.localDir, 'copy-source');
  mkdirSync(source);
  const files = Array.from({ length: 1000 }, (_, i) => ({
    name: `f${i}.txt`,
    data: patternBytes(4096, i + 1),
  }));
  for (const file of files) {
    writeFileSync(join(source, file.name), file.data);
  }
  const ours = env.ours(env.loopback);
  const session = await ours.session();
  let round = 0;
  const verify = (folder: string): void =>
    files.forEach((file) =>
      check(readFileSync(join(folder, file.name)).equals(file.data), `copy of ${file.name}`),
    );
  const copies = await interleaved({
    'this extension': async () => {
      const target = env.remote(`copy-ours-${round++}`);
      const ms = await time(async () => {
        await ours.fs.createDirectory(target);
        await Promise.all(
          files.map((file) =>
            ours.fs.writeFile(join(target, file.name), file.data, { create: true, overwrite: true }),
          ),
        );
      });
      verify(target);
      return ms;
    },
    'OpenSSH sftp put -r': async () => {
      const target = env.remote(`copy-sftp-${round++}`);
      const ms = (await env.sftpBatch(env.loopback, [`put -r ${source} ${target}`])) - sftpNoopMs;
      verify(target);
      return ms;
    },
  });
  const peak = session.peakOpenHandles;
  ours.manager.dispose();
  const ratio = median(copies.get('OpenSSH sftp put -r') ?? []) / median(copies.get('this extension') ?? []);
  results.push({
    id: 8,
    title: 'copy of 1,000 x 4 KiB files into the server (VS Code pattern)',
    link: 'loopback',
    rows: rows(copies),
    target: `>= 1.5x faster than sftp put -r; handles <= server limit (${session.limits.maxOpenHandles})`,
    measured: `${ratio.toFixed(2)}x, peak ${peak} handles`,
    holds: ratio >= 1.5 && peak <= session.limits.maxOpenHandles,
  });
}

function rows(samples: Map<string, number[]>): Row[] {
  return [...samples].map(([contender, values]) => ({
    contender,
    samples: values,
  }));
}

function record(
  id: number,
  title: string,
  link: Link,
  samples: Map<string, number[]>,
  size: number,
  streamSize: number,
  target: number,
): void {
  const ours = median(samples.get('this extension') ?? []);
  const sftp = median(samples.get('OpenSSH sftp') ?? []);
  results.push({
    id,
    title,
    link: link.name,
    rows: [...samples].map(([contender, values]) => ({
      contender,
      samples: values,
      bytes: contender.startsWith("peers'") ? streamSize : size,
    })),
    target: `>= ${target}x OpenSSH sftp`,
    measured: `${(sftp / ours).toFixed(2)}x`,
    holds: sftp / ours >= target,
  });
}

function report(): void {
  const lines: string[] = [];
  lines.push(`| # | case | link | contender | median ms | min-max ms | MB/s | target | measured | holds |`);
  lines.push(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const result of [...results].sort((a, b) => a.id - b.id)) {
    result.rows.forEach((row, index) => {
      const med = median(row.samples);
      const mbps = row.bytes === undefined ? '' : (row.bytes / 1e6 / (med / 1000)).toFixed(0);
      const first = index === 0;
      const timing =
        result.id === 9
          ? ['', '']
          : [med.toFixed(0), `${Math.min(...row.samples).toFixed(0)}-${Math.max(...row.samples).toFixed(0)}`];
      lines.push(
        `| ${first ? result.id : ''} | ${first ? result.title : ''} | ${first ? result.link : ''} | ${row.contender} | ${timing[0]} | ${timing[1]} | ${mbps} | ${first ? result.target : ''} | ${first ? result.measured : ''} | ${first ? (result.holds ? 'yes' : 'NO') : ''} |`,
      );
    });
  }
  const table = lines.join('\n');
  console.log(`\n${table}\n`);
  console.log(
    `bench: ${results.filter((r) => r.holds).length} of ${results.length} targets hold (${quick ? 'quick' : 'full'} run, ${ROUNDS} rounds)`,
  );
  const dir = join(PROJECT_ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = JSON.stringify({ quick, rounds: ROUNDS, node: process.version, results }, null, 2);
  writeFileSync(join(dir, `${quick ? 'quick' : 'full'}-${stamp}.json`), json);
  if (only === undefined) {
    writeFileSync(join(dir, `${quick ? 'quick' : 'full'}-latest.json`), json);
    writeFileSync(join(dir, `${quick ? 'quick' : 'full'}-latest.md`), `${table}\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
