import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

import { launchChromium } from '../../test/support/browser';
import {
  PROJECT_ROOT,
  installExtension,
  startCodeServer,
  type CodeServer,
} from '../../test/support/codeServer';
import { patternBytes } from '../../test/support/harness';
import {
  MiB,
  PROBE_POINTS,
  WARM_UP_BYTES,
  check,
  interleaved,
  median,
  sha,
  transferResult,
  type CaseResult,
} from '../common';
import type { BenchEnvironment, Link } from '../environment';
import type { DriverHello, DriverReply, DriverRequest } from './driverExtension';
import { CdpSession, summarize, type CpuProfile } from './profile';

/**
 * The in-editor tier: the packaged .vsix installed in code-server exactly as the vscode tests install
 * it, Chromium with the workbench open (the extension host starts only with a window), and a bench-only
 * driver extension (bench/editor/driverExtension.ts) next to it that runs one `vscode.workspace.fs`
 * operation at a time on request and times it inside the extension host.
 */
interface Editor {
  readonly hello: DriverHello['hello'];
  readonly aliases: { readonly loopbackAlias: string; readonly slowAlias: string };
  request(request: Omit<DriverRequest, 'id'>): Promise<DriverReply>;
  close(): Promise<void>;
}

const vsce = (cwd: string, out: string): void => {
  execFileSync(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'vsce'),
    // The options of `npm run package:vsix`.
    [
      'package',
      '--no-dependencies',
      '--allow-missing-repository',
      '--skip-license',
      '--no-rewrite-relative-links',
      '--out',
      out,
    ],
    { cwd, stdio: 'pipe' },
  );
};

/** The driver as a .vsix of its own: the compiled file and a manifest, nothing of the product. */
function packageDriver(work: string): string {
  const dir = join(work, 'driver');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(__dirname, 'driverExtension.js'), join(dir, 'extension.js'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'sftpfs-bench-driver',
      displayName: 'sftp-fs bench driver',
      description: 'Bench only: runs vscode.workspace.fs operations on request and times them.',
      publisher: 'sftpfs-bench',
      version: '0.0.1',
      license: 'MIT',
      engines: { vscode: '^1.100.0' },
      main: './extension.js',
      activationEvents: ['*'],
      extensionKind: ['workspace'],
    }),
  );
  writeFileSync(join(dir, 'README.md'), 'Bench only.\n');
  const vsix = join(work, 'sftpfs-bench-driver.vsix');
  vsce(dir, vsix);
  return vsix;
}

async function startEditor(
  env: BenchEnvironment,
  productVsix: string,
  moreLinks: Readonly<Record<string, Link>> = {},
): Promise<Editor> {
  const work = mkdtempSync(join(tmpdir(), 'sftpfs-bench-editor-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(work, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup();
    }
  };
  try {
    const home = join(work, 'home');
    const aliases = env.writeClientHome(home, moreLinks);
    const empty = join(work, 'empty-folder');
    mkdirSync(empty);
    const dataDir = join(work, 'code-server');
    installExtension(dataDir, productVsix);
    installExtension(dataDir, packageDriver(work));

    let driver: Socket | undefined;
    let helloResolve: (hello: DriverHello['hello']) => void = () => undefined;
    const helloPromise = new Promise<DriverHello['hello']>((resolve) => (helloResolve = resolve));
    const waiting = new Map<number, (reply: DriverReply) => void>();
    const control: Server = createServer((socket) => {
      if (driver !== undefined) {
        socket.destroy(); // a second extension host (a second window) would be a mistake here
        return;
      }
      driver = socket;
      socket.setNoDelay(true);
      let pending = '';
      socket.setEncoding('utf8').on('data', (text: string) => {
        pending += text;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const message = JSON.parse(pending.slice(0, newline)) as DriverReply | DriverHello;
          pending = pending.slice(newline + 1);
          if ('hello' in message) {
            helloResolve(message.hello);
          } else {
            waiting.get(message.id)?.(message);
            waiting.delete(message.id);
          }
        }
      });
    });
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => control.close(() => resolve())));
    cleanups.push(() => {
      driver?.destroy();
    });
    const port = (control.address() as { port: number }).port;

    const server: CodeServer = await startCodeServer({
      dataDir,
      home,
      env: { HOME: home, SFTPFS_BENCH_CONTROL_PORT: String(port) },
    });
    cleanups.push(() => server.stop());
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/?folder=${encodeURIComponent(empty)}`);
    const hello = await Promise.race([
      helloPromise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the driver extension did not connect within 120 s')), 120_000),
      ),
    ]);
    let nextId = 1;
    return {
      hello,
      aliases,
      request(request) {
        const id = nextId++;
        return new Promise<DriverReply>((resolve, reject) => {
          waiting.set(id, (reply) =>
            reply.error === undefined
              ? resolve(reply)
              : reject(new Error(`in the extension host: ${reply.error}`)),
          );
          driver?.write(`${JSON.stringify({ ...request, id })}\n`);
        });
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

const uriOf = (alias: string, path: string): string => `sftp://${alias}${path}`;

