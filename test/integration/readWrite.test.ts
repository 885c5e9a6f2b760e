import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { describe, test } from 'node:test';

import type { HostNotice } from '../../src/core/connection/connectionManager';
import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import { readWholeFile } from '../../src/core/sftp/transfer';
import { patternBytes, rejectsWith, useSshd } from '../support/harness';

const h = useSshd();
const CHUNK = 261120; // OpenSSH's max-read-length and max-write-length

function leftoverTemporaries(folder: string): string[] {
  return readdirSync(folder).filter((name) => name.includes(TEMP_MARKER));
}

describe('readFile', () => {
  for (const [label, size] of [
    ['an empty file', 0],
    ['a one-byte file', 1],
    ['exactly one chunk', CHUNK],
    ['one chunk and one byte', CHUNK + 1],
    ['64 MiB', 64 * 1024 * 1024],
  ] as const) {
    test(`round-trips ${label} byte for byte`, async () => {
      const content = patternBytes(size, size + 7);
      const remote = h.path(`round-trip-${size}.bin`);
      await h.fs.writeFile(remote, content, { create: true, overwrite: false });
      assert.ok(readFileSync(remote).equals(content), 'the server holds exactly what was written');
      const read = await h.fs.readFile(remote);
      assert.equal(read.length, size);
      assert.ok(Buffer.from(read).equals(content), 'what is read back is exactly what was written');
    });
  }

  test('reads all of a file that is larger than its stale size hint (it grew)', async () => {
    const content = patternBytes(3 * CHUNK + 123, 3);
    const remote = h.sshd.writeLocal('grew.bin', content);
    const session = await h.manager.session(h.sshd.alias);
    const read = await session.withFile(remote, 'r', {}, (handle) =>
      readWholeFile(session, handle, remote, 10, 1 << 30),
    );
    assert.ok(read.equals(content));
  });

  test('reads exactly the file when the size hint is larger than the file (it shrank)', async () => {
    const content = patternBytes(CHUNK + 5, 4);
    const remote = h.sshd.writeLocal('shrank.bin', content);
    const session = await h.manager.session(h.sshd.alias);
    const read = await session.withFile(remote, 'r', {}, (handle) =>
      readWholeFile(session, handle, remote, 5 * CHUNK, 1 << 30),
    );
    assert.ok(read.equals(content));
  });

  test('fails with ETOOLARGE above the configured maximum and says which setting', async () => {
    const remote = h.sshd.writeLocal('big-for-limit.bin', Buffer.alloc(2 * 1024 * 1024));
    const session = await h.manager.session(h.sshd.alias);
    const error = await rejectsWith(
      session.withFile(remote, 'r', {}, (handle) =>
        readWholeFile(session, handle, remote, 2 * 1024 * 1024, 1024 * 1024),
      ),
      'ETOOLARGE',
    );
    assert.match(error.message, /sftpfs\.maxReadFileSizeMB/);
  });

  test('fails with ETOOLARGE when a file grows past the maximum while it is read', async () => {
    const remote = h.sshd.writeLocal('grows-past-limit.bin', Buffer.alloc(3 * 1024 * 1024));
    const session = await h.manager.session(h.sshd.alias);
    await rejectsWith(
      session.withFile(remote, 'r', {}, (handle) => readWholeFile(session, handle, remote, 0, 1024 * 1024)),
      'ETOOLARGE',
    );
  });

  test('fails with EISDIR for a folder', async () => {
    await rejectsWith(h.fs.readFile(h.sshd.mkdirLocal('read-a-folder')), 'EISDIR');
  });

  test('fails with ENOENT for a missing file', async () => {
    await rejectsWith(h.fs.readFile(h.path('missing.txt')), 'ENOENT');
  });

  test('fails with EACCES for a file the user may not read', async () => {
    await rejectsWith(h.fs.readFile(h.sshd.writeLocal('secret.txt', 'secret', 0o000)), 'EACCES');
  });
});

