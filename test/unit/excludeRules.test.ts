import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  compileExcludeRules,
  excludedPathsRegExp,
  subtreeFolderGlobs,
  unwatchedFoldersRegExp,
} from '../../src/core/common/excludeRules';

/** VS Code's own default `files.watcherExclude` (the keys set to true), as the editor passes them. */
const VSCODE_WATCHER_EXCLUDES = [
  '**/.git/objects/**',
  '**/.git/subtree-cache/**',
  '**/.hg/store/**',
  '**/node_modules/*/**',
];

test('under VS Code default excludes, package folders and .git/objects are never opened', () => {
  const rules = compileExcludeRules(VSCODE_WATCHER_EXCLUDES);
  for (const folder of [
    'node_modules/react',
    'node_modules/@types',
    'node_modules/.bin',
    'packages/app/node_modules/lodash',
    '.git/objects',
    '.git/subtree-cache',
    'vendor/.hg/store',
  ]) {
    assert.ok(rules.excludesAllBelow(folder), `${folder} should be pruned`);
    // As VS Code reads a trailing `/**`, the folder itself is excluded too: not even reported.
    assert.ok(rules.excludes(folder), `${folder} itself is excluded`);
  }
});

test('under VS Code default excludes, the folders that hold them are still opened', () => {
  const rules = compileExcludeRules(VSCODE_WATCHER_EXCLUDES);
  for (const folder of ['', 'node_modules', '.git', '.git/refs', 'src', 'src/node_modules_old', '.hg']) {
    assert.ok(!rules.excludesAllBelow(folder), `${folder || 'the root'} must be listed`);
    assert.ok(!rules.excludes(folder), `${folder || 'the root'} is reported`);
  }
  assert.ok(!rules.excludes('.git/HEAD'));
  // `node_modules/*/**` covers every entry of node_modules, files included: only the folder is seen.
  assert.ok(rules.excludes('node_modules/.package-lock.json'));
  assert.ok(rules.excludes('node_modules/react/index.js'));
  assert.ok(rules.excludes('.git/objects/ab/cdef'));
});

test('a pruned folder is one whose every descendant the patterns exclude', () => {
  // Checked against the matcher itself: whatever is pruned, every path below is excluded.
  const patterns = [...VSCODE_WATCHER_EXCLUDES, 'out/**/*', 'build/**', 'a/*/**', '**/dist', 'logs/*'];
  const rules = compileExcludeRules(patterns);
  const below = ['x', 'x/y', 'x/y/z.txt', '.hidden', 'node_modules/q'];
  for (const folder of ['out', 'build', 'a/b', 'node_modules/react', '.git/objects']) {
    assert.ok(rules.excludesAllBelow(folder), folder);
    for (const rest of below) {
      assert.ok(rules.excludes(`${folder}/${rest}`), `${folder}/${rest} is excluded`);
    }
  }
  // `a/*/**` needs two segments below `a`, `logs/*` one level only, `**/dist` the folder not below.
  for (const folder of ['a', 'logs', 'src', 'dist']) {
    assert.ok(!rules.excludesAllBelow(folder), `${folder} must not be pruned`);
  }
  assert.ok(!rules.excludes('logs/x/y'));
});

test('the folder globs come from the tail of each pattern', () => {
  assert.deepEqual(subtreeFolderGlobs(['**/node_modules/*/**']), ['**/node_modules/*']);
  assert.deepEqual(subtreeFolderGlobs(['out/**/*']), ['out']);
  assert.deepEqual(subtreeFolderGlobs(['**/{dist,build}/**']), ['**/{dist,build}']);
  assert.deepEqual(subtreeFolderGlobs(['**/*.log', 'logs/*', 'a/*/*']), []);
  // A slash inside braces does not split the pattern.
  assert.deepEqual(subtreeFolderGlobs(['{a/b,c}/**']), ['{a/b,c}']);
});

test('absolute patterns prune by absolute path', () => {
  const rules = compileExcludeRules(['/srv/app/cache/**']);
  assert.ok(rules.excludesAllBelow('/srv/app/cache'));
  assert.ok(!rules.excludesAllBelow('/srv/app'));
});

test('the expression for inotifywait leaves out excluded paths and what is below pruned folders', () => {
  const expression = excludedPathsRegExp('/home/u/web', VSCODE_WATCHER_EXCLUDES);
  assert.ok(expression !== undefined);
  const excluded = new RegExp(expression); // the subset of ERE used reads the same in JavaScript
  assert.ok(excluded.test('/home/u/web/node_modules/react/index.js'));
  assert.ok(excluded.test('/home/u/web/node_modules/react/'));
  assert.ok(excluded.test('/home/u/web/.git/objects/ab/cdef'));
  assert.ok(excluded.test('/home/u/web/sub/.git/objects/ab'));
  assert.ok(excluded.test('/home/u/web/node_modules/react'));
  assert.ok(excluded.test('/home/u/web/.git/objects'));
  assert.ok(!excluded.test('/home/u/web/node_modules'));
  assert.ok(!excluded.test('/home/u/web/.gitignore'));
  assert.ok(!excluded.test('/home/u/web/.git/HEAD'));
  assert.ok(!excluded.test('/home/u/web/src/index.js'));
  assert.ok(!excluded.test('/elsewhere/node_modules/react/index.js'));
  // A pruned folder that is not excluded itself keeps its own events: `out` is reported, `out/x` is not.
  const belowOut = new RegExp(excludedPathsRegExp('/r', ['out/**/*']) as string);
  assert.ok(belowOut.test('/r/out/x'));
  assert.ok(!belowOut.test('/r/out'));
});

test('the expression for find matches the folders a watch need not open, as whole paths', () => {
  const expression = unwatchedFoldersRegExp('/home/u/web.v2', [
    ...VSCODE_WATCHER_EXCLUDES,
    '**/dist',
    'out/**/*',
  ]);
  assert.ok(expression !== undefined);
  const unwatched = new RegExp(`${expression}$`); // find -regex matches the whole path
  assert.ok(unwatched.test('/home/u/web.v2/node_modules/react'));
  assert.ok(unwatched.test('/home/u/web.v2/.git/objects'));
  assert.ok(unwatched.test('/home/u/web.v2/pkg/dist'));
  assert.ok(unwatched.test('/home/u/web.v2/out'), 'pruned though not excluded itself');
  assert.ok(!unwatched.test('/home/u/web.v2/node_modules'));
  assert.ok(!unwatched.test('/home/u/web.v2/.git'));
  assert.ok(!unwatched.test('/home/u/webXv2/node_modules/react'), 'the root is literal');
});

test('patterns the server expression cannot express are left to the client-side filter', () => {
  assert.equal(excludedPathsRegExp('/r', ['**/[\\]x]/**']), undefined);
  assert.equal(unwatchedFoldersRegExp('/r', []), undefined);
});
