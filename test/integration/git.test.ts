import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';

import type { RemoteGitRepository } from '../../src/core/git/remoteGit';
import { findWorkTree, GitCommandError, type GitHost } from '../../src/core/git/remoteGit';
import { useSshd } from '../support/harness';
import { initRepository, localGit as gitOnThisMachine } from '../support/localGit';

const h = useSshd();

function hostFor(alias: string): GitHost {
  return { connection: () => h.manager.sshConnection(alias), logger: h.logger };
}

function localGit(folder: string, args: readonly string[]): Buffer {
  return gitOnThisMachine(h.sshd, folder, args);
}

function localText(folder: string, args: readonly string[]): string {
  return localGit(folder, args).toString('utf8');
}

/** NUL-separated output of a local git command, as a sorted list. */
function localList(folder: string, args: readonly string[]): string[] {
  return localText(folder, args)
    .split('\0')
    .filter((name) => name !== '')
    .sort();
}

/** A repository on the server with one commit of `files`, its branch `main` and an identity to commit with. */
function makeRepository(name: string, files: Readonly<Record<string, string>>, commit = true): string {
  const folder = initRepository(h.sshd, name);
  for (const [path, content] of Object.entries(files)) {
    if (path.includes('/')) {
      h.sshd.mkdirLocal(`${name}/${dirname(path)}`);
    }
    h.sshd.writeLocal(`${name}/${path}`, content);
  }
  if (commit) {
    localGit(folder, ['add', '-A']);
    localGit(folder, ['commit', '-q', '-m', 'first']);
  }
  return folder;
}

async function repositoryAt(folder: string): Promise<RemoteGitRepository> {
  const found = await findWorkTree(hostFor(h.sshd.alias), folder);
  assert.equal(found.kind, 'found', found.kind === 'unavailable' ? found.detail : '');
  return found.repository;
}

const NEWLINE_NAME = 'line\nbreak.txt';
const UNICODE_NAME = 'ünïcødé 名前.txt';

