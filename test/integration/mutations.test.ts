import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { describe, test } from 'node:test';

import { forEachBounded } from '../../src/core/common/limiter';
import { streamCopy } from '../../src/core/sftp/transfer';
import { patternBytes, rejectsWith, useSshd } from '../support/harness';

const h = useSshd();

describe('createDirectory', () => {
  test('creates a folder', async () => {
    await h.fs.createDirectory(h.path('made'));
    assert.ok(statSync(h.path('made')).isDirectory());
  });

  test('fails with EEXIST when the path exists', async () => {
    h.sshd.mkdirLocal('already');
    await rejectsWith(h.fs.createDirectory(h.path('already')), 'EEXIST');
    h.sshd.writeLocal('already-file', 'x');
    await rejectsWith(h.fs.createDirectory(h.path('already-file')), 'EEXIST');
  });

  test('fails with ENOENT when the parent is missing, without creating it', async () => {
    await rejectsWith(h.fs.createDirectory(h.path('no-parent/child')), 'ENOENT');
    assert.equal(existsSync(h.path('no-parent')), false);
  });

  test('fails with ENOTDIR when the parent is a file', async () => {
    h.sshd.writeLocal('file-parent', 'x');
    await rejectsWith(h.fs.createDirectory(h.path('file-parent/child')), 'ENOTDIR');
  });
});

describe('delete', () => {
  test('removes a file', async () => {
    await h.fs.delete(h.sshd.writeLocal('del-file', 'x'), { recursive: false });
    assert.equal(existsSync(h.path('del-file')), false);
  });

  test('removes an empty folder without recursive', async () => {
    await h.fs.delete(h.sshd.mkdirLocal('del-empty'), { recursive: false });
    assert.equal(existsSync(h.path('del-empty')), false);
  });

  test('refuses a non-empty folder without recursive (ENOTEMPTY) and keeps its contents', async () => {
    h.sshd.mkdirLocal('del-full');
    h.sshd.writeLocal('del-full/keep.txt', 'keep');
    const error = await rejectsWith(h.fs.delete(h.path('del-full'), { recursive: false }), 'ENOTEMPTY');
    assert.match(error.message, /not empty/);
    assert.equal(readFileSync(h.path('del-full/keep.txt'), 'utf8'), 'keep');
  });

  test('removes a deep tree with recursive', async () => {
    for (let d = 0; d < 5; d++) {
      h.sshd.mkdirLocal(`del-tree/d${d}/inner`);
      for (let f = 0; f < 50; f++) {
        h.sshd.writeLocal(`del-tree/d${d}/inner/f${f}`, 'x');
      }
      h.sshd.writeLocal(`del-tree/d${d}/top.txt`, 'x');
    }
    await h.fs.delete(h.path('del-tree'), { recursive: true });
    assert.equal(existsSync(h.path('del-tree')), false);
  });

  test('removes a link to a folder without touching the folder it points to', async () => {
    h.sshd.mkdirLocal('precious');
    h.sshd.writeLocal('precious/data.txt', 'data');
    symlinkSync(h.path('precious'), h.path('link-to-precious'));
    await h.fs.delete(h.path('link-to-precious'), { recursive: true });
    assert.equal(existsSync(h.path('link-to-precious')), false);
    assert.equal(readFileSync(h.path('precious/data.txt'), 'utf8'), 'data');
  });

  test('never follows links inside a tree it removes', async () => {
    h.sshd.mkdirLocal('outside');
    h.sshd.writeLocal('outside/data.txt', 'data');
    h.sshd.mkdirLocal('tree-with-link');
    symlinkSync(h.path('outside'), h.path('tree-with-link/escape'));
    await h.fs.delete(h.path('tree-with-link'), { recursive: true });
    assert.equal(existsSync(h.path('tree-with-link')), false);
    assert.equal(readFileSync(h.path('outside/data.txt'), 'utf8'), 'data');
  });

  test('fails with ENOENT for a missing path', async () => {
    await rejectsWith(h.fs.delete(h.path('del-missing'), { recursive: true }), 'ENOENT');
  });
});

