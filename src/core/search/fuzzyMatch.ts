/**
 * The fuzzy matching of Go to File on Server, as Ctrl+P matches: the query's characters appear in the
 * path in order, case-insensitive, spaces ignored. A match scores more where its characters start words
 * (after `/`, `.`, `_`, `-`, a space, or at a lower-to-upper case change), follow each other, and fall in
 * the file's own name rather than its folders. The best placement is found by dynamic programming, so
 * `main` in `src/domain/main.ts` is scored on `main.ts`, not on `domain`.
 */
export interface FuzzyMatch {
  readonly score: number;
  /** Indexes in the path of the matched characters, ascending. */
  readonly positions: readonly number[];
}

export interface RankedPath extends FuzzyMatch {
  readonly path: string;
}

const WORD_START_BONUS = 8;
const SEPARATOR_BONUS = 5;
const CAMEL_BONUS = 5;
const NAME_BONUS = 3;
const CONSECUTIVE_BONUS = 6;

/** Undefined when the query's characters do not all appear in the path, in order. */
export function fuzzyMatch(query: string, path: string): FuzzyMatch | undefined {
  const wanted = query.replace(/\s+/g, '').toLowerCase();
  const m = wanted.length;
  const n = path.length;
  if (m === 0) {
    return { score: 0, positions: [] };
  }
  const lower = path.toLowerCase();
  if (m > n || lower.length !== n || !isSubsequence(wanted, lower)) {
    return undefined;
  }
  const nameStart = path.lastIndexOf('/') + 1;
  const { bonus, best, from } = scratch(m, n);
  for (let j = 0; j < n; j++) {
    bonus[j] = 1 + positionBonus(path, j) + (j >= nameStart ? NAME_BONUS : 0);
  }
  // best[i * n + j]: the best score of query[0..i] with query[i] at path[j]; from: where query[i-1] was.
  best.fill(-Infinity, 0, m * n);
  for (let j = 0; j < n; j++) {
    if (lower[j] === wanted[0]) {
      best[j] = bonus[j] as number;
    }
  }
  for (let i = 1; i < m; i++) {
    let runningBest = -Infinity;
    let runningFrom = -1;
    const row = i * n;
    const previous = row - n;
    for (let j = i; j < n; j++) {
      // Every placement of query[i-1] at least two characters back: a gap, no consecutive bonus.
      const k = j - 2;
      if (k >= 0 && (best[previous + k] as number) > runningBest) {
        runningBest = best[previous + k] as number;
        runningFrom = k;
      }
      if (lower[j] !== wanted[i]) {
        continue;
      }
      const adjacent = (best[previous + j - 1] as number) + CONSECUTIVE_BONUS;
      if (adjacent >= runningBest && adjacent > -Infinity) {
        best[row + j] = adjacent + (bonus[j] as number);
        from[row + j] = j - 1;
      } else if (runningBest > -Infinity) {
        best[row + j] = runningBest + (bonus[j] as number);
        from[row + j] = runningFrom;
      }
    }
  }
  let end = -1;
  let score = -Infinity;
  const last = (m - 1) * n;
  for (let j = 0; j < n; j++) {
    if ((best[last + j] as number) > score) {
      score = best[last + j] as number;
      end = j;
    }
  }
  if (end === -1) {
    return undefined;
  }
  const positions: number[] = [];
  for (let i = m - 1, j = end; i >= 0 && j >= 0; i--) {
    positions.unshift(j);
    j = from[i * n + j] as number;
  }
  return { score, positions };
}

/**
 * The paths that match, best first (then shorter, then in code-point order), at most `limit` of them.
 * An empty query keeps every path in the order given.
 */
export function rankPaths(query: string, paths: readonly string[], limit: number): RankedPath[] {
  if (query.replace(/\s+/g, '') === '') {
    return paths.slice(0, limit).map((path) => ({ path, score: 0, positions: [] }));
  }
  const found: number[] = [];
  const scores = new Float64Array(paths.length);
  const positions: Array<readonly number[]> = [];
  paths.forEach((path, index) => {
    const match = fuzzyMatch(query, path);
    if (match !== undefined) {
      found.push(index);
      scores[index] = match.score;
      positions[index] = match.positions;
    }
  });
  found.sort((a, b) => {
    const pathA = paths[a] as string;
    const pathB = paths[b] as string;
    return (
      (scores[b] as number) - (scores[a] as number) ||
      pathA.length - pathB.length ||
      (pathA < pathB ? -1 : pathA > pathB ? 1 : 0)
    );
  });
  return found.slice(0, limit).map((index) => ({
    path: paths[index] as string,
    score: scores[index] as number,
    positions: positions[index] as readonly number[],
  }));
}

/** Buffers reused from one path to the next: ranking calls this for every file name on each keystroke. */
let buffers = { bonus: new Float64Array(256), best: new Float64Array(4096), from: new Int32Array(4096) };

function scratch(m: number, n: number): typeof buffers {
  if (buffers.bonus.length < n || buffers.best.length < m * n) {
    const size = Math.max(m * n, 2 * buffers.best.length);
    buffers = {
      bonus: new Float64Array(Math.max(n, 2 * buffers.bonus.length)),
      best: new Float64Array(size),
      from: new Int32Array(size),
    };
  }
  return buffers;
}

function isSubsequence(wanted: string, lower: string): boolean {
  let i = 0;
  for (let j = 0; j < lower.length && i < wanted.length; j++) {
    if (lower[j] === wanted[i]) {
      i++;
    }
  }
  return i === wanted.length;
}

function positionBonus(path: string, j: number): number {
  if (j === 0) {
    return WORD_START_BONUS;
  }
  const before = path.charCodeAt(j - 1);
  if (before === 0x2f /* / */) {
    return WORD_START_BONUS;
  }
  if (before === 0x2e /* . */ || before === 0x5f /* _ */ || before === 0x2d /* - */ || before === 0x20) {
    return SEPARATOR_BONUS;
  }
  const current = path.charCodeAt(j);
  if (before < 0x80 && current < 0x80) {
    return before >= 0x61 && before <= 0x7a && current >= 0x41 && current <= 0x5a ? CAMEL_BONUS : 0;
  }
  const was = path[j - 1] as string;
  const is = path[j] as string;
  return was !== was.toUpperCase() && is !== is.toLowerCase() ? CAMEL_BONUS : 0;
}
