import { createHash } from 'node:crypto';

import type { Link } from './environment';

/** What every tier of the benchmark shares: samples, cases, interleaving, the table. */
export interface Row {
  readonly contender: string;
  readonly samples: number[];
  readonly bytes?: number;
}

export interface CaseResult {
  readonly id: number;
  readonly title: string;
  readonly link: Link['name'];
  readonly rows: Row[];
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean;
  /** Set for cases whose samples are not times (memory): the table leaves the time columns empty. */
  readonly untimed?: boolean;
}

export const MiB = 1024 * 1024;
/**
 * When a STAT is sent during a transfer on the thin line, as shares of the time the line needs for
 * it: in its first moments (where a queue built by the transfer's start would show) and across it.
 */
export const PROBE_POINTS: readonly number[] = [0.05, 0.25, 0.5, 0.75];
/**
 * What a shaped line's connection reads before the timed rounds: a fresh connection's first transfer
 * starts with 2 MiB in flight, and its answers show a thin line only while more than two round trips'
 * worth is still in flight. A 1 MiB read ended first (its four answers came, and nothing was left in
 * flight), so the first timed round still started from 2 MiB and its STAT at 5% took 144 ms.
 */
export const WARM_UP_BYTES = 4 * MiB;

export const sha = (data: Buffer | Uint8Array): string => createHash('sha256').update(data).digest('hex');

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

export async function time(run: () => Promise<unknown> | unknown): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`verification failed: ${what}`);
  }
}

/** Runs each contender once per round, rotating the order, and collects the times. */
export async function interleaved(
  contenders: Record<string, () => Promise<number>>,
  rounds: number,
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

export function rows(samples: Map<string, number[]>): Row[] {
  return [...samples].map(([contender, values]) => ({
    contender,
    samples: values,
  }));
}

/** A transfer case: 'this extension' against 'OpenSSH sftp', as a ratio of medians. */
export function transferResult(
  id: number,
  title: string,
  link: Link,
  samples: Map<string, number[]>,
  size: number,
  target: number,
  streamSize = size,
): CaseResult {
  const ours = median(samples.get('this extension') ?? []);
  const sftp = median(samples.get('OpenSSH sftp') ?? []);
  return {
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
  };
}

/** The results as a Markdown table, one row per contender. */
export function table(results: readonly CaseResult[]): string {
  const lines: string[] = [];
  lines.push(`| # | case | link | contender | median ms | min-max ms | MB/s | target | measured | holds |`);
  lines.push(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const result of [...results].sort((a, b) => a.id - b.id)) {
    result.rows.forEach((row, index) => {
      const med = median(row.samples);
      const mbps = row.bytes === undefined ? '' : (row.bytes / 1e6 / (med / 1000)).toFixed(0);
      const first = index === 0;
      const timing =
        result.untimed === true
          ? ['', '']
          : [med.toFixed(0), `${Math.min(...row.samples).toFixed(0)}-${Math.max(...row.samples).toFixed(0)}`];
      lines.push(
        `| ${first ? result.id : ''} | ${first ? result.title : ''} | ${first ? result.link : ''} | ${row.contender} | ${timing[0]} | ${timing[1]} | ${mbps} | ${first ? result.target : ''} | ${first ? result.measured : ''} | ${first ? (result.holds ? 'yes' : 'NO') : ''} |`,
      );
    });
  }
  return lines.join('\n');
}