describe('rename', () => {
  test('moves a file to a new name', async () => {
    h.sshd.writeLocal('ren-a', 'a');
    await h.fs.rename(h.path('ren-a'), h.path('ren-b'), { overwrite: false });
    assert.equal(existsSync(h.path('ren-a')), false);
    assert.equal(readFileSync(h.path('ren-b'), 'utf8'), 'a');
  });

  test('refuses to replace an existing target without overwrite (EEXIST), keeping both', async () => {
    h.sshd.writeLocal('ren-src', 'source');
    h.sshd.writeLocal('ren-dst', 'target');
    await rejectsWith(h.fs.rename(h.path('ren-src'), h.path('ren-dst'), { overwrite: false }), 'EEXIST');
    assert.equal(readFileSync(h.path('ren-src'), 'utf8'), 'source');
    assert.equal(readFileSync(h.path('ren-dst'), 'utf8'), 'target');
  });

  test('replaces an existing file with overwrite', async () => {
    h.sshd.writeLocal('ren-over-src', 'source');
    h.sshd.writeLocal('ren-over-dst', 'target');
    await h.fs.rename(h.path('ren-over-src'), h.path('ren-over-dst'), { overwrite: true });
    assert.equal(existsSync(h.path('ren-over-src')), false);
    assert.equal(readFileSync(h.path('ren-over-dst'), 'utf8'), 'source');
  });

  test('replaces an existing folder with overwrite', async () => {
    h.sshd.mkdirLocal('ren-folder-src');
    h.sshd.writeLocal('ren-folder-src/new.txt', 'new');
    h.sshd.mkdirLocal('ren-folder-dst');
    h.sshd.writeLocal('ren-folder-dst/old.txt', 'old');
    await h.fs.rename(h.path('ren-folder-src'), h.path('ren-folder-dst'), { overwrite: true });
    assert.deepEqual(readdirSync(h.path('ren-folder-dst')), ['new.txt']);
  });

  test('treats renaming a path to itself as a no-op', async () => {
    h.sshd.writeLocal('ren-same', 'same');
    await h.fs.rename(h.path('ren-same'), h.path('ren-same'), { overwrite: false });
    assert.equal(readFileSync(h.path('ren-same'), 'utf8'), 'same');
  });

  test('renames when only the case changes', async () => {
    h.sshd.writeLocal('readme.md', 'case');
    await h.fs.rename(h.path('readme.md'), h.path('README.md'), { overwrite: false });
    assert.deepEqual(
      readdirSync(h.path('')).filter((name) => name.toLowerCase() === 'readme.md'),
      ['README.md'],
    );
  });

  test('moves a folder with its contents', async () => {
    h.sshd.mkdirLocal('ren-dir/sub');
    h.sshd.writeLocal('ren-dir/sub/f', 'f');
    await h.fs.rename(h.path('ren-dir'), h.path('ren-dir-moved'), { overwrite: false });
    assert.equal(readFileSync(h.path('ren-dir-moved/sub/f'), 'utf8'), 'f');
  });

  test('fails with ENOENT for a missing source or a missing target folder', async () => {
    await rejectsWith(h.fs.rename(h.path('ren-nothing'), h.path('ren-x'), { overwrite: false }), 'ENOENT');
    h.sshd.writeLocal('ren-orphan', 'x');
    await rejectsWith(
      h.fs.rename(h.path('ren-orphan'), h.path('ren-no-dir/x'), { overwrite: false }),
      'ENOENT',
    );
    assert.equal(readFileSync(h.path('ren-orphan'), 'utf8'), 'x');
  });

  test('refuses to move a folder into itself', async () => {
    h.sshd.mkdirLocal('ren-self');
    await rejectsWith(
      h.fs.rename(h.path('ren-self'), h.path('ren-self/inside'), { overwrite: false }),
      'EINVAL',
    );
  });
});

