import assert from 'node:assert/strict';
import { chmodSync, statSync, symlinkSync } from 'node:fs';
import { describe, test } from 'node:test';

import { rejectsWith, useSshd } from '../support/harness';

const h = useSshd();

describe('stat', () => {
  test('reports a file with its size and its mtime in milliseconds', async () => {
    const local = h.sshd.writeLocal('stat-file.txt', 'twelve bytes');
    const stat = await h.fs.stat(local);
    assert.deepEqual(stat.type, { kind: 'file', symlink: false });
    assert.equal(stat.size, 12);
    assert.equal(stat.mtimeMs, Math.floor(statSync(local).mtimeMs / 1000) * 1000);
    assert.ok(stat.mtimeMs > 1e12, 'milliseconds, not seconds');
  });

  test('reports a folder as a directory', async () => {
    const local = h.sshd.mkdirLocal('stat-folder');
    assert.deepEqual((await h.fs.stat(local)).type, { kind: 'directory', symlink: false });
  });

  test('reports a link to a file as a file and a link, with the target size', async () => {
    h.sshd.writeLocal('link-target.txt', 'x'.repeat(100));
    symlinkSync('link-target.txt', h.path('link-to-file'));
    const stat = await h.fs.stat(h.path('link-to-file'));
    assert.deepEqual(stat.type, { kind: 'file', symlink: true });
    assert.equal(stat.size, 100);
  });

  test('reports a link to a folder as a directory and a link', async () => {
    h.sshd.mkdirLocal('link-target-folder');
    symlinkSync(h.path('link-target-folder'), h.path('link-to-folder'));
    assert.deepEqual((await h.fs.stat(h.path('link-to-folder'))).type, { kind: 'directory', symlink: true });
  });

  test('reports a broken link as an unknown link instead of failing', async () => {
    symlinkSync('does-not-exist', h.path('broken-link'));
    assert.deepEqual((await h.fs.stat(h.path('broken-link'))).type, { kind: 'unknown', symlink: true });
  });

  test('fails with ENOENT for a missing path', async () => {
    await rejectsWith(h.fs.stat(h.path('missing')), 'ENOENT');
  });

  test('rejects a relative path before asking the server', async () => {
    await rejectsWith(h.fs.stat('relative/path'), 'EINVAL');
  });
});

describe('readDirectory', () => {
  test('lists files and folders without . and ..', async () => {
    h.sshd.mkdirLocal('list');
    h.sshd.writeLocal('list/a.txt', 'a');
    h.sshd.mkdirLocal('list/sub');
    const entries = await h.fs.readDirectory(h.path('list'));
    assert.deepEqual(
      new Map(entries),
      new Map([
        ['a.txt', { kind: 'file', symlink: false }],
        ['sub', { kind: 'directory', symlink: false }],
      ]),
    );
  });

  test('resolves links so a link to a folder can be expanded', async () => {
    h.sshd.mkdirLocal('links');
    h.sshd.mkdirLocal('links/real-folder');
    h.sshd.writeLocal('links/real-file', 'f');
    symlinkSync('real-folder', h.path('links/folder-link'));
    symlinkSync('real-file', h.path('links/file-link'));
    symlinkSync('nowhere', h.path('links/dangling'));
    const entries = new Map(await h.fs.readDirectory(h.path('links')));
    assert.deepEqual(entries.get('folder-link'), { kind: 'directory', symlink: true });
    assert.deepEqual(entries.get('file-link'), { kind: 'file', symlink: true });
    assert.deepEqual(entries.get('dangling'), { kind: 'unknown', symlink: true });
  });

  test('lists every entry of a folder larger than one READDIR batch', async () => {
    h.sshd.mkdirLocal('many');
    for (let i = 0; i < 1000; i++) {
      h.sshd.writeLocal(`many/f${i}`, '');
    }
    const names = (await h.fs.readDirectory(h.path('many'))).map(([name]) => name).sort();
    assert.equal(names.length, 1000);
    assert.equal(new Set(names).size, 1000);
  });

  test('lists an empty folder as empty', async () => {
    assert.deepEqual(await h.fs.readDirectory(h.sshd.mkdirLocal('empty-folder')), []);
  });

  test('fails with ENOTDIR when the path is a file', async () => {
    await rejectsWith(h.fs.readDirectory(h.sshd.writeLocal('not-a-folder', 'x')), 'ENOTDIR');
  });

  test('fails with ENOENT for a missing folder', async () => {
    await rejectsWith(h.fs.readDirectory(h.path('no-such-folder')), 'ENOENT');
  });

  test('fails with EACCES for a folder the user may not read', async () => {
    const local = h.sshd.mkdirLocal('locked-folder');
    chmodSync(local, 0o000);
    try {
      await rejectsWith(h.fs.readDirectory(local), 'EACCES');
    } finally {
      chmodSync(local, 0o755);
    }
  });
});

describe('attributes seen moments ago', () => {
  test('our own save is never answered from what was known before it', async () => {
    const local = h.sshd.writeLocal('cache-own-write.txt', 'short');
    assert.equal((await h.fs.stat(local)).size, 5);
    await h.fs.writeFile(local, Buffer.from('a longer content'), { create: true, overwrite: true });
    assert.equal((await h.fs.stat(local)).size, 16);
    await h.fs.delete(local, { recursive: false });
    await rejectsWith(h.fs.stat(local), 'ENOENT');
  });

  test('a change made on the server shows once the attributes have expired (1 s)', async () => {
    const local = h.sshd.writeLocal('cache-external.txt', 'one');
    assert.equal((await h.fs.stat(local)).size, 3);
    h.sshd.writeLocal('cache-external.txt', 'three');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await h.fs.stat(local)).size, 5);
  });
});
