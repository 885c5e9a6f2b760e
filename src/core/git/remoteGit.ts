import { cancelled } from '../common/errors';
import type { Logger } from '../common/logger';
import { joinRemote, normalizeRemotePath, parentOf } from '../common/remotePath';
import { hasShell, runCommand, shellQuote, type CommandResult } from '../ssh/remoteCommand';
import type { SshConnection } from '../ssh/sshConnection';
import { parsePorcelainV2, type GitStatus } from './porcelainStatus';

/** Where git runs: the host's SSH connection (exec channels), and the log. */
export interface GitHost {
  connection(): Promise<SshConnection>;
  readonly logger: Logger;
}

/** git failed: `message` is what git said (its stderr, or its stdout when it wrote the reason there). */
export class GitCommandError extends Error {
  override readonly name = 'GitCommandError';
  constructor(
    message: string,
    /** The git subcommand, for the log. */
    readonly subcommand: string,
    readonly exitCode: number | undefined,
  ) {
    super(message);
  }
}

export type WorkTreeLookup =
  | { readonly kind: 'found'; readonly repository: RemoteGitRepository }
  | {
      readonly kind: 'unavailable';
      readonly reason: 'no-shell' | 'no-git' | 'not-a-work-tree' | 'no-answer';
      /** One line for the log. */
      readonly detail: string;
    };

/** No git command we run should take this long; a status of a very large tree still fits. */
const COMMAND_TIMEOUT_MS = 120_000;
/** Status output (and a file's original content) beyond this is refused rather than cut. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Paths are passed in commands of about this many bytes each, well below any server's ARG_MAX. */
const PATHS_PER_COMMAND_BYTES = 32 * 1024;
/** What `command -v git` failing exits with, as a shell does for a command it cannot find. */
const NO_GIT_EXIT = 127;

/**
 * Whether `folder` (absolute, on the server) is inside a Git work tree that this account can run git
 * in. The repository's root is worked out from the folder and git's prefix rather than taken from
 * `--show-toplevel`, which resolves links: the root then has the same form as the paths the editor uses.
 */
export async function findWorkTree(host: GitHost, folder: string): Promise<WorkTreeLookup> {
  const connection = await host.connection();
  const shell = await hasShell(connection);
  if (shell !== true) {
    return {
      kind: 'unavailable',
      reason: shell === false ? 'no-shell' : 'no-answer',
      detail:
        shell === false
          ? 'this account has no shell, so git cannot run on the server'
          : 'the server did not answer a command in time',
    };
  }
  const path = normalizeRemotePath(folder);
  const result = await runCommand(
    connection,
    `command -v git >/dev/null 2>&1 || exit ${NO_GIT_EXIT}; git -C ${shellQuote(path)} rev-parse --is-inside-work-tree --show-prefix --absolute-git-dir`,
    { timeoutMs: COMMAND_TIMEOUT_MS },
  );
  if (result.exitCode === NO_GIT_EXIT) {
    return {
      kind: 'unavailable',
      reason: 'no-git',
      detail: 'git is not installed on the server (or not on PATH)',
    };
  }
  if (result.exitCode !== 0) {
    return {
      kind: 'unavailable',
      reason: result.stopped ? 'no-answer' : 'not-a-work-tree',
      detail: firstLine(result.stderr) || `git rev-parse exited with ${String(result.exitCode)}`,
    };
  }
  const [inside, prefix, gitDir] = result.stdout.toString('utf8').split('\n');
  if (inside !== 'true' || prefix === undefined || gitDir === undefined) {
    return {
      kind: 'unavailable',
      reason: 'not-a-work-tree',
      detail: `${path} is not inside a Git work tree`,
    };
  }
  const depth = prefix.split('/').filter((part) => part !== '').length;
  let root = path;
  for (let level = 0; level < depth; level++) {
    root = parentOf(root);
  }
  return { kind: 'found', repository: new RemoteGitRepository(host, root, gitDir) };
}

/**
 * One Git work tree on the server, driven by git over exec channels. Every path and message reaches git
 * as an argument of its own (quoted whole, after `--`) or on its standard input, never as shell text.
 */
export class RemoteGitRepository {
  constructor(
    private readonly host: GitHost,
    /** The work tree's top folder, absolute. */
    readonly root: string,
    /** The repository's git folder, as git printed it. */
    readonly gitDir: string,
  ) {}

  /** The path of `absolute` relative to the root, or undefined when it is outside the work tree. */
  relative(absolute: string): string | undefined {
    const path = normalizeRemotePath(absolute);
    if (path === this.root) {
      return '';
    }
    const prefix = this.root === '/' ? '/' : `${this.root}/`;
    return path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
  }

