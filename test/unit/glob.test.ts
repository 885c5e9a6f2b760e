import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compileGlob, compileGlobs } from '../../src/core/common/glob';

test('a bare name matches that name at any depth, and nothing else', () => {
  const matches = compileGlob('node_modules');
  assert.ok(matches('node_modules'));
  assert.ok(matches('a/b/node_modules'));
  assert.ok(!matches('node_modules_old'));
  assert.ok(!matches('a/node_modules/x'));
});

test('** spans folders, * and ? stay within one name', () => {
  assert.ok(compileGlob('**/.git/objects/**')('.git/objects/ab/cdef'));
  assert.ok(compileGlob('**/.git/objects/**')('sub/.git/objects/ab'));
  assert.ok(!compileGlob('**/.git/objects/**')('.git/config'));
  assert.ok(compileGlob('src/*.ts')('src/a.ts'));
  assert.ok(!compileGlob('src/*.ts')('src/deep/a.ts'));
  assert.ok(compileGlob('**/*.log')('x/y/z.log'));
  assert.ok(compileGlob('**/*.log')('z.log'));
  assert.ok(compileGlob('file?.txt')('dir/file1.txt'));
  assert.ok(!compileGlob('file?.txt')('file12.txt'));
});

test('a trailing /** matches the folder itself, as VS Code reads it; a trailing /**/* does not', () => {
  // VS Code's default files.watcherExclude excludes package folders and .git/objects themselves.
  assert.ok(compileGlob('**/node_modules/*/**')('node_modules/react'));
  assert.ok(compileGlob('**/node_modules/*/**')('web/node_modules/react/index.js'));
  assert.ok(!compileGlob('**/node_modules/*/**')('node_modules'));
  assert.ok(compileGlob('**/.git/objects/**')('.git/objects'));
  assert.ok(!compileGlob('**/.git/objects/**')('.git/objects2'));
  assert.ok(compileGlob('out/**')('out'));
  assert.ok(!compileGlob('out/**/*')('out'));
  assert.ok(compileGlob('out/**/*')('out/a'));
  assert.ok(compileGlob('**')('anything/at/all'));
});

test('braces give alternatives and classes match one character', () => {
  const matches = compileGlob('**/*.{js,map}');
  assert.ok(matches('dist/a.js'));
  assert.ok(matches('dist/a.js.map'));
  assert.ok(!matches('dist/a.ts'));
  assert.ok(compileGlob('**/[ab].txt')('x/a.txt'));
  assert.ok(!compileGlob('**/[!ab].txt')('x/a.txt'));
  assert.ok(compileGlob('**/[!ab].txt')('x/c.txt'));
});

test('regular-expression characters in a pattern are literal', () => {
  assert.ok(compileGlob('a+b(1).txt')('a+b(1).txt'));
  assert.ok(!compileGlob('a.txt')('abtxt'));
});

test('a list matches when any pattern does; an empty list matches nothing', () => {
  const matches = compileGlobs(['**/.git', '**/dist/**']);
  assert.ok(matches('.git'));
  assert.ok(matches('pkg/dist/out.js'));
  assert.ok(!matches('src/main.ts'));
  assert.ok(!compileGlobs([])('anything'));
});
