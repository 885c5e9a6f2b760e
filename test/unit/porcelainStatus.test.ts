import assert from 'node:assert/strict';
import { test } from 'node:test';

import { groupChanges } from '../../src/core/git/changeGroups';
import { parsePorcelainV2, PorcelainParseError } from '../../src/core/git/porcelainStatus';

const H1 = '587be6b4c3f93f93c489c0111bba5596147a26cb';
const H2 = '7898192613b2afb6025042ff6bd878ac1994e85e';
const H3 = 'f2ad6c76f0115a6ba5b00456a849810e7ec0af20';
const MODES = '100644 100644 100644';

/** Records as `git status --porcelain=v2 -z --branch --untracked-files=all` writes them, each ending in NUL. */
function output(...records: string[]): Buffer {
  return Buffer.from(records.map((record) => `${record}\0`).join(''), 'utf8');
}

test('branch headers give the commit, the branch, its upstream and how far ahead and behind it is', () => {
  const status = parsePorcelainV2(
    output(
      `# branch.oid ${H1}`,
      '# branch.head feature/x',
      '# branch.upstream origin/feature/x',
      '# branch.ab +2 -1',
    ),
  );
  assert.deepEqual(status.branch, {
    commit: H1,
    head: 'feature/x',
    upstream: 'origin/feature/x',
    ahead: 2,
    behind: 1,
  });
  assert.deepEqual(status.changes, []);
});

test('a repository without commits and a detached HEAD have no commit and no branch name', () => {
  assert.equal(
    parsePorcelainV2(output('# branch.oid (initial)', '# branch.head main')).branch.commit,
    undefined,
  );
  assert.equal(
    parsePorcelainV2(output(`# branch.oid ${H1}`, '# branch.head (detached)')).branch.head,
    undefined,
  );
});

test('ordinary, renamed, unmerged and untracked entries keep names with spaces, unicode and newlines exact', () => {
  const status = parsePorcelainV2(
    output(
      `# branch.oid ${H1}`,
      '# branch.head main',
      `1 .M N... ${MODES} ${H2} ${H2} with space.txt`,
      `1 A. N... 000000 100644 100644 ${'0'.repeat(40)} ${H1} ünï  two  spaces.txt`,
      `1 D. N... 100644 000000 000000 ${H1} ${'0'.repeat(40)} gone`,
      `2 R. N... ${MODES} ${H1} ${H1} R100 new name`,
      'old name',
      `u UU N... 100644 100644 100644 100644 ${H3} ${H1} ${H2} conflict`,
      '? line\nbreak',
      '! ignored.log',
    ),
  );
  assert.deepEqual(status.changes, [
    { path: 'with space.txt', kind: 'ordinary', index: '.', workTree: 'M' },
    { path: 'ünï  two  spaces.txt', kind: 'ordinary', index: 'A', workTree: '.' },
    { path: 'gone', kind: 'ordinary', index: 'D', workTree: '.' },
    { path: 'new name', originalPath: 'old name', kind: 'renamed', index: 'R', workTree: '.' },
    { path: 'conflict', kind: 'unmerged', index: 'U', workTree: 'U' },
    { path: 'line\nbreak', kind: 'untracked', index: '?', workTree: '?' },
  ]);
});

test('a name that looks like a record or a header inside a path is read as the path', () => {
  const status = parsePorcelainV2(output(`1 .M N... ${MODES} ${H2} ${H2} # branch.head x`, '? 1 .M N... y'));
  assert.deepEqual(
    status.changes.map((change) => change.path),
    ['# branch.head x', '1 .M N... y'],
  );
});

test('output that is not porcelain v2 is refused rather than guessed at', () => {
  assert.throws(() => parsePorcelainV2(output(' M file.txt')), PorcelainParseError);
  assert.throws(() => parsePorcelainV2(output('1 .M N... 100644')), PorcelainParseError);
  assert.throws(
    () => parsePorcelainV2(output(`2 R. N... ${MODES} ${H1} ${H1} R100 new`)),
    PorcelainParseError,
  );
});

test('changes go to Staged Changes, Changes or both, conflicts to Merge Changes, with VS Code letters', () => {
  const { changes } = parsePorcelainV2(
    output(
      `1 MM N... ${MODES} ${H1} ${H2} both.txt`,
      `1 .D N... ${MODES} ${H1} ${H1} deleted.txt`,
      `2 R. N... ${MODES} ${H1} ${H1} R100 b`,
      'a',
      `u AA N... 000000 100644 100644 100644 ${'0'.repeat(40)} ${H1} ${H2} added-twice`,
      '? new.txt',
    ),
  );
  assert.deepEqual(
    groupChanges(changes).map((shown) => [
      shown.group,
      shown.change.path,
      shown.letter,
      shown.tooltip,
      shown.deleted,
    ]),
    [
      ['index', 'both.txt', 'M', 'Index Modified', false],
      ['workTree', 'both.txt', 'M', 'Working Tree Modified', false],
      ['workTree', 'deleted.txt', 'D', 'Working Tree Deleted', true],
      ['index', 'b', 'R', 'Index Renamed from a', false],
      ['merge', 'added-twice', '!', 'Conflict: Both Added', false],
      ['workTree', 'new.txt', 'U', 'Untracked', false],
    ],
  );
});
