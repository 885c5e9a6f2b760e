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
  const bonus = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    bonus[j] = 1 + positionBonus(path, j) + (j >= nameStart ? NAME_BONUS : 0);
  }
  // best[i * n + j]: the best score of query[0..i] with query[i] at path[j]; from: where query[i-1] was.
  const best = new Float64Array(m * n).fill(-Infinity);
  const from = new Int32Array(m * n).fill(-1);
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
  const ranked: RankedPath[] = [];
  for (const path of paths) {
    const match = fuzzyMatch(query, path);
    if (match !== undefined) {
      ranked.push({ path, ...match });
    }
  }
  ranked.sort(
    (a, b) =>
      b.score - a.score || a.path.length - b.path.length || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  return ranked.slice(0, limit);
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
  const before = path[j - 1] as string;
  if (before === '/') {
    return WORD_START_BONUS;
  }
  if (before === '.' || before === '_' || before === '-' || before === ' ') {
    return SEPARATOR_BONUS;
  }
  const current = path[j] as string;
  if (before !== before.toUpperCase() && current !== current.toLowerCase()) {
    return CAMEL_BONUS;
  }
  return 0;
}
