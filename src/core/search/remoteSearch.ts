import { RemoteFsError, throwIfCancelled } from '../common/errors';
import { compileGlob, compileGlobs, excludedFolderNames } from '../common/glob';
import { compileExcludeRules } from '../common/excludeRules';
import { TaskPool } from '../common/limiter';
import type { Logger } from '../common/logger';
import { joinRemote, normalizeRemotePath } from '../common/remotePath';
import type { ListedChild } from '../fs/remoteFileSystem';
import { walkTree, walkingListedChildren } from '../fs/treeWalker';
import { hasShell, runCommand, shellQuote, type CommandResult } from '../ssh/remoteCommand';
import type { SshConnection } from '../ssh/sshConnection';

/** Where a search runs: a shell when the account has one, the SFTP filesystem always. */
export interface SearchTarget {
  /** The connection, for `find`/`grep` over an exec channel. */
  connection(): Promise<SshConnection>;
  list(path: string): Promise<ListedChild[]>;
  readFile(path: string): Promise<Uint8Array>;
  readonly logger: Logger;
}

export interface SearchScope {
  /** The folder searched, absolute. */
  readonly root: string;
  /** Globs (`files.exclude`, `search.exclude`) relative to the root: matching files and folders are skipped. */
  readonly excludes: readonly string[];
  readonly maxResults: number;
  readonly signal?: AbortSignal;
  /** Use the SFTP walk even where a shell exists (tests; servers whose tools misbehave). */
  readonly forceWalk?: boolean;
}

export interface TextQuery {
  readonly pattern: string;
  readonly isRegExp: boolean;
  readonly caseSensitive: boolean;
  /** The walk does not read files larger than this (grep on the server has no such limit). */
  readonly maxFileBytes: number;
}

export interface TextMatch {
  readonly path: string;
  /** 1-based, as grep prints it. */
  readonly line: number;
  /** The matching line, cut to a readable length. */
  readonly text: string;
}

export interface SearchOutcome<T> {
  readonly results: T[];
  /** 'shell' ran find/grep on the server; 'walk' listed and read over SFTP. */
  readonly method: 'shell' | 'walk';
  /** More matched than maxResults. */
  readonly truncated: boolean;
}

const SHOWN_LINE_CHARS = 300;
/** Files read at once by the SFTP walk. */
const READ_CONCURRENCY = 8;

/**
 * Find File: files whose name matches `pattern` (a glob such as `*.ts`, or plain text found anywhere in
 * the name; empty for every file), case-insensitive, as absolute paths. `onFound` sees each as it comes.
 */
