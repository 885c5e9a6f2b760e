import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { TextQuery } from '../../src/core/search/remoteSearch';
import { groupByFile, lineReplacement, matchRanges } from '../../src/core/search/resultGroups';

const text = (pattern: string, caseSensitive = false): TextQuery => ({
  pattern,
  isRegExp: false,
  caseSensitive,
  maxFileBytes: 1024,
});
const expression = (pattern: string): TextQuery => ({ ...text(pattern, true), isRegExp: true });

test('matches are grouped by file, files in path order and each file by line', () => {
  const groups = groupByFile([
    { path: '/p/b.txt', line: 9, text: 'x' },
    { path: '/p/a.txt', line: 3, text: 'y' },
    { path: '/p/b.txt', line: 2, text: 'z' },
  ]);
  assert.deepEqual(
    groups.map((group) => [group.path, group.matches.map((match) => match.line)]),
    [
      ['/p/a.txt', [3]],
      ['/p/b.txt', [2, 9]],
    ],
  );
});

test('match ranges find every occurrence; plain text is literal and case-insensitive unless asked', () => {
  assert.deepEqual(matchRanges('Needle and needle', text('needle')), [
    [0, 6],
    [11, 17],
  ]);
  assert.deepEqual(matchRanges('Needle and needle', text('needle', true)), [[11, 17]]);
  assert.deepEqual(matchRanges('a.b axb', text('a.b')), [[0, 3]]);
  assert.deepEqual(matchRanges('x-y (z)', text('-y (')), [[1, 5]]);
});

test('a regular expression gives its matches; one JavaScript cannot read gives none', () => {
  assert.deepEqual(matchRanges('v1 v22', expression('v[0-9]+')), [
    [0, 2],
    [3, 6],
  ]);
  assert.deepEqual(matchRanges('anything', expression('(')), []);
});

test('a line replacement spans the first to the last match and keeps the text around it', () => {
  assert.deepEqual(lineReplacement('let a = old + old;', text('old'), 'new'), {
    start: 8,
    end: 17,
    text: 'new + new',
  });
});

test('plain replacement text is literal; a regular expression replacement may use its groups', () => {
  assert.equal(lineReplacement('x foo y', text('foo'), '$&$&')?.text, '$&$&');
  assert.equal(lineReplacement('key=value', expression('(\\w+)=(\\w+)'), '$2=$1')?.text, 'value=key');
});

test('a line that no longer matches gives no replacement', () => {
  assert.equal(lineReplacement('changed since', text('needle'), 'x'), undefined);
});
