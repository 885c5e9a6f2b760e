import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import * as inspector from 'node:inspector';
import { connect, type Socket } from 'node:net';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as vscode from 'vscode';

/**
 * The bench-only driver extension (never in the product .vsix): installed next to the packaged
 * extension in the bench's code-server, it connects back to the bench's loopback control server
 * (SFTPFS_BENCH_CONTROL_PORT) and runs one requested operation at a time through
 * `vscode.workspace.fs`, timed here in the extension host with hrtime. One JSON object per line each
 * way. It imports nothing from the project: the compiled file is copied into the extension as is.
 */
export interface DriverRequest {
  readonly id: number;
  readonly op: 'read' | 'write' | 'stat' | 'memory' | 'inspector' | 'lastSha256';
  readonly uri?: string;
  /** For write: a local file whose bytes are written (read before the clock starts). */
  readonly source?: string;
  /** For read: keep the bytes and hash them on a later `lastSha256` (so a profile holds the read alone). */
  readonly deferHash?: boolean;
  /** For read: a full garbage collection first, so that the read starts on a collected heap. */
  readonly collectFirst?: boolean;
  /**
   * For read and write: while the transfer runs, stat `probes[i].uri` at `probes[i].atMs` after its
   * start (files never statted before, so nothing cached answers) and reply with each STAT's time.
   */
  readonly probes?: ReadonlyArray<{ readonly uri: string; readonly atMs: number }>;
}

export interface DriverReply {
  readonly id: number;
  readonly error?: string;
  readonly ms?: number;
  readonly bytes?: number;
  readonly sha256?: string;
  /** memory: peak growth over the baseline during the read, in bytes. */
  readonly jsGrowth?: number;
  readonly rssGrowth?: number;
  /** memory: the process's peak RSS (high-water mark) after the read, over the RSS before it. */
  readonly maxRssGrowth?: number;
  readonly inspectorUrl?: string;
  /** read and write with probes: how long each probe's stat took, in ms. */
  readonly probeMs?: readonly number[];
  /** read and write: the extension host's garbage collections during the operation. */
  readonly gc?: GcDuring;
}

export interface GcDuring {
  readonly count: number;
  readonly major: number;
  /** Main-thread pause time, summed. */
  readonly ms: number;
  /** The V8 heap in use when the operation started. */
  readonly heapUsedBefore: number;
}

export interface DriverHello {
  readonly hello: { readonly pid: number; readonly node: string; readonly execPath: string };
}

let socket: Socket | undefined;
const sources = new Map<string, Uint8Array>();
let lastRead: Uint8Array | undefined;

export function activate(): void {
  const port = Number(process.env['SFTPFS_BENCH_CONTROL_PORT']);
  if (!Number.isInteger(port) || port <= 0) {
    return;
  }
  const control = connect({ host: '127.0.0.1', port });
  socket = control;
  control.setNoDelay(true);
  control.on('connect', () => {
    const hello: DriverHello = {
      hello: { pid: process.pid, node: process.version, execPath: process.execPath },
    };
    control.write(`${JSON.stringify(hello)}\n`);
  });
  control.on('error', () => undefined);
  let pending = '';
  // One operation at a time: the bench waits for each reply before asking the next.
  let queue = Promise.resolve();
  control.setEncoding('utf8').on('data', (text: string) => {
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const request = JSON.parse(pending.slice(0, newline)) as DriverRequest;
      pending = pending.slice(newline + 1);
      queue = queue.then(async () => {
        let reply: DriverReply;
        try {
          reply = { id: request.id, ...(await perform(request)) };
        } catch (error) {
          reply = { id: request.id, error: String((error as Error).stack ?? error) };
        }
        control.write(`${JSON.stringify(reply)}\n`);
      });
    }
  });
}

export function deactivate(): void {
  socket?.destroy();
}

const elapsedMs = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e6;
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** V8's gc(), which the extension host does not expose: the memory case starts from a collected heap. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Stats each probe at its time from now; resolves with their durations once all have answered. */
function probeDuring(probes: DriverRequest['probes']): () => Promise<number[]> {
  const timings = (probes ?? []).map(
    (probe) =>
      new Promise<number>((resolve, reject) =>
        setTimeout(() => {
          const started = process.hrtime.bigint();
          vscode.workspace.fs
            .stat(vscode.Uri.parse(probe.uri))
            .then(() => resolve(elapsedMs(started)), reject);
        }, probe.atMs),
      ),
  );
  return () => Promise.all(timings);
}