export async function findFiles(
  target: SearchTarget,
  pattern: string,
  scope: SearchScope,
  onFound?: (path: string) => void,
): Promise<SearchOutcome<string>> {
  const nameGlob = pattern === '' ? '*' : /[*?[]/.test(pattern) ? pattern : `*${pattern}*`;
  const root = normalizeRemotePath(scope.root);
  const excluded = compileGlobs(scope.excludes);
  const connection = await shellConnection(target, scope);
  if (connection !== undefined) {
    const found: string[] = [];
    let pending = '';
    let truncated = false;
    const command = `${enter(root)} && find . ${pruneClause(scope.excludes)}-type f -iname ${shellQuote(nameGlob)} -print0`;
    const result = await runCommand(connection, command, {
      ...(scope.signal === undefined ? {} : { signal: scope.signal }),
      onStdout: (chunk) => {
        const parts = (pending + chunk.toString('utf8')).split('\0');
        pending = parts.pop() ?? '';
        for (const part of parts) {
          const relative = part.replace(/^\.\//, '');
          if (relative === '' || excluded(relative)) {
            continue;
          }
          if (found.length >= scope.maxResults) {
            truncated = true;
            return false;
          }
          const path = joinRemote(root, relative);
          found.push(path);
          onFound?.(path);
        }
        return true;
      },
    });
    await failIfNothingRan(target, result, found.length, root);
    return { results: found, method: 'shell', truncated };
  }
  const matchesName = compileGlob(nameGlob.toLowerCase());
  const found: string[] = [];
  const truncated = await walkFiles(target, root, scope, (path, name) => {
    if (matchesName(name.toLowerCase())) {
      found.push(path);
      onFound?.(path);
    }
    return found.length < scope.maxResults;
  });
  return { results: found, method: 'walk', truncated };
}

/**
 * Find in Files: lines matching a text or regular expression, in text files under the root. `onFound`
 * sees each match as it comes.
 */
export async function findInFiles(
  target: SearchTarget,
  query: TextQuery,
  scope: SearchScope,
  onFound?: (match: TextMatch) => void,
): Promise<SearchOutcome<TextMatch>> {
  const root = normalizeRemotePath(scope.root);
  const excluded = compileGlobs(scope.excludes);
  const connection = await shellConnection(target, scope);
  if (connection !== undefined) {
    const matches: TextMatch[] = [];
    let pending = Buffer.alloc(0);
    let truncated = false;
    // -Z ends each file name with NUL, so names with ':' or newlines are read right; -I skips binaries.
    const flags = `-rnIZs --color=never ${query.isRegExp ? '-E' : '-F'}${query.caseSensitive ? '' : ' -i'}`;
    const command = `${enter(root)} && grep ${flags} ${excludeDirFlags(scope.excludes)}-e ${shellQuote(query.pattern)} -- .`;
    const result = await runCommand(connection, command, {
      ...(scope.signal === undefined ? {} : { signal: scope.signal }),
      onStdout: (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        let end: number;
        while ((end = pending.indexOf(0x0a)) !== -1) {
          const match = parseGrepLine(pending.subarray(0, end), root);
          pending = pending.subarray(end + 1);
          if (match === undefined || excluded(match.path.slice(root === '/' ? 1 : root.length + 1))) {
            continue;
          }
          if (matches.length >= scope.maxResults) {
            truncated = true;
            return false;
          }
          matches.push(match);
          onFound?.(match);
        }
        return true;
      },
    });
    await failIfNothingRan(target, result, matches.length, root);
    return { results: matches, method: 'shell', truncated };
  }
  const test = lineTester(query);
  const matches: TextMatch[] = [];
  // Files are read as the walk finds them, a few at once, while the listings go on.
  const reads = new TaskPool(READ_CONCURRENCY);
  let full = false;
  const readAndMatch = async (path: string): Promise<void> => {
    throwIfCancelled(scope.signal);
    if (full) {
      return;
    }
    let content: Buffer;
    try {
      content = Buffer.from(await target.readFile(path));
    } catch (error) {
      target.logger.debug(`Search skipped ${path}: ${String(error)}`);
      return;
    }
    if (content.subarray(0, 8192).includes(0)) {
      return; // binary, as grep -I
    }
    const lines = content.toString('utf8').split('\n');
    for (let index = 0; index < lines.length && !full; index++) {
      const line = lines[index] as string;
      if (test(line)) {
        const match = { path, line: index + 1, text: line.slice(0, SHOWN_LINE_CHARS) };
        matches.push(match);
        onFound?.(match);
        full = matches.length >= scope.maxResults;
      }
    }
  };
  const stoppedEarly = await walkFiles(target, root, scope, (path, _name, size) => {
    if (size <= query.maxFileBytes) {
      reads.add(() => readAndMatch(path));
    }
    return !full && !reads.failed;
  });
  await reads.finished();
  const truncated = full || stoppedEarly;
  return { results: matches, method: 'walk', truncated };
}

/** The exit status of the search command when it cannot enter the root (find and grep use 0-2). */
const CANNOT_ENTER_ROOT = 97;

/**
 * `cd` into the root, or exit with CANNOT_ENTER_ROOT. The shell's own complaint ("sh: 1: cd: can't cd
 * to ...") differs between shells, and bash reports it with status 1, which find and grep also use
 * for "some subfolder was unreadable": the search would end empty instead of failing.
 */
function enter(root: string): string {
  return `{ cd ${shellQuote(root)} 2>/dev/null || exit ${CANNOT_ENTER_ROOT}; }`;
}

/**
 * find and grep exit non-zero for an unreadable subfolder too, with the other results still good; only
 * a failure that produced nothing (no such folder, no grep) is an error. A root that cannot be entered
 * is listed over SFTP, so the error says why as every other operation does (ENOENT, EACCES, ENOTDIR).
 */
async function failIfNothingRan(
  target: SearchTarget,
  result: CommandResult,
  found: number,
  root: string,
): Promise<void> {
  if (result.exitCode === CANNOT_ENTER_ROOT) {
    await target.list(root);
    throw new RemoteFsError('EACCES', `Cannot search ${root}: the folder cannot be entered`, { path: root });
  }
  if (found === 0 && result.exitCode !== undefined && result.exitCode > 1 && result.stderr !== '') {
    throw new RemoteFsError('EFAILURE', `Searching on the server failed: ${result.stderr.split('\n')[0]}`, {
      path: root,
    });
  }
}

async function shellConnection(target: SearchTarget, scope: SearchScope): Promise<SshConnection | undefined> {
  if (scope.forceWalk === true) {
    return undefined;
  }
  const connection = await target.connection();
  const shell = await hasShell(connection);
  if (shell === true) {
    return connection;
  }
  target.logger.info(
    shell === false
      ? 'This account has no shell; searching by listing and reading over SFTP'
      : 'The server did not answer a command in time; searching by listing and reading over SFTP',
  );
  return undefined;
}

/**
 * Visits every file below `root` (links to files too; links to folders are not followed) through the
 * tree walker, whose listings run 16 at once across levels; `visit` answers false to stop. Folders
 * that cannot be listed are passed over. Answers whether it stopped early.
 */
async function walkFiles(
  target: SearchTarget,
  root: string,
  scope: SearchScope,
  visit: (path: string, name: string, size: number) => boolean,
): Promise<boolean> {
  const outcome = await walkTree(
    {
      root,
      list: walkingListedChildren((folder) => target.list(folder)),
      excludes: compileExcludeRules(scope.excludes),
      beyondMaxDepth: 'skip',
      ...(scope.signal === undefined ? {} : { signal: scope.signal }),
      onListError: (folder, error) => {
        if (folder === root) {
          throw error;
        }
        target.logger.debug(`Search skipped ${folder}: ${String(error)}`);
      },
    },
    (entry) => entry.item.stat.type.kind !== 'file' || visit(entry.path, entry.name, entry.item.stat.size),
  );
  return outcome.stopped;
}

function lineTester(query: TextQuery): (line: string) => boolean {
  if (query.isRegExp) {
    const expression = new RegExp(query.pattern, query.caseSensitive ? 'u' : 'iu');
    return (line) => expression.test(line);
  }
  if (query.caseSensitive) {
    return (line) => line.includes(query.pattern);
  }
  const needle = query.pattern.toLowerCase();
  return (line) => line.toLowerCase().includes(needle);
}

/** `./path\0line:text` as printed by `grep -rnZ` from the root. */
function parseGrepLine(raw: Buffer, root: string): TextMatch | undefined {
  const nul = raw.indexOf(0);
  if (nul === -1) {
    return undefined;
  }
  const rest = raw.subarray(nul + 1).toString('utf8');
  const colon = rest.indexOf(':');
  const line = Number(rest.slice(0, colon));
  if (colon === -1 || !Number.isInteger(line)) {
    return undefined;
  }
  const relative = raw.subarray(0, nul).toString('utf8').replace(/^\.\//, '');
  return {
    path: joinRemote(root, relative),
    line,
    text: rest.slice(colon + 1).slice(0, SHOWN_LINE_CHARS),
  };
}

function excludeDirFlags(excludes: readonly string[]): string {
  return excludedFolderNames(excludes)
    .map((name) => `--exclude-dir=${shellQuote(name)} `)
    .join('');
}

function pruneClause(excludes: readonly string[]): string {
  const names = excludedFolderNames(excludes);
  if (names.length === 0) {
    return '';
  }
  return `\\( ${names.map((name) => `-name ${shellQuote(name)}`).join(' -o ')} \\) -prune -o `;
}
