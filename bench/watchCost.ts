import { chownSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Logger } from '../src/core/common/logger';
import { waitAfterScan } from '../src/core/watch/pollSchedule';
import { WatchService } from '../src/core/watch/watchService';
import type { BuiltTree } from './bigTree';
import { check, median, type CaseResult } from './common';
import type { BenchEnvironment } from './environment';
import {
  connectionProcesses,
  costBetween,
  serverChildren,
  snapshot,
  type Cost,
  type CostSnapshot,
} from './serverCost';

/** VS Code's default `files.watcherExclude`, passed to the provider's watch() as VS Code passes it. */
export const VSCODE_WATCHER_EXCLUDES = [
  '**/.git/objects/**',
  '**/.git/subtree-cache/**',
  '**/.hg/store/**',
  '**/node_modules/*/**',
];
/** The settings' defaults (package.json): sftpfs.watch.pollIntervalSeconds and maxEntries. */
const INTERVAL_MS = 3000;
const MAX_ENTRIES = 20_000;

export interface WatchBenchOptions {
  readonly idleSeconds: number;
  readonly pollingSamples: number;
  readonly inotifySamples: number;
}

const KB = 1000;

/**
 * Issue 17: a workspace folder of the big tree watched as VS Code watches it (recursive, its default
 * excludes), through the core's WatchService as the provider uses it, over a 50 ms RTT line of its
 * own. For polling and for inotify: the latency from a file written on the server to the event, then
 * the idle cost over a window (SFTP requests/s, bytes/s on the line, server CPU seconds per minute).
 */
export async function watchCases(
  env: BenchEnvironment,
  tree: BuiltTree,
  options: WatchBenchOptions,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const latencies = new Map<string, number[]>();
  const latencyTargets: string[] = [];
  let latencyHolds = true;
  for (const mode of ['polling', 'inotify'] as const) {
    const watched = await watchTree(env, tree, mode, options);
    results.push(watched.idle);
    latencies.set(mode, watched.latencies);
    latencyTargets.push(`${mode} <= ${watched.latencyLimitMs.toFixed(0)} ms`);
    latencyHolds &&= Math.max(...watched.latencies) <= watched.latencyLimitMs;
  }
  const measured = [...latencies]
    .map(
      ([mode, samples]) =>
        `${mode} ${median(samples).toFixed(0)} ms (max ${Math.max(...samples).toFixed(0)})`,
    )
    .join('; ');
  results.push({
    id: 22,
    title: `change on the server to the event, ${tree.entries} entries watched (a new file in a source folder)`,
    link: '50 ms RTT',
    rows: [...latencies].map(([mode, samples]) => ({ contender: mode, samples })),
    target: `inotify <= 1 s; polling <= the poll cycle: interval + one scan (${latencyTargets.join(', ')})`,
    measured,
    holds: latencyHolds,
  });
  return results;
}