/** The in-editor cases: readFile and writeFile on loopback and at 50 ms RTT, and memory of a big read. */
export async function editorCases(
  env: BenchEnvironment,
  sftpNoop: { loopback: number; slow: number },
  options: { quick: boolean; rounds: number },
): Promise<CaseResult[]> {
  const { quick, rounds } = options;
  const results: CaseResult[] = [];
  const lines = { longFat: await env.shaped('longFat'), thin: await env.shaped('thin') };
  const editor = await startEditor(env, join(PROJECT_ROOT, 'dist', 'sftp-fs.vsix'), {
    'bench-long-fat': lines.longFat,
    'bench-thin': lines.thin,
  });
  try {
    console.log(
      `in editor: extension host pid ${editor.hello.pid}, Node ${editor.hello.node} (${editor.hello.execPath})`,
    );
    results.push(await memoryCase(env, editor, (quick ? 64 : 256) * MiB, rounds));
    const fast = (quick ? 16 : 64) * MiB;
    const slow = (quick ? 8 : 64) * MiB;
    for (const [link, alias, size, readId, writeId, readTarget, writeTarget] of [
      [env.loopback, editor.aliases.loopbackAlias, fast, 1, 2, 1.0, 1.0],
      [env.slow, editor.aliases.slowAlias, slow, 3, 4, 5.0, 3.0],
    ] as const) {
      results.push(
        ...(await transferPair(
          env,
          editor,
          link,
          alias,
          size,
          rounds,
          link === env.slow ? sftpNoop.slow : sftpNoop.loopback,
          {
            readId,
            writeId,
            readTarget,
            writeTarget,
          },
        )),
      );
    }
    results.push(
      ...(await shapedLine(env, editor, lines.longFat, 'bench-long-fat', (quick ? 32 : 256) * MiB, {
        ids: [11, 12],
        share: 0.85,
        rounds: quick ? 1 : 5,
      })),
      ...(await shapedLine(env, editor, lines.thin, 'bench-thin', (quick ? 2 : 16) * MiB, {
        ids: [13, 14],
        share: 0.9,
        rounds: quick ? 1 : 5,
        statRoundTrips: 3,
      })),
    );
  } finally {
    await editor.close();
  }
  return results;
}

/**
 * Targets 11-14 in the editor: readFile and writeFile through a shaped line (bench/run.ts
 * shapedLineCases has the same rows for the core, beside OpenSSH's sftp), measured against the line
 * rate. On the thin line `vscode.workspace.fs.stat` runs at PROBE_POINTS of the transfer, on files
 * never statted before, and must answer within `statRoundTrips` round trips. Before the timed rounds
 * the connection reads WARM_UP_BYTES, as in the core's rows: its first transfer is how it learns the
 * line.
 */
