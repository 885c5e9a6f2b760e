import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';

import { nullLogger } from '../src/core/common/logger';
import type { ListedChild } from '../src/core/fs/remoteFileSystem';
import { findFiles, findInFiles, type SearchScope, type SearchTarget } from '../src/core/search/remoteSearch';
import { shellQuote } from '../src/core/ssh/remoteCommand';
import { NEEDLE, type BuiltTree } from './bigTree';
import { check, interleaved, median, rows, time, type CaseResult } from './common';
import type { BenchEnvironment, Link } from './environment';

/** Find File's query: every package's index.js and every source folder's index.ts. */
const FILE_QUERY = 'index';

/**
 * Issue 17: Find File and Find in Files over the whole big tree (no excludes: every entry is looked
 * at) with the core's search through its shell, against OpenSSH's ssh running the same find/grep on
 * the same server; and the SFTP walk (no shell) at 50 ms RTT against a walk that lists one folder at
 * a time over the same session. Every round checks that the result counts agree.
 */
export async function searchCases(
  env: BenchEnvironment,
  tree: BuiltTree,
  options: { readonly rounds: number; readonly walkRounds: number; readonly walkRoot: string },
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  // OpenSSH's ssh over one connection made beforehand (a ControlMaster), as this extension's search
  // runs over its open connection: both sides pay a channel and the command, neither the login.
  const sshConfig = env.sshConfigFile();
  const control = join(env.localDir, 'ssh-control');
  const common = ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', `ControlPath=${control}`];
  const master = spawn('ssh', [...common, '-M', '-N', 'bench'], { stdio: 'ignore' });
  const ssh = async (command: string): Promise<{ ms: number; lines: number }> => {
    const started = performance.now();
    const child = spawn('ssh', [...common, '-o', 'ControlMaster=no', 'bench', command], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) {
        lines++;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const ms = performance.now() - started;
    check(status === 0, `ssh ${command}: exit ${status} ${stderr}`);
    return { ms, lines };
  };
  try {
    for (let waited = 0; !existsSync(control); waited += 50) {
      check(waited < 15_000 && master.exitCode === null, 'the ssh ControlMaster did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const noops: number[] = [];
    for (let i = 0; i < 3; i++) {
      noops.push((await ssh('true')).ms);
    }
    console.log(`ssh over its ControlMaster: "true" takes ${median(noops).toFixed(0)} ms (not subtracted)`);
    results.push(...(await shellSearches(env, tree, options.rounds, ssh)));
  } finally {
    master.kill('SIGTERM');
  }
  results.push(await walkCase(env, options));
  return results;
}

type Ssh = (command: string) => Promise<{ ms: number; lines: number }>;

function targetOver(env: BenchEnvironment, link: Link): { target: SearchTarget; dispose(): void } {
  const ours = env.ours(link);
  return {
    target: {
      connection: () => ours.manager.sshConnection(env.sshd.alias),
      list: (path) => ours.fs.list(path),
      readFile: (path) => ours.fs.readFile(path),
      logger: nullLogger,
    },
    dispose: () => ours.manager.dispose(),
  };
}

/** Find File and Find in Files through the shell, against the same find and grep run by ssh. */
async function shellSearches(
  env: BenchEnvironment,
  tree: BuiltTree,
  rounds: number,
  ssh: Ssh,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const scope: SearchScope = { root: tree.root, excludes: [], maxResults: 10_000_000 };
  const local = targetOver(env, env.loopback);
  try {
    await findFiles(local.target, 'no-such-name', scope); // connected, and the shell probe answered
    const firstResult: Record<'files' | 'text', number[]> = { files: [], text: [] };
    const timedSearch = async (
      kind: 'files' | 'text',
      search: (onFound: () => void) => Promise<{ results: unknown[]; method: string }>,
      expected: () => number | undefined,
      record: (count: number) => void,
    ): Promise<number> => {
      let first: number | undefined;
      const started = performance.now();
      const outcome = await search(() => (first ??= performance.now() - started));
      const ms = performance.now() - started;
      check(outcome.method === 'shell', `${kind} search ran ${outcome.method}, not the shell`);
      const count = outcome.results.length;
      const known = expected();
      check(known === undefined || known === count, `${kind} search found ${count}, ssh found ${known}`);
      record(count);
      if (first !== undefined) {
        firstResult[kind].push(first);
      }
      return ms;
    };

    let fileCount: number | undefined;
    const findCommand = `cd ${shellQuote(tree.root)} && find . -type f -iname ${shellQuote(`*${FILE_QUERY}*`)}`;
    const finds = await interleaved(
      {
        'this extension (find over its connection)': () =>
          timedSearch(
            'files',
            (onFound) => findFiles(local.target, FILE_QUERY, scope, onFound),
            () => fileCount,
            (count) => (fileCount = count),
          ),
        'ssh host find': async () => {
          const { ms, lines } = await ssh(findCommand);
          check(
            fileCount === undefined || fileCount === lines,
            `find over ssh found ${lines}, ours ${fileCount}`,
          );
          fileCount = lines;
          return ms;
        },
      },
      rounds,
    );
    results.push(
      againstSsh(
        23,
        `Find File "${FILE_QUERY}" over ${tree.entries} entries (${fileCount} found)`,
        finds,
        firstResult.files,
      ),
    );

    let lineCount: number | undefined;
    const grepCommand = `cd ${shellQuote(tree.root)} && grep -rnIF -e ${shellQuote(NEEDLE)} .`;
    const greps = await interleaved(
      {
        'this extension (grep over its connection)': () =>
          timedSearch(
            'text',
            (onFound) =>
              findInFiles(
                local.target,
                { pattern: NEEDLE, isRegExp: false, caseSensitive: true, maxFileBytes: 50 * 1024 * 1024 },
                scope,
                onFound,
              ),
            () => lineCount,
            (count) => (lineCount = count),
          ),
        'ssh host grep -rI': async () => {
          const { ms, lines } = await ssh(grepCommand);
          check(
            lineCount === undefined || lineCount === lines,
            `grep over ssh found ${lines}, ours ${lineCount}`,
          );
          lineCount = lines;
          return ms;
        },
      },
      rounds,
    );
    results.push(
      againstSsh(
        24,
        `Find in Files "${NEEDLE}" over ${tree.files} files (${lineCount} lines)`,
        greps,
        firstResult.text,
      ),
    );
  } finally {
    local.dispose();
  }

  return results;
}

/** The SFTP walk (no shell) at 50 ms RTT against listing one folder at a time over the same session. */
async function walkCase(
  env: BenchEnvironment,
  options: { readonly walkRounds: number; readonly walkRoot: string },
): Promise<CaseResult> {
  const slow = targetOver(env, env.slow);
  const list = (path: string): Promise<ListedChild[]> => slow.target.list(path);
  try {
    const walkScope: SearchScope = {
      excludes: [],
      maxResults: 10_000_000,
      root: options.walkRoot,
      forceWalk: true,
    };
    let walkCount: number | undefined;
    const counted = (count: number, who: string): void => {
      check(
        walkCount === undefined || walkCount === count,
        `${who} found ${count} files, before ${walkCount}`,
      );
      walkCount = count;
    };
    let folders = 0;
    await list(options.walkRoot); // connected
    const walks = await interleaved(
      {
        'this extension (SFTP walk, no shell)': () =>
          time(async () => {
            const outcome = await findFiles(slow.target, '', walkScope);
            check(outcome.method === 'walk', 'the walk ran');
            counted(outcome.results.length, 'the walk');
          }),
        'sequential walk (one folder at a time)': () =>
          time(async () => {
            const listed = await sequentialWalk(list, options.walkRoot);
            folders = listed.folders;
            counted(listed.files, 'the sequential walk');
          }),
      },
      options.walkRounds,
    );
    const ours = median(walks.get('this extension (SFTP walk, no shell)') ?? []);
    const sequential = median(walks.get('sequential walk (one folder at a time)') ?? []);
    return {
      id: 25,
      title: `Find File by SFTP walk (no shell) over ${basename(options.walkRoot)}/: ${folders} folders, ${walkCount} files`,
      link: env.slow.name,
      rows: rows(walks),
      target: '>= 10x faster than a sequential walk',
      measured: `${(sequential / ours).toFixed(1)}x`,
      holds: sequential / ours >= 10,
    };
  } finally {
    slow.dispose();
  }
}

function againstSsh(
  id: number,
  title: string,
  samples: Map<string, number[]>,
  firstResults: readonly number[],
): CaseResult {
  const [ours, theirs] = [...samples.values()].map((values) => median(values)) as [number, number];
  const first = firstResults.length === 0 ? 'none' : `${median(firstResults).toFixed(0)} ms`;
  return {
    id,
    title,
    link: 'loopback',
    rows: rows(samples),
    target: '<= 1.2x ssh (over a ControlMaster connection)',
    measured: `${(ours / theirs).toFixed(2)}x; first result after ${first}`,
    holds: ours / theirs <= 1.2,
  };
}

/** The baseline: list one folder, then the next, over the same session; counts files and folders. */
async function sequentialWalk(
  list: (path: string) => Promise<ListedChild[]>,
  root: string,
): Promise<{ files: number; folders: number }> {
  const pending = [root];
  let files = 0;
  let folders = 0;
  while (pending.length > 0) {
    const folder = pending.shift() as string;
    folders++;
    for (const { name, stat } of await list(folder)) {
      if (stat.type.kind === 'directory' && !stat.type.symlink) {
        pending.push(`${folder}/${name}`);
      } else if (stat.type.kind === 'file') {
        files++;
      }
    }
  }
  return { files, folders };
}