async function watchTree(
  env: BenchEnvironment,
  tree: BuiltTree,
  mode: 'polling' | 'inotify',
  options: WatchBenchOptions,
): Promise<{ idle: CaseResult; latencies: number[]; latencyLimitMs: number }> {
  const line = await env.countedSlowLine();
  const sshdPid = env.sshdPid();
  const before = serverChildren(sshdPid);
  const ours = env.ours(line.link);
  const messages: string[] = [];
  const waiters = new Set<() => void>();
  const logger: Logger = {
    trace: () => undefined,
    debug: (message) => note(message),
    info: (message) => note(message),
    warn: (message) => note(message),
    error: (message) => note(message),
  };
  function note(message: string): void {
    messages.push(message);
    waiters.forEach((wake) => wake());
  }
  const watches = new WatchService(ours.manager, logger, {
    intervalMs: () => INTERVAL_MS,
    maxEntries: () => MAX_ENTRIES,
    useInotify: () => mode === 'inotify',
  });
  const seen = new Map<string, number>();
  watches.onDidChange(({ changes }) => {
    const now = performance.now();
    for (const { path } of changes) {
      if (!seen.has(path)) {
        seen.set(path, now);
      }
    }
    waiters.forEach((wake) => wake());
  });
  const until = async (what: string, condition: () => boolean, timeoutMs: number): Promise<void> => {
    if (condition()) {
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`${what}: not within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const wake = (): void => {
        if (condition()) {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        }
      };
      waiters.add(wake);
    });
  };
  const written: string[] = [];
  try {
    const session = await ours.session();
    const processes = (): number[] => connectionProcesses(sshdPid, before);
    const take = (): Promise<CostSnapshot> => snapshot(session, line.relayed, processes());
    const registration = watches.watch(env.sshd.alias, tree.root, {
      recursive: true,
      excludes: VSCODE_WATCHER_EXCLUDES,
    });
    let scan: { cost: Cost; ms: number } | undefined;
    let lastScanEnd = performance.now();
    if (mode === 'polling') {
      await watches.pollNow(env.sshd.alias); // after the watch's first scan (its baseline), one more
      const start = await take();
      const started = performance.now();
      await watches.pollNow(env.sshd.alias);
      lastScanEnd = performance.now();
      scan = { ms: lastScanEnd - started, cost: costBetween(start, await take()) };
    } else {
      const established = (): boolean => messages.some((m) => m.includes('with inotifywait'));
      const polled = (): boolean => messages.some((m) => m.includes('by polling'));
      await until('inotifywait watching the tree', () => established() || polled(), 120_000);
      check(!polled(), `inotify: the watch fell back to polling: ${messages.join(' | ')}`);
    }
    check(session.channel === (await ours.session()).channel, 'one session throughout');

    // Latency: a new file in a source folder. For polling, the samples are written at evenly spread
    // points of the poll cycle (a sixth, half, five sixths of it after the last scan ended, for three),
    // as changes come at any time; the slowest possible is a change just after a scan: the whole cycle.
    const latencies: number[] = [];
    const samples = mode === 'polling' ? options.pollingSamples : options.inotifySamples;
    const waitMs = scan === undefined ? 0 : waitAfterScan(INTERVAL_MS, scan.ms);
    const cycleMs = scan === undefined ? 0 : waitMs + scan.ms;
    const latencyLimitMs = scan === undefined ? 1000 : cycleMs;
    for (let i = 0; i < samples; i++) {
      let writeAt = lastScanEnd + ((i + 0.5) / samples) * cycleMs;
      while (cycleMs > 0 && writeAt < performance.now()) {
        writeAt += cycleMs; // a scan that found nothing ended meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, writeAt - performance.now())));
      const folder = tree.sourceFolders[(i * 37 + (mode === 'polling' ? 0 : 11)) % tree.sourceFolders.length];
      const path = join(folder as string, `latency-${mode}-${i}.ts`);
      written.push(path);
      const wroteAt = performance.now();
      writeFileSync(path, `export const sample = ${i};\n`);
      chownSync(path, env.sshd.uid, env.sshd.gid);
      await until(`the event for ${path}`, () => seen.has(path), Math.max(30_000, 4 * latencyLimitMs));
      lastScanEnd = seen.get(path) as number;
      latencies.push(lastScanEnd - wroteAt);
    }
    // The idle window, after the samples' events: nothing changes on the server.
    const eventsBefore = seen.size;
    const start = await take();
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
    const idle = costBetween(start, await take());
    console.log(`watching by ${mode}: the connection is served by ${processes().length} server processes`);
    check(
      seen.size === eventsBefore,
      `no events while idle (saw ${[...seen.keys()].slice(eventsBefore).join(', ')})`,
    );

    registration.dispose();

    const perMinute = (cost: Cost): number => (cost.cpuSeconds / cost.seconds) * 60;
    const describe = (cost: Cost): string =>
      `${(cost.requests / cost.seconds).toFixed(2)} req/s, ${(cost.bytes / cost.seconds / KB).toFixed(2)} KB/s, ` +
      `${perMinute(cost).toFixed(2)} CPU s/min`;
    let measured = `${options.idleSeconds} s idle: ${describe(idle)}`;
    let holds: boolean;
    let target: string;
    if (scan === undefined) {
      target = '<= 0.1 requests/s';
      holds = idle.requests / idle.seconds <= 0.1;
    } else {
      // Over a whole cycle (one scan, then the wait): the window may fall between two scans.
      const cycleSeconds = (scan.ms + waitMs) / 1000;
      const cycle: Cost = { ...scan.cost, seconds: cycleSeconds };
      measured +=
        `; one scan ${(scan.ms / 1000).toFixed(1)} s (${scan.cost.requests} requests, ` +
        `${(scan.cost.bytes / KB).toFixed(0)} KB, ${scan.cost.cpuSeconds.toFixed(2)} CPU s) every ` +
        `${cycleSeconds.toFixed(1)} s: ${describe(cycle)}`;
      target = '<= 2% of a server core (1.2 CPU s/min), <= 50 KB/s';
      holds = [idle, cycle].every((cost) => perMinute(cost) <= 1.2 && cost.bytes / cost.seconds <= 50 * KB);
    }
    return {
      idle: {
        id: mode === 'polling' ? 20 : 21,
        title: `idle cost of watching ${tree.entries} entries (VS Code's default excludes), ${mode}`,
        link: '50 ms RTT',
        rows: [{ contender: `${mode} (requests/s)`, samples: [idle.requests / idle.seconds] }],
        target,
        measured,
        holds,
        untimed: true,
      },
      latencies,
      latencyLimitMs,
    };
  } finally {
    watches.dispose();
    ours.manager.dispose();
    for (const path of written) {
      rmSync(path, { force: true });
    }
  }
}