describe('writeFile options', () => {
  const data = Buffer.from('new content');

  test('creates a missing file when create is set', async () => {
    const remote = h.path('opt-new.txt');
    await h.fs.writeFile(remote, data, { create: true, overwrite: false });
    assert.equal(readFileSync(remote, 'utf8'), 'new content');
  });

  test('refuses to replace an existing file with create and without overwrite (EEXIST), leaving no temporary', async () => {
    const folder = h.sshd.mkdirLocal('opt-exists');
    const remote = h.sshd.writeLocal('opt-exists/file.txt', 'old');
    await rejectsWith(h.fs.writeFile(remote, data, { create: true, overwrite: false }), 'EEXIST');
    assert.equal(readFileSync(remote, 'utf8'), 'old');
    assert.deepEqual(readdirSync(folder), ['file.txt']);
  });

  test('refuses to create a missing file without create (ENOENT), leaving no temporary', async () => {
    const folder = h.sshd.mkdirLocal('opt-missing');
    await rejectsWith(
      h.fs.writeFile(`${folder}/file.txt`, data, { create: false, overwrite: true }),
      'ENOENT',
    );
    assert.deepEqual(readdirSync(folder), []);
  });

  test('replaces an existing file with overwrite and without create', async () => {
    const remote = h.sshd.writeLocal('opt-overwrite.txt', 'old');
    await h.fs.writeFile(remote, data, { create: false, overwrite: true });
    assert.equal(readFileSync(remote, 'utf8'), 'new content');
  });

  test('replaces an existing file with create and overwrite', async () => {
    const remote = h.sshd.writeLocal('opt-both.txt', 'old old old old');
    await h.fs.writeFile(remote, data, { create: true, overwrite: true });
    assert.equal(readFileSync(remote, 'utf8'), 'new content');
  });

  test('fails with ENOENT when the parent folder is missing, without creating it', async () => {
    await rejectsWith(
      h.fs.writeFile(h.path('no-parent/child.txt'), data, { create: true, overwrite: true }),
      'ENOENT',
    );
    assert.throws(() => statSync(h.path('no-parent')));
  });

  test('fails with EISDIR when the target is a folder, leaving no temporary', async () => {
    const folder = h.sshd.mkdirLocal('write-onto-folder');
    h.sshd.mkdirLocal('write-onto-folder/inner');
    await rejectsWith(h.fs.writeFile(`${folder}/inner`, data, { create: true, overwrite: true }), 'EISDIR');
    assert.deepEqual(readdirSync(folder), ['inner']);
  });
});