async function shapedLine(
  env: BenchEnvironment,
  editor: Editor,
  link: Link,
  alias: string,
  size: number,
  options: { ids: readonly [number, number]; share: number; rounds: number; statRoundTrips?: number },
): Promise<CaseResult[]> {
  const { ids, share, rounds, statRoundTrips } = options;
  const lineRate = link.bytesPerSecond ?? Infinity;
  const content = patternBytes(size, size + 3);
  const digest = sha(content);
  const remote = env.writeRemote(`editor-line-${size}.bin`, content);
  const target = env.writeRemote(`editor-line-upload-${size}.bin`, 'old');
  const localSource = join(env.localDir, `editor-line-source-${size}.bin`);
  writeFileSync(localSource, content);
  const probeFolder = env.mkdirRemote(`editor-line-probes-${size}`);
  let probeCount = 0;
  /** Fresh files to stat at PROBE_POINTS of the time the line needs. */
  const probes = (): Array<{ uri: string; atMs: number }> => {
    if (statRoundTrips === undefined) {
      return [];
    }
    const lineMs = (size / lineRate) * 1000;
    return PROBE_POINTS.map((at) => {
      const name = `probe-${probeCount++}`;
      env.writeRemote(`editor-line-probes-${size}/${name}`, name);
      return { uri: uriOf(alias, join(probeFolder, name)), atMs: at * lineMs };
    });
  };
  const warmUp = env.writeRemote(`editor-line-warm-up-${size}.bin`, patternBytes(WARM_UP_BYTES, 5));
  const results: CaseResult[] = [];
  try {
    await editor.request({ op: 'read', uri: uriOf(alias, warmUp) });
    // As in transferPair and as VS Code opens a file: a stat, then a first read of the file itself,
    // untimed, which is where the reader thread started by the stat makes its first read (the first
    // reads of a connection are printed, and measured on their own in the core's rows).
    await editor.request({ op: 'stat', uri: uriOf(alias, remote) });
    const firstRead = await editor.request({ op: 'read', uri: uriOf(alias, remote) });
    console.log(
      `  ${link.name}: the first readFile of ${size / MiB} MiB (untimed) ${firstRead.ms?.toFixed(0)} ms`,
    );
    for (const direction of ['read', 'write'] as const) {
      const times: number[] = [];
      const stats: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const reply =
          direction === 'read'
            ? await editor.request({ op: 'read', uri: uriOf(alias, remote), probes: probes() })
            : await editor.request({
                op: 'write',
                uri: uriOf(alias, target),
                source: localSource,
                probes: probes(),
              });
        if (direction === 'read') {
          check(reply.bytes === size && reply.sha256 === digest, 'in-editor readFile content (shaped line)');
        } else {
          check(sha(readFileSync(target)) === digest, 'in-editor writeFile content (shaped line)');
        }
        times.push(reply.ms ?? NaN);
        stats.push(...(reply.probeMs ?? []));
      }
      const reached = size / (median(times) / 1000) / lineRate;
      const slowestStat = stats.length === 0 ? 0 : Math.max(...stats);
      const statOk = statRoundTrips === undefined || slowestStat <= statRoundTrips * link.rttMs;
      results.push({
        id: direction === 'read' ? ids[0] : ids[1],
        title: `${direction === 'read' ? 'readFile' : 'writeFile'} ${size / MiB} MiB`,
        link: link.name,
        rows: [
          { contender: 'this extension', samples: times, bytes: size },
          ...(stats.length === 0 ? [] : [{ contender: 'stat during the transfer', samples: stats }]),
        ],
        target:
          `>= ${share * 100}% of the line rate` +
          (statRoundTrips === undefined
            ? ''
            : `; a stat within ${statRoundTrips} RTT (${statRoundTrips * link.rttMs} ms)`),
        measured:
          `${(reached * 100).toFixed(0)}% of the line` +
          (statRoundTrips === undefined ? '' : `; slowest stat ${slowestStat.toFixed(0)} ms`),
        holds: reached >= share && statOk,
      });
    }
  } finally {
    rmSync(remote, { force: true });
    rmSync(target, { force: true });
    rmSync(warmUp, { force: true });
    rmSync(localSource, { force: true });
    rmSync(probeFolder, { recursive: true, force: true });
  }
  return results;
}