/** Counts the collections V8 reports from now until the returned function is awaited. */
function gcDuring(): () => Promise<GcDuring> {
  let count = 0;
  let major = 0;
  let ms = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      count++;
      ms += entry.duration;
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        major++;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const heapUsedBefore = process.memoryUsage().heapUsed;
  return async () => {
    // Entries are delivered asynchronously: let the ones of the operation arrive first.
    await new Promise((resolve) => setTimeout(resolve, 20));
    observer.disconnect();
    return { count, major, ms, heapUsedBefore };
  };
}

async function perform(request: DriverRequest): Promise<Omit<DriverReply, 'id'>> {
  const uri = (): vscode.Uri => vscode.Uri.parse(request.uri ?? '');
  switch (request.op) {
    case 'stat': {
      const stat = await vscode.workspace.fs.stat(uri());
      return { bytes: stat.size };
    }
    case 'read': {
      if (request.collectFirst === true) {
        collector()();
      }
      const probed = probeDuring(request.probes);
      const collections = gcDuring();
      const started = process.hrtime.bigint();
      const data = await vscode.workspace.fs.readFile(uri());
      const ms = elapsedMs(started);
      const gc = await collections();
      const probeMs = await probed();
      if (request.deferHash === true) {
        lastRead = data;
        return { ms, bytes: data.length, probeMs, gc };
      }
      return { ms, bytes: data.length, sha256: sha256(data), probeMs, gc };
    }
    case 'lastSha256': {
      const digest = lastRead === undefined ? '' : sha256(lastRead);
      lastRead = undefined;
      return { sha256: digest };
    }
    case 'write': {
      const path = request.source ?? '';
      const { size, mtimeMs } = statSync(path);
      const key = `${path}\t${size}\t${mtimeMs}`;
      let data = sources.get(key);
      if (data === undefined) {
        data = new Uint8Array(readFileSync(path));
        sources.clear();
        sources.set(key, data);
      }
      const probed = probeDuring(request.probes);
      const collections = gcDuring();
      const started = process.hrtime.bigint();
      await vscode.workspace.fs.writeFile(uri(), data);
      const ms = elapsedMs(started);
      const gc = await collections();
      return { ms, bytes: data.length, probeMs: await probed(), gc };
    }
    case 'memory': {
      sources.clear();
      const gc = collector();
      // JavaScript-visible memory (heap + buffers), as the core's memory case counts it, and RSS.
      const js = (usage: NodeJS.MemoryUsage): number => usage.heapUsed + usage.arrayBuffers;
      gc();
      const baseline = process.memoryUsage();
      let peakJs = js(baseline);
      let peakRss = baseline.rss;
      const sample = (): void => {
        const usage = process.memoryUsage();
        peakJs = Math.max(peakJs, js(usage));
        peakRss = Math.max(peakRss, usage.rss);
      };
      const sampler = setInterval(sample, 2);
      const started = process.hrtime.bigint();
      let data: Uint8Array | undefined = await vscode.workspace.fs.readFile(uri());
      const ms = elapsedMs(started);
      clearInterval(sampler);
      sample();
      // The process's high-water mark also catches peaks between samples (a synchronous copy).
      const maxRss = process.resourceUsage().maxRSS * 1024;
      const bytes = data.length;
      const digest = sha256(data);
      data = undefined;
      gc();
      return {
        ms,
        bytes,
        sha256: digest,
        jsGrowth: peakJs - js(baseline),
        rssGrowth: peakRss - baseline.rss,
        maxRssGrowth: maxRss - baseline.rss,
      };
    }
    case 'inspector': {
      // The extension host's own inspector on a free loopback port; the bench speaks CDP to it.
      if (inspector.url() === undefined) {
        inspector.open(0, '127.0.0.1', false);
      }
      return { inspectorUrl: inspector.url() ?? '' };
    }
  }
}
