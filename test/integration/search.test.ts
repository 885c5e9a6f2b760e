import assert from 'node:assert/strict';
import { chmodSync, existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';

import { findFiles, findInFiles, type SearchTarget } from '../../src/core/search/remoteSearch';
import { hasShell, runCommand, shellQuote } from '../../src/core/ssh/remoteCommand';
import { rejectsWith, useSshd } from '../support/harness';

const h = useSshd();

function targetFor(alias: string): SearchTarget {
  const fs = h.manager.fileSystem(alias);
  return {
    connection: () => h.manager.sshConnection(alias),
    list: (path) => fs.list(path),
    readFile: (path) => fs.readFile(path),
    logger: h.logger,
  };
}

const TEXT = { isRegExp: false, caseSensitive: false, maxFileBytes: 1024 * 1024 };

function relative(paths: readonly string[]): string[] {
  return paths.map((path) => path.slice(h.path('q').length + 1)).sort();
}

describe('remote search', () => {
  before(() => {
    h.sshd.mkdirLocal('q/src/deep');
    h.sshd.mkdirLocal('q/node_modules/lib');
    h.sshd.writeLocal('q/src/main.ts', 'const answer = 42;\nexport function Greeting() {}\n');
    h.sshd.writeLocal('q/src/deep/util.ts', 'export const greeting = "hello";\n');
    h.sshd.writeLocal('q/src/notes: draft.md', "a colon: in the name, and 'quotes'\ngreeting here too\n");
    h.sshd.writeLocal('q/node_modules/lib/index.ts', 'greeting from a dependency\n');
    h.sshd.writeLocal('q/image.bin', Buffer.from([0x67, 0x72, 0x65, 0x65, 0, 1, 2, 0x74, 0x69, 0x6e, 0x67]));
    h.sshd.writeLocal('q/README.md', '# Greeting\n');
  });

  test('the test account has a shell and the SFTP-only port has none', async () => {
    assert.equal(await hasShell(await h.manager.sshConnection(h.sshd.alias)), true);
    assert.equal(await hasShell(await h.manager.sshConnection(h.sshd.readOnlyAlias)), false);
  });

  for (const forceWalk of [false, true]) {
    const how = forceWalk ? 'an SFTP walk' : 'find on the server';
    test(`Find File by ${how}: globs and plain text match names, case-insensitive, excludes skipped`, async () => {
      const scope = { root: h.path('q'), excludes: ['**/node_modules'], maxResults: 100, forceWalk };
      const byGlob = await findFiles(targetFor(h.sshd.alias), '*.ts', scope);
      assert.equal(byGlob.method, forceWalk ? 'walk' : 'shell');
      assert.deepEqual(relative(byGlob.results), ['src/deep/util.ts', 'src/main.ts']);
      const byText = await findFiles(targetFor(h.sshd.alias), 'DRAFT', scope);
      assert.deepEqual(relative(byText.results), ['src/notes: draft.md']);
    });

    test(`Find File by ${how} with no pattern lists every file, each passed on as it is found`, async () => {
      const scope = { root: h.path('q'), excludes: ['**/node_modules'], maxResults: 100, forceWalk };
      const seen: string[] = [];
      const outcome = await findFiles(targetFor(h.sshd.alias), '', scope, (path) => seen.push(path));
      const expected = ['README.md', 'image.bin', 'src/deep/util.ts', 'src/main.ts', 'src/notes: draft.md'];
      assert.deepEqual(relative(outcome.results), expected);
      assert.deepEqual(relative(seen), expected);
    });

    test(`Find in Files by ${how} passes on each match as it is found`, async () => {
      const scope = { root: h.path('q'), excludes: ['**/node_modules'], maxResults: 100, forceWalk };
      const seen: string[] = [];
      const outcome = await findInFiles(
        targetFor(h.sshd.alias),
        { ...TEXT, pattern: 'greeting' },
        scope,
        (match) => seen.push(`${match.path}:${match.line}`),
      );
      assert.deepEqual(seen.sort(), outcome.results.map((match) => `${match.path}:${match.line}`).sort());
      assert.ok(seen.length >= 3);
    });

    test(`Find in Files by ${how}: text, case, regular expressions, odd names; binaries and excludes skipped`, async () => {
      const scope = { root: h.path('q'), excludes: ['**/node_modules'], maxResults: 100, forceWalk };
      const target = targetFor(h.sshd.alias);
      const any = await findInFiles(target, { ...TEXT, pattern: 'greeting' }, scope);
      assert.deepEqual(
        any.results.map((m) => `${m.path.slice(h.path('q').length + 1)}:${m.line}:${m.text}`).sort(),
        [
          'README.md:1:# Greeting',
          'src/deep/util.ts:1:export const greeting = "hello";',
          'src/main.ts:2:export function Greeting() {}',
          'src/notes: draft.md:2:greeting here too',
        ],
      );
      const exact = await findInFiles(target, { ...TEXT, pattern: 'Greeting', caseSensitive: true }, scope);
      assert.deepEqual(relative(exact.results.map((m) => m.path)), ['README.md', 'src/main.ts']);
      const regex = await findInFiles(target, { ...TEXT, pattern: 'answer = [0-9]+', isRegExp: true }, scope);
      assert.deepEqual(
        regex.results.map((m) => [m.line, m.text]),
        [[1, 'const answer = 42;']],
      );
      const quoted = await findInFiles(target, { ...TEXT, pattern: "'quotes'" }, scope);
      assert.equal(quoted.results.length, 1);
    });

    test(`Find in Files by ${how} stops at maxResults and says it was truncated`, async () => {
      const scope = { root: h.path('q'), excludes: [], maxResults: 2, forceWalk };
      const outcome = await findInFiles(targetFor(h.sshd.alias), { ...TEXT, pattern: 'greeting' }, scope);
      assert.equal(outcome.results.length, 2);
      assert.equal(outcome.truncated, true);
    });
  }

  test('an SFTP-only account is searched by walking, with the same results', async () => {
    const scope = { root: h.path('q'), excludes: ['**/node_modules'], maxResults: 100 };
    const outcome = await findFiles(targetFor(h.sshd.readOnlyAlias), '*.ts', scope);
    assert.equal(outcome.method, 'walk');
    assert.deepEqual(relative(outcome.results), ['src/deep/util.ts', 'src/main.ts']);
  });

  test('patterns reach find and grep as data, never as shell code', async () => {
    const marker = h.path('injected');
    const scope = { root: h.path('q'), excludes: [`x'; touch ${marker}; '`], maxResults: 10 };
    for (const pattern of [`'; touch ${marker}; '`, `$(touch ${marker})`, `\`touch ${marker}\``]) {
      await findFiles(targetFor(h.sshd.alias), pattern, scope);
      await findInFiles(targetFor(h.sshd.alias), { ...TEXT, pattern }, scope);
    }
    assert.equal(existsSync(marker), false);
    assert.equal(
      (await runCommand(await h.manager.sshConnection(h.sshd.alias), `echo ${shellQuote("it's")}`)).stdout
        .toString()
        .trim(),
      "it's",
    );
  });

  test("a command's exit code is known every time, though sshd may close the channel before reporting it", async () => {
    const connection = await h.manager.sshConnection(h.sshd.alias);
    const codes = new Set<number | undefined>();
    for (let i = 0; i < 60; i++) {
      const result = await runCommand(connection, "echo out; echo err >&2; sh -c 'exit 3'");
      codes.add(result.exitCode);
      assert.equal(result.stdout.toString(), 'out\n');
      assert.equal(result.stderr, 'err');
    }
    assert.deepEqual([...codes], [3]);
  });

  test('a search that is cancelled ends with ECANCELED', async () => {
    const controller = new AbortController();
    controller.abort();
    const scope = { root: h.path('q'), excludes: [], maxResults: 10, signal: controller.signal };
    await rejectsWith(findInFiles(targetFor(h.sshd.alias), { ...TEXT, pattern: 'x' }, scope), 'ECANCELED');
    await rejectsWith(findFiles(targetFor(h.sshd.alias), 'x', { ...scope, forceWalk: true }), 'ECANCELED');
  });

  test('searching a folder that does not exist or cannot be entered fails with the reason, by find and by walking', async () => {
    const target = targetFor(h.sshd.alias);
    const missing = { root: h.path('no-such-folder'), excludes: [], maxResults: 10 };
    for (const forceWalk of [false, true]) {
      const error = await rejectsWith(
        findInFiles(target, { ...TEXT, pattern: 'x' }, { ...missing, forceWalk }),
        'ENOENT',
      );
      assert.match(error.message, /no-such-folder/);
      await rejectsWith(findFiles(target, 'x', { ...missing, forceWalk }), 'ENOENT');
    }
    h.sshd.mkdirLocal('q-closed');
    h.sshd.writeLocal('q-closed/inside.txt', 'x');
    chmodSync(h.path('q-closed'), 0o000);
    try {
      const closed = { root: h.path('q-closed'), excludes: [], maxResults: 10 };
      for (const forceWalk of [false, true]) {
        await rejectsWith(findFiles(target, 'inside', { ...closed, forceWalk }), 'EACCES');
        await rejectsWith(findInFiles(target, { ...TEXT, pattern: 'x' }, { ...closed, forceWalk }), 'EACCES');
      }
    } finally {
      chmodSync(h.path('q-closed'), 0o755);
    }
  });
});