async function transferPair(
  env: BenchEnvironment,
  editor: Editor,
  link: Link,
  alias: string,
  size: number,
  rounds: number,
  noopMs: number,
  ids: { readId: number; writeId: number; readTarget: number; writeTarget: number },
): Promise<CaseResult[]> {
  const content = patternBytes(size, size + 7);
  const digest = sha(content);
  const remote = env.writeRemote(`editor-download-${size}.bin`, content);
  const target = env.writeRemote(`editor-upload-${size}.bin`, 'old');
  const localCopy = join(env.localDir, 'editor-download.bin');
  const localSource = join(env.localDir, `editor-upload-source-${size}.bin`);
  writeFileSync(localSource, content);
  try {
    // Activation, connection and the first use of each path happen before the clock runs, and so does
    // what the connection does once (the extra channels, the reader thread), as in the core's rows.
    await editor.request({ op: 'stat', uri: uriOf(alias, remote) });
    await editor.request({ op: 'write', uri: uriOf(alias, target), source: localSource });
    const firstRead = await editor.request({ op: 'read', uri: uriOf(alias, remote) });
    console.log(
      `  ${link.name}: the first readFile of ${size / MiB} MiB (untimed) ${firstRead.ms?.toFixed(0)} ms`,
    );
    const reads = await interleaved(
      {
        'this extension': async () => {
          const reply = await editor.request({ op: 'read', uri: uriOf(alias, remote) });
          check(reply.bytes === size && reply.sha256 === digest, 'in-editor readFile content');
          return reply.ms ?? NaN;
        },
        'OpenSSH sftp': async () => {
          const ms = (await env.sftpBatch(link, [`get ${remote} ${localCopy}`])) - noopMs;
          check(sha(readFileSync(localCopy)) === digest, 'sftp get content');
          return ms;
        },
      },
      rounds,
    );
    const writes = await interleaved(
      {
        'this extension': async () => {
          env.writeRemote(`editor-upload-${size}.bin`, 'old');
          const reply = await editor.request({ op: 'write', uri: uriOf(alias, target), source: localSource });
          check(sha(readFileSync(target)) === digest, 'in-editor writeFile content');
          return reply.ms ?? NaN;
        },
        'OpenSSH sftp': async () => {
          env.writeRemote(`editor-upload-${size}.bin`, 'old');
          const ms = (await env.sftpBatch(link, [`put ${localSource} ${target}`])) - noopMs;
          check(sha(readFileSync(target)) === digest, 'sftp put content');
          return ms;
        },
      },
      rounds,
    );
    return [
      transferResult(ids.readId, `readFile ${size / MiB} MiB`, link, reads, size, ids.readTarget),
      transferResult(ids.writeId, `writeFile ${size / MiB} MiB`, link, writes, size, ids.writeTarget),
    ];
  } finally {
    rmSync(remote, { force: true });
    rmSync(target, { force: true });
    rmSync(localCopy, { force: true });
    rmSync(localSource, { force: true });
  }
}

/**
 * Peak memory growth of the extension host during one big readFile, measured inside it. Runs first,
 * on a fresh extension host: its RSS high-water mark is then the RSS before the read, so the first
 * round's peak RSS growth counts every page the read touched (later rounds reuse freed pages).
 */
async function memoryCase(
  env: BenchEnvironment,
  editor: Editor,
  size: number,
  rounds: number,
): Promise<CaseResult> {
  const content = patternBytes(size, 9);
  const digest = sha(content);
  const remote = env.writeRemote('editor-memory.bin', content);
  const uri = uriOf(editor.aliases.loopbackAlias, remote);
  try {
    await editor.request({ op: 'stat', uri });
    const js: number[] = [];
    const rss: number[] = [];
    let firstPeakRss = NaN;
    for (let round = 0; round < rounds; round++) {
      const reply = await editor.request({ op: 'memory', uri });
      check(reply.bytes === size && reply.sha256 === digest, 'in-editor memory case content');
      js.push((reply.jsGrowth ?? NaN) / size);
      rss.push((reply.rssGrowth ?? NaN) / size);
      if (round === 0) {
        firstPeakRss = (reply.maxRssGrowth ?? NaN) / size;
      }
    }
    const measuredJs = median(js);
    return {
      id: 9,
      title: `readFile ${size / MiB} MiB: peak memory growth / file size`,
      link: 'loopback',
      rows: [
        // The reader thread's allocations (the file's buffer among them) are not in the main thread's
        // figures: RSS, the whole process, is the one that counts them.
        {
          contender: 'JS heap + buffers of the main thread (sampled every 2 ms)',
          samples: js.map((g) => g * 1000),
        },
        { contender: 'RSS (sampled every 2 ms)', samples: rss.map((g) => g * 1000) },
      ],
      target: '<= 1.25x (JS and first-round peak RSS)',
      measured: `JS ${measuredJs.toFixed(2)}x, peak RSS ${firstPeakRss.toFixed(2)}x (first round, high-water mark); sampled RSS ${median(rss).toFixed(2)}x`,
      holds: measuredJs <= 1.25 && firstPeakRss <= 1.25,
      untimed: true,
    };
  } finally {
    rmSync(remote, { force: true });
  }
}

/**
 * The product bundled as `npm run package:vsix` bundles it, but unminified and with a source map kept
 * beside it, so a profile names functions and maps them to their source files.
 */