describe('git on the server over exec channels', () => {
  let statusRepo: string;

  before(() => {
    statusRepo = makeRepository('status', {
      'modified.txt': 'one\n',
      'with space.txt': 'two\n',
      'deleted.txt': 'three\n',
      'old name.txt': 'four\n',
      'conflict.txt': 'base\n',
      '.gitignore': '*.log\n',
      'sub/inner.txt': 'five\n',
    });
    localGit(statusRepo, ['checkout', '-q', '-b', 'other']);
    h.sshd.writeLocal('status/conflict.txt', 'theirs\n');
    localGit(statusRepo, ['commit', '-q', '-am', 'theirs']);
    localGit(statusRepo, ['checkout', '-q', 'main']);
    h.sshd.writeLocal('status/conflict.txt', 'ours\n');
    localGit(statusRepo, ['commit', '-q', '-am', 'ours']);
    assert.throws(() => localGit(statusRepo, ['merge', '-q', 'other'])); // leaves conflict.txt unmerged
    h.sshd.writeLocal('status/modified.txt', 'one, changed\n');
    h.sshd.writeLocal('status/with space.txt', 'two, changed\n');
    rmSync(join(statusRepo, 'deleted.txt'));
    localGit(statusRepo, ['mv', 'old name.txt', 'new name.txt']);
    h.sshd.writeLocal(`status/${UNICODE_NAME}`, 'added\n');
    localGit(statusRepo, ['add', '--', UNICODE_NAME]);
    h.sshd.writeLocal(`status/${NEWLINE_NAME}`, 'untracked\n');
    h.sshd.writeLocal('status/build.log', 'ignored\n');
  });

  test('a folder inside a work tree finds the repository root in the form the editor uses', async () => {
    const repository = await repositoryAt(join(statusRepo, 'sub'));
    assert.equal(repository.root, statusRepo);
    assert.equal(repository.gitDir, join(statusRepo, '.git'));
    assert.equal(repository.relative(join(statusRepo, 'sub/inner.txt')), 'sub/inner.txt');
    assert.equal(repository.relative(h.path('elsewhere')), undefined);
  });

  test('a folder outside any work tree, and an account without a shell, are "not available" with a reason', async () => {
    h.sshd.mkdirLocal('plain');
    const plain = await findWorkTree(hostFor(h.sshd.alias), h.path('plain'));
    assert.equal(plain.kind, 'unavailable');
    assert.equal(plain.kind === 'unavailable' && plain.reason, 'not-a-work-tree');
    assert.match(plain.kind === 'unavailable' ? plain.detail : '', /not a git repository/);
    const noShell = await findWorkTree(hostFor(h.sshd.readOnlyAlias), statusRepo);
    assert.equal(noShell.kind === 'unavailable' && noShell.reason, 'no-shell');
  });

  test('status lists modified, added, deleted, renamed, untracked and conflicted files, odd names exact', async () => {
    const { status } = await (await repositoryAt(statusRepo)).status();
    assert.equal(status.branch.head, 'main');
    assert.equal(status.branch.commit, localText(statusRepo, ['rev-parse', 'HEAD']).trim());
    const listed = status.changes
      .map(
        (change) =>
          `${change.index}${change.workTree} ${change.path}${change.originalPath ? ` <- ${change.originalPath}` : ''}`,
      )
      .sort();
    assert.deepEqual(listed, [
      '.D deleted.txt',
      '.M modified.txt',
      '.M with space.txt',
      '?? line\nbreak.txt',
      'A. ünïcødé 名前.txt',
      'R. new name.txt <- old name.txt',
      'UU conflict.txt',
    ]);
  });

  test('original content from the index and from HEAD equals what git show gives, byte for byte', async () => {
    const repository = await repositoryAt(statusRepo);
    assert.deepEqual(
      await repository.original('modified.txt', 'HEAD'),
      localGit(statusRepo, ['show', 'HEAD:modified.txt']),
    );
    assert.deepEqual(
      await repository.original(UNICODE_NAME, 'index'),
      localGit(statusRepo, ['show', `:${UNICODE_NAME}`]),
    );
    assert.equal((await repository.original(UNICODE_NAME, 'index'))?.toString(), 'added\n');
    assert.equal(await repository.original(UNICODE_NAME, 'HEAD'), undefined, 'not in HEAD');
    assert.equal(await repository.original(NEWLINE_NAME, 'index'), undefined, 'untracked');
  });

  test('stage, unstage and discard change the repository as git on the server sees it', async () => {
    const folder = makeRepository('ops', { 'a.txt': 'a\n', 'b file.txt': 'b\n' });
    const repository = await repositoryAt(folder);
    h.sshd.writeLocal('ops/a.txt', 'a changed\n');
    h.sshd.writeLocal('ops/b file.txt', 'b changed\n');
    h.sshd.writeLocal(`ops/${NEWLINE_NAME}`, 'new\n');

    await repository.stage(['a.txt', NEWLINE_NAME]);
    assert.deepEqual(
      localList(folder, ['diff', '--cached', '--name-only', '-z']),
      ['a.txt', NEWLINE_NAME].sort(),
    );

    await repository.unstage([NEWLINE_NAME]);
    assert.deepEqual(localList(folder, ['diff', '--cached', '--name-only', '-z']), ['a.txt']);
    assert.deepEqual(localList(folder, ['ls-files', '--others', '-z']), [NEWLINE_NAME]);

    await repository.discard(['b file.txt']);
    assert.equal(readFileSync(join(folder, 'b file.txt'), 'utf8'), 'b\n');
    await repository.clean([NEWLINE_NAME]);
    assert.equal(existsSync(join(folder, NEWLINE_NAME)), false);
    assert.equal(readFileSync(join(folder, 'a.txt'), 'utf8'), 'a changed\n', 'the staged file is left alone');
  });

  test('unstaging works in a repository without any commit yet', async () => {
    const folder = makeRepository('unborn', { 'first.txt': '1\n' }, false);
    const repository = await repositoryAt(folder);
    await repository.stage(['first.txt']);
    assert.deepEqual(localList(folder, ['ls-files', '-z']), ['first.txt']);
    await repository.unstage(['first.txt']);
    assert.deepEqual(localList(folder, ['ls-files', '-z']), []);
    const { status } = await repository.status();
    assert.equal(status.branch.commit, undefined);
    assert.deepEqual(
      status.changes.map((change) => change.path),
      ['first.txt'],
    );
  });

  test('commit and amend record the message from stdin exactly, and git says why a commit is refused', async () => {
    const folder = makeRepository('commits', { 'a.txt': 'a\n' });
    const repository = await repositoryAt(folder);
    await assert.rejects(repository.commit('nothing staged'), (error: unknown) => {
      assert.ok(error instanceof GitCommandError);
      assert.match(error.message, /nothing (added )?to commit/);
      return true;
    });
    h.sshd.writeLocal('commits/a.txt', 'a2\n');
    await repository.stage(['a.txt']);
    await repository.commit('Second\n\nA body line.');
    assert.equal(localText(folder, ['log', '-1', '--format=%B']), 'Second\n\nA body line.\n\n');
    assert.equal(localText(folder, ['rev-list', '--count', 'HEAD']).trim(), '2');

    await repository.commit('Second, reworded', { amend: true });
    assert.equal(localText(folder, ['log', '-1', '--format=%s']).trim(), 'Second, reworded');
    await repository.commit('', { amend: true });
    assert.equal(
      localText(folder, ['log', '-1', '--format=%s']).trim(),
      'Second, reworded',
      'an empty amend keeps it',
    );
    assert.equal(localText(folder, ['rev-list', '--count', 'HEAD']).trim(), '2');
  });

  test('a file name and a commit message crafted as shell injections are stored literally', async () => {
    const folder = makeRepository('injection', { 'a.txt': 'a\n' });
    const repository = await repositoryAt(folder);
    const name = '$(touch pwned); echo x';
    const message = '`touch pwned2` $(touch pwned3) \'; touch pwned4; \' "$HOME" \\n';
    h.sshd.writeLocal(`injection/${name}`, 'crafted\n');
    await repository.stage([name]);
    await repository.commit(message);
    assert.deepEqual(localList(folder, ['ls-files', '-z']), ['a.txt', name].sort());
    assert.equal(localText(folder, ['log', '-1', '--format=%B']), `${message}\n\n`);
    assert.equal((await repository.original(name, 'HEAD'))?.toString(), 'crafted\n');
    const { status } = await repository.status();
    assert.deepEqual(status.changes, []);
    for (const where of [folder, h.sshd.root, `/home/${h.sshd.user}`, '/']) {
      for (const pwned of ['pwned', 'pwned2', 'pwned3', 'pwned4']) {
        assert.equal(existsSync(join(where, pwned)), false, `${pwned} in ${where}`);
      }
    }
  });
});