describe('writeFile atomicity', () => {
  test('keeps the permissions of the file it replaces', async () => {
    const remote = h.sshd.writeLocal('mode.sh', '#!/bin/sh\n', 0o750);
    await h.fs.writeFile(remote, Buffer.from('#!/bin/sh\necho hi\n'), { create: true, overwrite: true });
    assert.equal(statSync(remote).mode & 0o7777, 0o750);
  });

  test('leaves no temporary files behind', async () => {
    const folder = h.sshd.mkdirLocal('no-leftovers');
    for (let i = 0; i < 5; i++) {
      await h.fs.writeFile(`${folder}/f.txt`, patternBytes(1000 * i, i), { create: true, overwrite: true });
    }
    assert.deepEqual(leftoverTemporaries(folder), []);
    assert.deepEqual(readdirSync(folder), ['f.txt']);
  });

  for (const known of [false, true]) {
    test(`writes through a link to its target in another folder and keeps the link (link ${known ? 'just stat-ed' : 'not known yet'}), leaving no temporary beside either`, async () => {
      const links = h.sshd.mkdirLocal(`links-${known}`);
      const targets = h.sshd.mkdirLocal(`targets-${known}`);
      h.sshd.writeLocal(`targets-${known}/target.txt`, 'old');
      symlinkSync(`../targets-${known}/target.txt`, `${links}/link.txt`);
      if (known) {
        await h.fs.stat(`${links}/link.txt`);
      }
      await h.fs.writeFile(`${links}/link.txt`, Buffer.from('via link'), { create: true, overwrite: true });
      assert.ok(lstatSync(`${links}/link.txt`).isSymbolicLink());
      assert.equal(readlinkSync(`${links}/link.txt`), `../targets-${known}/target.txt`);
      assert.equal(readFileSync(`${targets}/target.txt`, 'utf8'), 'via link');
      assert.deepEqual(readdirSync(links), ['link.txt']);
      assert.deepEqual(readdirSync(targets), ['target.txt']);
    });
  }

  test('leaves the original intact when the connection drops during a save', async () => {
    const original = patternBytes(1024, 9);
    const remote = h.sshd.writeLocal('cut-save.bin', original);
    const session = await h.manager.session(h.sshd.alias);
    const save = h.fs.writeFile(remote, patternBytes(32 * 1024 * 1024, 10), {
      create: true,
      overwrite: true,
    });
    // Drop the connection as soon as the upload is under way.
    const started = Date.now();
    while (leftoverTemporaries(h.path('')).length === 0 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    h.manager.disconnect(h.sshd.alias);
    const error = await rejectsWith(save, 'ECONNLOST');
    assert.match(error.message, /connection/i);
    assert.ok(session.isClosed);
    assert.ok(readFileSync(remote).equals(original), 'the original is byte for byte unchanged');
    // The next operation reconnects on its own and removes the temporary the cut left behind.
    assert.ok(Buffer.from(await h.fs.readFile(remote)).equals(original));
    assert.deepEqual(leftoverTemporaries(h.path('')), []);
  });

  test('overwrites in place, keeping the original in memory, when the folder is not writable but the file is; the log says why and the user is not warned', async () => {
    const folder = h.sshd.mkdirLocal('locked-parent');
    const remote = h.sshd.writeLocal('locked-parent/doc.txt', 'a much longer original content', 0o640);
    const notices: HostNotice[] = [];
    const listening = h.manager.onDidNotice((notice) => notices.push(notice));
    chmodSync(folder, 0o555);
    try {
      await h.fs.writeFile(remote, Buffer.from('short'), { create: true, overwrite: true });
      assert.equal(readFileSync(remote, 'utf8'), 'short');
      assert.equal(statSync(remote).mode & 0o7777, 0o640);
      assert.ok(
        h.logger.lines.some(
          (line) =>
            line.startsWith('info') && line.includes('in place') && line.includes('folder is not writable'),
        ),
      );
      assert.deepEqual(notices, [], 'a protected save needs no warning');
      assert.deepEqual(leftoverTemporaries(folder), []);
    } finally {
      listening.dispose();
      chmodSync(folder, 0o755);
    }
  });

  test('fails with EACCES and changes nothing when neither the folder nor the file is writable', async () => {
    const folder = h.sshd.mkdirLocal('locked-both');
    const remote = h.sshd.writeLocal('locked-both/doc.txt', 'original', 0o444);
    chmodSync(folder, 0o555);
    try {
      await rejectsWith(
        h.fs.writeFile(remote, Buffer.from('new'), { create: true, overwrite: true }),
        'EACCES',
      );
      assert.equal(readFileSync(remote, 'utf8'), 'original');
      assert.deepEqual(leftoverTemporaries(folder), []);
    } finally {
      chmodSync(folder, 0o755);
    }
  });
});

describe('read-only server (internal-sftp -R)', () => {
  test('refuses writes with EACCES and keeps the original', async () => {
    const remote = h.sshd.writeLocal('readonly-target.txt', 'original');
    const readOnly = h.manager.fileSystem(h.sshd.readOnlyAlias);
    assert.equal(Buffer.from(await readOnly.readFile(remote)).toString(), 'original');
    await rejectsWith(
      readOnly.writeFile(remote, Buffer.from('new'), { create: true, overwrite: true }),
      'EACCES',
    );
    await rejectsWith(readOnly.createDirectory(h.path('readonly-new-folder')), 'EACCES');
    await rejectsWith(readOnly.delete(remote, { recursive: false }), 'EACCES');
    await rejectsWith(readOnly.rename(remote, h.path('readonly-renamed'), { overwrite: false }), 'EACCES');
    assert.equal(readFileSync(remote, 'utf8'), 'original');
    assert.deepEqual(leftoverTemporaries(h.path('')), []);
  });
});