async function packageReadableProduct(work: string): Promise<{ vsix: string; map: string }> {
  const stage = join(work, 'product');
  mkdirSync(join(stage, 'dist'), { recursive: true });
  for (const file of ['package.json', 'package.nls.json', 'README.md', 'LICENSE', '.vscodeignore']) {
    copyFileSync(join(PROJECT_ROOT, file), join(stage, file));
  }
  cpSync(join(PROJECT_ROOT, 'media'), join(stage, 'media'), { recursive: true });
  await build({
    entryPoints: {
      extension: join(PROJECT_ROOT, 'src', 'extension.ts'),
      readerThread: join(PROJECT_ROOT, 'src', 'core', 'connection', 'readerThreadMain.ts'),
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outdir: join(stage, 'dist'),
    external: ['vscode', 'cpu-features', '*.node'],
    sourcemap: 'external',
    minify: false,
    logLevel: 'warning',
  });
  const vsix = join(work, 'sftp-fs-readable.vsix');
  vsce(stage, vsix);
  return { vsix, map: join(stage, 'dist', 'extension.js.map') };
}

/**
 * npm run bench -- --profile: CPU profiles (.cpuprofile) of one 64 MiB readFile and one 64 MiB
 * writeFile on loopback in the extension host, taken over the Chrome DevTools Protocol from its own
 * inspector, and the top functions by self time.
 */
export async function profileEditor(env: BenchEnvironment, outDir: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sftpfs-bench-profile-'));
  try {
    const product = await packageReadableProduct(work);
    const editor = await startEditor(env, product.vsix);
    try {
      const size = 64 * MiB;
      const content = patternBytes(size, 64);
      const digest = sha(content);
      const remote = env.writeRemote('profile-download.bin', content);
      const target = env.writeRemote('profile-upload.bin', 'old');
      const source = join(env.localDir, 'profile-upload-source.bin');
      writeFileSync(source, content);
      const alias = editor.aliases.loopbackAlias;
      // Warm: connection, activation, and the JIT, as in the timed rounds of the bench.
      for (let i = 0; i < 2; i++) {
        await editor.request({ op: 'read', uri: uriOf(alias, remote) });
        await editor.request({ op: 'write', uri: uriOf(alias, target), source });
      }
      const { inspectorUrl } = await editor.request({ op: 'inspector' });
      const cdp = await CdpSession.connect(inspectorUrl ?? '');
      try {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
        mkdirSync(outDir, { recursive: true });
        const operations: Record<'read' | 'write', { run(): Promise<number>; verify(): Promise<void> }> = {
          read: {
            run: async () =>
              (await editor.request({ op: 'read', uri: uriOf(alias, remote), deferHash: true })).ms ?? NaN,
            verify: async () =>
              check(
                (await editor.request({ op: 'lastSha256' })).sha256 === digest,
                'profiled readFile content',
              ),
          },
          write: {
            run: async () =>
              (await editor.request({ op: 'write', uri: uriOf(alias, target), source })).ms ?? NaN,
            verify: async () => check(sha(readFileSync(target)) === digest, 'profiled writeFile content'),
          },
        };
        for (const [name, operation] of Object.entries(operations)) {
          await cdp.send('Profiler.start');
          const ms = await operation.run();
          const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
          await operation.verify();
          const file = join(outDir, `in-editor-${name}File-64MiB.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          console.log(
            `\n${name}File 64 MiB, loopback, in the extension host: ${ms.toFixed(0)} ms (${(size / 1e6 / (ms / 1000)).toFixed(0)} MB/s); profile: ${file}`,
          );
          console.log(summarize(profile, product.map, 25));
        }
      } finally {
        cdp.close();
      }
      // Where the spread between rounds comes from: each read's time beside the collections in it, as
      // the bench reads, then each after a full collection (what a read costs when the heap has room).
      for (const collectFirst of [false, true]) {
        console.log(
          `\nreadFile 64 MiB, loopback, eight rounds${collectFirst ? ', each after a full collection' : ''}: ms, collections (major), pause ms, heap used before`,
        );
        for (let round = 0; round < 8; round++) {
          const reply = await editor.request({ op: 'read', uri: uriOf(alias, remote), collectFirst });
          check(reply.sha256 === digest, 'readFile content');
          const gc = reply.gc;
          console.log(
            `  ${(reply.ms ?? NaN).toFixed(0)} ms, ${gc?.count} (${gc?.major}), ${gc?.ms.toFixed(1)} ms, ${((gc?.heapUsedBefore ?? NaN) / 1e6).toFixed(0)} MB`,
          );
        }
      }
    } finally {
      await editor.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
