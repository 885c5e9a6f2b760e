/**
 * `git status --porcelain=v2 -z --branch --untracked-files=all` read into plain data. With -z every
 * record ends in NUL and paths are written as they are (no quoting), so names with spaces, unicode or
 * newlines come out exact; a renamed or copied record is followed by its original path as a record of
 * its own.
 */

/** One letter of git's XY status: '.' unchanged, M modified, T type changed, A added, D deleted, R renamed, C copied, U unmerged. */
export type StatusLetter = '.' | 'M' | 'T' | 'A' | 'D' | 'R' | 'C' | 'U';

export interface GitChange {
  /** The path relative to the work tree's top level, as git prints it. */
  readonly path: string;
  /** For a rename or copy: where it came from. */
  readonly originalPath?: string;
  /** ordinary (`1`), renamed or copied (`2`), unmerged (`u`: a conflict), untracked (`?`). */
  readonly kind: 'ordinary' | 'renamed' | 'unmerged' | 'untracked';
  /** X: the index against HEAD ('?' for untracked files). */
  readonly index: StatusLetter | '?';
  /** Y: the work tree against the index ('?' for untracked files). */
  readonly workTree: StatusLetter | '?';
}

export interface BranchInfo {
  /** The current commit, or undefined before the first commit. */
  readonly commit: string | undefined;
  /** The branch name, or undefined when HEAD is detached. */
  readonly head: string | undefined;
  readonly upstream: string | undefined;
  readonly ahead: number;
  readonly behind: number;
}

export interface GitStatus {
  readonly branch: BranchInfo;
  readonly changes: readonly GitChange[];
}

const LETTERS = new Set(['.', 'M', 'T', 'A', 'D', 'R', 'C', 'U']);

/** Fields before the path: `1 XY sub mH mI mW hH hI path`, `2 … X<score> path`, `u XY sub m1 m2 m3 mW h1 h2 h3 path`. */
const FIELDS_BEFORE_PATH: Readonly<Record<string, number>> = { '1': 8, '2': 9, u: 10 };

export class PorcelainParseError extends Error {
  override readonly name = 'PorcelainParseError';
}

export function parsePorcelainV2(output: Buffer | string): GitStatus {
  const records = (typeof output === 'string' ? output : output.toString('utf8')).split('\0');
  if (records[records.length - 1] === '') {
    records.pop();
  }
  const branch = { commit: undefined as string | undefined, head: undefined as string | undefined };
  let upstream: string | undefined;
  let ahead = 0;
  let behind = 0;
  const changes: GitChange[] = [];
  for (let at = 0; at < records.length; at++) {
    const record = records[at] as string;
    const type = record.slice(0, 2);
    if (type === '# ') {
      const [key, ...rest] = record.slice(2).split(' ');
      const value = rest.join(' ');
      if (key === 'branch.oid') {
        branch.commit = value === '(initial)' ? undefined : value;
      } else if (key === 'branch.head') {
        branch.head = value === '(detached)' ? undefined : value;
      } else if (key === 'branch.upstream') {
        upstream = value;
      } else if (key === 'branch.ab') {
        const counts = /^\+(\d+) -(\d+)$/.exec(value);
        ahead = Number(counts?.[1] ?? 0);
        behind = Number(counts?.[2] ?? 0);
      }
    } else if (type === '? ') {
      changes.push({ path: record.slice(2), kind: 'untracked', index: '?', workTree: '?' });
    } else if (type === '! ') {
      continue; // ignored files are not changes
    } else {
      const kind = record[0] ?? '';
      const fieldCount = FIELDS_BEFORE_PATH[kind];
      if (fieldCount === undefined || record[1] !== ' ') {
        throw new PorcelainParseError(
          `Unexpected line in git status output: ${JSON.stringify(record.slice(0, 80))}`,
        );
      }
      const path = afterFields(record, fieldCount);
      const index = record[2] as StatusLetter;
      const workTree = record[3] as StatusLetter;
      if (path === undefined || !LETTERS.has(index) || !LETTERS.has(workTree)) {
        throw new PorcelainParseError(`Malformed git status entry: ${JSON.stringify(record.slice(0, 80))}`);
      }
      if (kind === '2') {
        const originalPath = records[++at];
        if (originalPath === undefined) {
          throw new PorcelainParseError(`A rename without its original path: ${JSON.stringify(path)}`);
        }
        changes.push({ path, originalPath, kind: 'renamed', index, workTree });
      } else {
        changes.push({ path, kind: kind === 'u' ? 'unmerged' : 'ordinary', index, workTree });
      }
    }
  }
  return { branch: { ...branch, upstream, ahead, behind }, changes };
}

/** What follows the first `count` space-separated fields: the path, which may itself hold spaces. */
function afterFields(record: string, count: number): string | undefined {
  let at = 0;
  for (let field = 0; field < count; field++) {
    at = record.indexOf(' ', at);
    if (at === -1) {
      return undefined;
    }
    at++;
  }
  return at >= record.length ? undefined : record.slice(at);
}