  absolute(relative: string): string {
    return joinRemote(this.root, relative);
  }

  /** The status with its raw output, which tells a caller cheaply whether anything changed. */
  async status(signal?: AbortSignal): Promise<{ readonly status: GitStatus; readonly raw: Buffer }> {
    const raw = await this.run(
      ['status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all'],
      signal === undefined ? {} : { signal },
    );
    return { status: parsePorcelainV2(raw), raw };
  }

  /**
   * A file's content in the index (`git show :path`) or in HEAD (`git show HEAD:path`), as bytes;
   * undefined when it is not there (a new file, a repository without commits).
   */
  async original(relativePath: string, from: 'index' | 'HEAD'): Promise<Buffer | undefined> {
    const spec = `${from === 'index' ? '' : 'HEAD'}:${relativePath}`;
    try {
      return await this.run(['show', spec]);
    } catch (error) {
      if (error instanceof GitCommandError && error.exitCode === 128) {
        return undefined; // not in the index, no HEAD, or not in HEAD
      }
      throw error;
    }
  }

  /** `git add`: stages changes, new files and deletions. */
  async stage(paths: readonly string[]): Promise<void> {
    await this.runForPaths(['add', '-A'], paths);
  }

  /**
   * Unstages: `git reset -q -- <paths>` puts the index back to HEAD, and, unlike `git restore --staged`,
   * also works before the first commit and with git older than 2.23.
   */
  async unstage(paths: readonly string[]): Promise<void> {
    await this.runForPaths(['reset', '-q'], paths);
  }

  /** Discards work-tree changes of tracked files: their content goes back to the index's. */
  async discard(paths: readonly string[]): Promise<void> {
    await this.runForPaths(['checkout', '-q'], paths);
  }

  /** Deletes untracked files (what discarding them means). */
  async clean(paths: readonly string[]): Promise<void> {
    await this.runForPaths(['clean', '-f', '-q'], paths);
  }

  /**
   * Commits what is staged, the message on git's standard input (`-F -`). Amending with an empty
   * message keeps the previous one.
   */
  async commit(message: string, options: { readonly amend?: boolean } = {}): Promise<void> {
    if (options.amend === true && message.trim() === '') {
      await this.run(['commit', '-q', '--amend', '--no-edit']);
      return;
    }
    await this.run(['commit', '-q', ...(options.amend === true ? ['--amend'] : []), '-F', '-'], {
      input: message,
    });
  }

  private async runForPaths(args: readonly string[], paths: readonly string[]): Promise<void> {
    for (const batch of batches(paths)) {
      await this.run([...args, '--', ...batch]);
    }
  }

  private async run(
    args: readonly string[],
    options: { readonly signal?: AbortSignal; readonly input?: string } = {},
  ): Promise<Buffer> {
    const connection = await this.host.connection();
    const command = ['git', '-C', this.root, ...args].map(shellQuote).join(' ');
    const result = await runCommand(connection, command, {
      timeoutMs: COMMAND_TIMEOUT_MS,
      maxCollectedBytes: MAX_OUTPUT_BYTES + 1,
      ...options,
    });
    checkSucceeded(result, args[0] ?? 'git', options.signal);
    if (result.stdout.length > MAX_OUTPUT_BYTES) {
      throw new GitCommandError(
        `git ${args[0] ?? ''} printed more than ${MAX_OUTPUT_BYTES} bytes`,
        args[0] ?? '',
        0,
      );
    }
    return result.stdout;
  }
}

function checkSucceeded(result: CommandResult, subcommand: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw cancelled();
  }
  if (result.stopped) {
    throw new GitCommandError(`git ${subcommand} did not finish in time`, subcommand, undefined);
  }
  if (result.exitCode === 0) {
    return;
  }
  // git says most failures on stderr, but some ("nothing to commit") on stdout.
  const said = result.stderr || result.stdout.toString('utf8').trim();
  throw new GitCommandError(
    said || `git ${subcommand} exited with ${String(result.exitCode)}`,
    subcommand,
    result.exitCode,
  );
}

function batches(paths: readonly string[]): string[][] {
  const all: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const path of paths) {
    if (current.length > 0 && bytes + path.length > PATHS_PER_COMMAND_BYTES) {
      all.push(current);
      current = [];
      bytes = 0;
    }
    current.push(path);
    bytes += path.length;
  }
  if (current.length > 0) {
    all.push(current);
  }
  return all;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
