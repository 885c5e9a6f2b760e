import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fuzzyMatch, rankPaths } from '../../src/core/search/fuzzyMatch';

const order = (query: string, paths: string[]): string[] =>
  rankPaths(query, paths, 100).map((ranked) => ranked.path);

test('the query matches when its characters appear in the path in order, whatever the case', () => {
  assert.ok(fuzzyMatch('uisc', 'src/ui/searchCommands.ts'));
  assert.ok(fuzzyMatch('README', 'docs/readme.md'));
  assert.equal(fuzzyMatch('acb', 'abc.txt'), undefined);
  assert.equal(fuzzyMatch('abcd', 'abc'), undefined);
});

test('spaces in the query are ignored, and an empty query matches everything', () => {
  assert.ok(fuzzyMatch('search cmd', 'src/ui/searchCommands.ts'));
  assert.deepEqual(fuzzyMatch('  ', 'any/file'), { score: 0, positions: [] });
});

test('the positions found are the best placement: in the file name, not the first letters seen', () => {
  const match = fuzzyMatch('main', 'src/domain/main.ts');
  assert.deepEqual(match?.positions, [11, 12, 13, 14]);
});

test('a match at the start of the file name ranks above one inside a word', () => {
  assert.deepEqual(order('main', ['src/domain.ts', 'src/main.ts']), ['src/main.ts', 'src/domain.ts']);
});

test('a match in the file name ranks above the same letters in a folder name', () => {
  assert.deepEqual(order('util', ['util/other/x.ts', 'lib/util.ts']), ['lib/util.ts', 'util/other/x.ts']);
});

test('letters starting words (camel case, separators) rank above scattered letters', () => {
  assert.deepEqual(order('fm', ['src/formal.ts', 'src/fuzzyMatch.ts']), [
    'src/fuzzyMatch.ts',
    'src/formal.ts',
  ]);
  assert.deepEqual(order('rs', ['src/prose.txt', 'src/remote-search.ts']), [
    'src/remote-search.ts',
    'src/prose.txt',
  ]);
});

test('equal scores put the shorter path first; paths that do not match are left out', () => {
  assert.deepEqual(order('app', ['deep/folder/app.py', 'a/app.py', 'nothing.txt']), [
    'a/app.py',
    'deep/folder/app.py',
  ]);
});

test('at most the limit is returned, and an empty query keeps the order given', () => {
  assert.equal(rankPaths('a', ['a1', 'a2', 'a3'], 2).length, 2);
  assert.deepEqual(
    rankPaths('', ['z', 'b', 'a'], 10).map((r) => r.path),
    ['z', 'b', 'a'],
  );
});