describe('copy', () => {
  test('copies a file with its content and permissions', async () => {
    const content = patternBytes(3 * 261120 + 17, 5);
    h.sshd.writeLocal('copy-src.bin', content, 0o751);
    await h.fs.copy(h.path('copy-src.bin'), h.path('copy-dst.bin'), { overwrite: false });
    assert.ok(readFileSync(h.path('copy-dst.bin')).equals(content));
    assert.equal(statSync(h.path('copy-dst.bin')).mode & 0o7777, 0o751);
  });

  test('refuses an existing target without overwrite (EEXIST) and replaces it with overwrite', async () => {
    h.sshd.writeLocal('copy-a', 'a');
    h.sshd.writeLocal('copy-b', 'b');
    await rejectsWith(h.fs.copy(h.path('copy-a'), h.path('copy-b'), { overwrite: false }), 'EEXIST');
    assert.equal(readFileSync(h.path('copy-b'), 'utf8'), 'b');
    await h.fs.copy(h.path('copy-a'), h.path('copy-b'), { overwrite: true });
    assert.equal(readFileSync(h.path('copy-b'), 'utf8'), 'a');
  });

  test('copies a folder recursively, keeping links as links', async () => {
    h.sshd.mkdirLocal('copy-tree/a/b');
    h.sshd.writeLocal('copy-tree/top.txt', 'top');
    h.sshd.writeLocal('copy-tree/a/b/deep.txt', 'deep');
    symlinkSync('top.txt', h.path('copy-tree/link'));
    await h.fs.copy(h.path('copy-tree'), h.path('copy-tree-2'), { overwrite: false });
    assert.equal(readFileSync(h.path('copy-tree-2/top.txt'), 'utf8'), 'top');
    assert.equal(readFileSync(h.path('copy-tree-2/a/b/deep.txt'), 'utf8'), 'deep');
    assert.ok(lstatSync(h.path('copy-tree-2/link')).isSymbolicLink());
    assert.equal(readlinkSync(h.path('copy-tree-2/link')), 'top.txt');
  });

  test('refuses to copy a folder into itself', async () => {
    h.sshd.mkdirLocal('copy-self');
    await rejectsWith(
      h.fs.copy(h.path('copy-self'), h.path('copy-self/again'), { overwrite: false }),
      'EINVAL',
    );
  });

  test('fails with ENOENT for a missing source', async () => {
    await rejectsWith(h.fs.copy(h.path('copy-nothing'), h.path('copy-y'), { overwrite: false }), 'ENOENT');
  });

  test('streams a copy through the client when the server has no copy-data', async () => {
    const content = patternBytes(5 * 261120 + 3, 6);
    h.sshd.writeLocal('stream-src.bin', content);
    const session = await h.manager.session(h.sshd.alias);
    const copied = await session.withFile(h.path('stream-src.bin'), 'r', {}, (source) =>
      session.withFile(
        h.path('stream-dst.bin'),
        'wx',
        {},
        (target) => streamCopy(session, source, target, 'x'),
        true,
      ),
    );
    assert.equal(copied, content.length);
    assert.ok(readFileSync(h.path('stream-dst.bin')).equals(content));
  });

  test('copies 200 files in parallel, as VS Code does, without exceeding the handle budget', async () => {
    h.sshd.mkdirLocal('par-src');
    h.sshd.mkdirLocal('par-dst');
    const names = Array.from({ length: 200 }, (_, i) => `f${i}`);
    names.forEach((name, i) => h.sshd.writeLocal(`par-src/${name}`, `content ${i}`));
    await Promise.all(
      names.map(async (name) => {
        const data = await h.fs.readFile(h.path(`par-src/${name}`));
        await h.fs.writeFile(h.path(`par-dst/${name}`), data, { create: true, overwrite: true });
      }),
    );
    await forEachBounded(names, 8, async (name) => {
      assert.equal(
        readFileSync(h.path(`par-dst/${name}`), 'utf8'),
        readFileSync(h.path(`par-src/${name}`), 'utf8'),
      );
    });
    // 400 calls arrived at once; the session never held more handles than its two pools of 64 allow.
    const session = await h.manager.session(h.sshd.alias);
    assert.ok(session.peakOpenHandles > 1, 'the calls did run in parallel');
    assert.ok(session.peakOpenHandles <= 128, `peak ${session.peakOpenHandles} open handles`);
  });
});

describe('file names', () => {
  const names = [
    'with space.txt',
    'ünïcødé-文件-😀.txt',
    '.leading-dot',
    'percent%20sign%.txt',
    `quotes"and'apostrophes`,
    'back\\slash',
    'tab\there',
    'new\nline',
    'hash#question?',
    ' leading and trailing space ',
  ];
  for (const name of names) {
    test(`creates, lists, reads, renames and deletes ${JSON.stringify(name)}`, async () => {
      const folder = h.sshd.mkdirLocal(`names-${names.indexOf(name)}`);
      const path = `${folder}/${name}`;
      await h.fs.writeFile(path, Buffer.from(name), { create: true, overwrite: false });
      assert.deepEqual(
        (await h.fs.readDirectory(folder)).map(([entry]) => entry),
        [name],
      );
      assert.equal(Buffer.from(await h.fs.readFile(path)).toString(), name);
      await h.fs.rename(path, `${path}-renamed`, { overwrite: false });
      assert.equal(readFileSync(`${path}-renamed`, 'utf8'), name);
      await h.fs.delete(`${path}-renamed`, { recursive: false });
      assert.deepEqual(readdirSync(folder), []);
    });
  }
});
