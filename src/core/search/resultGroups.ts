import type { TextMatch, TextQuery } from './remoteSearch';

/** One file's matches in the Search Results view. */
export interface FileMatches {
  readonly path: string;
  /** In line order. */
  readonly matches: readonly TextMatch[];
}

/** Matches grouped by file: files in code-point order of their paths, each file's matches by line. */
export function groupByFile(matches: readonly TextMatch[]): FileMatches[] {
  const byPath = new Map<string, TextMatch[]>();
  for (const match of matches) {
    const list = byPath.get(match.path);
    if (list === undefined) {
      byPath.set(match.path, [match]);
    } else {
      list.push(match);
    }
  }
  return [...byPath.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, list]) => ({ path, matches: list.sort((a, b) => a.line - b.line) }));
}

/**
 * Where the query matches in a line, as [start, end) offsets, for highlights and replacements. Found
 * with JavaScript's regular expressions, which read most of what `grep -E` does; an expression they
 * cannot read gives no ranges.
 */
export function matchRanges(text: string, query: TextQuery): Array<[number, number]> {
  const expression = globalExpression(query);
  if (expression === undefined) {
    return [];
  }
  const ranges: Array<[number, number]> = [];
  for (const found of text.matchAll(expression)) {
    if (found[0].length > 0) {
      ranges.push([found.index, found.index + found[0].length]);
    }
  }
  return ranges;
}

/**
 * The edit that replaces every match in a line: the span from the first match to the end of the last,
 * and its new text. A regular expression's replacement may use `$1`, `$&` as in JavaScript. Undefined
 * when the line has no match (it changed since the search, or JavaScript reads the expression otherwise).
 */
export function lineReplacement(
  line: string,
  query: TextQuery,
  replacement: string,
): { start: number; end: number; text: string } | undefined {
  const ranges = matchRanges(line, query);
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  const expression = globalExpression(query);
  if (first === undefined || last === undefined || expression === undefined) {
    return undefined;
  }
  const replaced = query.isRegExp
    ? line.replace(expression, replacement)
    : line.replace(expression, () => replacement);
  return {
    start: first[0],
    end: last[1],
    text: replaced.slice(first[0], replaced.length - (line.length - last[1])),
  };
}

function globalExpression(query: TextQuery): RegExp | undefined {
  const source = query.isRegExp ? query.pattern : query.pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  try {
    return new RegExp(source, query.caseSensitive ? 'gu' : 'giu');
  } catch {
    return undefined;
  }
}
