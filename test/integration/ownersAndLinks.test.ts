import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { before, describe, test } from 'node:test';

import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import { ensureSharedAccounts, sharedAccountsUnavailable, type SharedAccounts } from '../support/accounts';
import { patternBytes, rejectsWith, useSshd } from '../support/harness';

/**
 * Saves on a server as it really is: folders reached through links, files owned by colleagues and by
 * root, other groups, hard links, read-only files, FIFOs. Whatever the plan, a save changes the content
 * and nothing else: owner, group, mode, inode and links stay, and nothing is left beside the file.
 */
const h = useSshd();
let accounts: SharedAccounts;

before(() => {
  if (sharedAccountsUnavailable === undefined) {
    accounts = ensureSharedAccounts(); // before the first login, so the session has the group
  }
});

const leftovers = (folder: string): string[] =>
  readdirSync(folder).filter((name) => name.includes(TEMP_MARKER));
const save = (path: string, content: string | Buffer): Promise<void> =>
  h.fs.writeFile(path, Buffer.from(content), { create: true, overwrite: true });

/** Writes a file as root and hands it to `uid:gid` with `mode`. */
function fileOwnedBy(
  relative: string,
  content: string | Buffer,
  uid: number,
  gid: number,
  mode: number,
): string {
  const path = h.sshd.writeLocal(relative, content, mode);
  chownSync(path, uid, gid);
  chmodSync(path, mode); // chown clears set-ID bits
  return path;
}

function identityOf(path: string): { uid: number; gid: number; mode: number; ino: number; nlink: number } {
  const { uid, gid, mode, ino, nlink } = statSync(path);
  return { uid, gid, mode: mode & 0o7777, ino, nlink };
}

describe('saves through links are resolved by the server', () => {
  test('a relative link in a symlinked folder: the save reaches the real target and creates nothing beside the link', async () => {
    h.sshd.mkdirLocal('var/www/site');
    h.sshd.mkdirLocal('var/www/common');
    h.sshd.mkdirLocal('srv/me');
    const real = h.sshd.writeLocal('var/www/common/shared.conf', 'listen 80;\n');
    symlinkSync('../common/shared.conf', h.path('var/www/site/shared.conf'));
    symlinkSync('../../var/www/site', h.path('srv/me/site'));
    const throughWorkspace = h.path('srv/me/site/shared.conf');

    assert.equal(Buffer.from(await h.fs.readFile(throughWorkspace)).toString(), 'listen 80;\n');
    await save(throughWorkspace, 'listen 8080;\n');

    assert.equal(readFileSync(real, 'utf8'), 'listen 8080;\n', 'the real target holds the new content');
    assert.ok(!existsSync(h.path('srv/me/common')), 'nothing was created where text would have led');
    assert.ok(lstatSync(h.path('var/www/site/shared.conf')).isSymbolicLink(), 'the link is still a link');
    assert.deepEqual(leftovers(h.path('var/www/common')), []);
    assert.deepEqual(leftovers(h.path('var/www/site')), []);
  });

  test('a link whose target folder is itself reached through a link, saved with nothing known about it', async () => {
    h.sshd.mkdirLocal('deploy/releases/42/config');
    symlinkSync('releases/42', h.path('deploy/current'));
    const real = h.sshd.writeLocal('deploy/releases/42/config/app.ini', 'a=1\n');
    h.sshd.mkdirLocal('home-view');
    symlinkSync('../deploy/current/../42/config/app.ini', h.path('home-view/app.ini'));

    await save(h.path('home-view/app.ini'), 'a=2\n');

    assert.equal(readFileSync(real, 'utf8'), 'a=2\n');
    assert.ok(lstatSync(h.path('home-view/app.ini')).isSymbolicLink());
    assert.deepEqual(leftovers(h.path('deploy/releases/42/config')), []);
  });
});

describe('owners, groups, modes and hard links survive a save', { skip: sharedAccountsUnavailable }, () => {
  test("a file in the user's other group keeps that group and its mode", async () => {
    h.sshd.mkdirLocal('groups');
    const path = fileOwnedBy('groups/site.conf', 'old', h.sshd.uid, accounts.sharedGid, 0o640);
    await save(path, 'new content');
    assert.equal(readFileSync(path, 'utf8'), 'new content');
    const after = identityOf(path);
    assert.deepEqual([after.uid, after.gid, after.mode], [h.sshd.uid, accounts.sharedGid, 0o640]);
    assert.deepEqual(leftovers(h.path('groups')), []);
  });

  test("a colleague's file the user may write through the group keeps owner, group, mode and inode", async () => {
    h.sshd.mkdirLocal('colleague');
    const path = fileOwnedBy(
      'colleague/index.html',
      'old page',
      accounts.colleagueUid,
      accounts.sharedGid,
      0o664,
    );
    const before = identityOf(path);
    await save(path, 'new page, longer than the old one');
    assert.equal(readFileSync(path, 'utf8'), 'new page, longer than the old one');
    assert.deepEqual(identityOf(path), before);
    assert.ok(
      h.logger.lines.some((line) => line.includes(`Saving ${path} in place`)),
      'the log says which plan and why',
    );
    assert.deepEqual(leftovers(h.path('colleague')), []);
  });

  test('a root-owned group-writable file keeps owner root, and a shorter content is cut to length', async () => {
    h.sshd.mkdirLocal('rootowned');
    const path = fileOwnedBy(
      'rootowned/vhost.conf',
      'a rather long original line\n',
      0,
      accounts.sharedGid,
      0o660,
    );
    const before = identityOf(path);
    await save(path, 'short\n');
    assert.equal(readFileSync(path, 'utf8'), 'short\n');
    assert.deepEqual(identityOf(path), before);
    assert.deepEqual(leftovers(h.path('rootowned')), []);
  });

  test("in a sticky shared folder, a colleague's group-writable file is saved in place", async () => {
    const folder = h.sshd.mkdirLocal('sticky');
    chownSync(folder, 0, accounts.sharedGid);
    chmodSync(folder, 0o1777);
    const path = fileOwnedBy('sticky/notes.txt', 'old', accounts.colleagueUid, accounts.sharedGid, 0o664);
    const before = identityOf(path);
    await save(path, 'new');
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.deepEqual(identityOf(path), before);
    assert.deepEqual(leftovers(folder), []);
  });

  test('two hard-linked names stay one file: both show the new content', async () => {
    h.sshd.mkdirLocal('hardlinks');
    const first = h.sshd.writeLocal('hardlinks/first.txt', 'shared old');
    linkSync(first, h.path('hardlinks/second.txt'));
    const before = identityOf(first);
    await save(first, 'shared new');
    assert.equal(readFileSync(h.path('hardlinks/second.txt'), 'utf8'), 'shared new');
    assert.deepEqual(identityOf(first), before);
    assert.equal(identityOf(first).nlink, 2);
    assert.deepEqual(leftovers(h.path('hardlinks')), []);
  });

  test('a hard-linked file listed past the first READDIR batches of a large folder stays one file', async () => {
    h.sshd.mkdirLocal('hardlinks-many');
    // OpenSSH answers 100 names per READDIR: the link count is in a later batch than the first.
    for (let i = 0; i < 350; i++) {
      h.sshd.writeLocal(`hardlinks-many/a-${String(i).padStart(3, '0')}.txt`, 'filler');
    }
    const linked = h.sshd.writeLocal('hardlinks-many/z-linked.txt', 'shared old');
    linkSync(linked, h.path('hardlinks-many/z-other-name.txt'));
    const before = identityOf(linked);
    await save(linked, 'shared new');
    assert.equal(readFileSync(h.path('hardlinks-many/z-other-name.txt'), 'utf8'), 'shared new');
    assert.ok(
      h.logger.lines.some(
        (line) => line.includes(`Saving ${linked} in place`) && line.includes('2 hard links'),
      ),
      'the link count was found in the listing, not given up on',
    );
    assert.deepEqual(identityOf(linked), before);
    assert.deepEqual(leftovers(h.path('hardlinks-many')), []);
  });

  test('a large file of a colleague (striped over several channels) is written in place whole', async () => {
    h.sshd.mkdirLocal('colleague-large');
    const path = fileOwnedBy(
      'colleague-large/data.bin',
      patternBytes(3 * 1024 * 1024, 7),
      accounts.colleagueUid,
      accounts.sharedGid,
      0o664,
    );
    const before = identityOf(path);
    const content = patternBytes(9 * 1024 * 1024, 8);
    await save(path, content);
    assert.ok(readFileSync(path).equals(content));
    assert.deepEqual(identityOf(path), before);
    assert.deepEqual(leftovers(h.path('colleague-large')), []);
  });

  test('a file the user owns but made read-only is refused with EACCES and left as it was', async () => {
    h.sshd.mkdirLocal('readonly-own');
    const path = h.sshd.writeLocal('readonly-own/frozen.txt', 'frozen', 0o444);
    const before = identityOf(path);
    // Twice: the first save learns who the user is; the second knows it before creating anything.
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await rejectsWith(save(path, 'thawed'), 'EACCES');
      assert.equal(error.path, path);
    }
    assert.equal(readFileSync(path, 'utf8'), 'frozen');
    assert.deepEqual(identityOf(path), before);
    assert.deepEqual(leftovers(h.path('readonly-own')), []);
  });

  test("a colleague's file the user may not write is refused with EACCES, and no copy is left", async () => {
    h.sshd.mkdirLocal('not-mine');
    const path = fileOwnedBy(
      'not-mine/private.txt',
      'theirs',
      accounts.colleagueUid,
      accounts.colleagueUid,
      0o644,
    );
    const before = identityOf(path);
    await rejectsWith(save(path, 'mine now'), 'EACCES');
    assert.equal(readFileSync(path, 'utf8'), 'theirs');
    assert.deepEqual(identityOf(path), before);
    assert.deepEqual(leftovers(h.path('not-mine')), []);
  });

  test("a copy over a colleague's file keeps the destination's owner, group and mode", async () => {
    h.sshd.mkdirLocal('copy-over');
    const source = h.sshd.writeLocal('copy-over/source.txt', 'copied content', 0o600);
    const target = fileOwnedBy(
      'copy-over/target.txt',
      'old',
      accounts.colleagueUid,
      accounts.sharedGid,
      0o664,
    );
    const before = identityOf(target);
    await h.fs.copy(source, target, { overwrite: true });
    assert.equal(readFileSync(target, 'utf8'), 'copied content');
    assert.deepEqual(identityOf(target), before);
    assert.deepEqual(leftovers(h.path('copy-over')), []);
  });
});

describe('special files', () => {
  test('a FIFO is refused for reading and saving without stalling the requests after it', async () => {
    const fifo = h.path('a-pipe');
    execFileSync('mkfifo', [fifo]);
    chownSync(fifo, h.sshd.uid, h.sshd.gid);
    const stat = await h.fs.stat(fifo);
    assert.equal(stat.type.kind, 'unknown');
    const started = Date.now();
    const readError = await rejectsWith(h.fs.readFile(fifo), 'EUNSUPPORTED');
    assert.match(readError.message, /FIFO/);
    const saveError = await rejectsWith(save(fifo, 'data'), 'EUNSUPPORTED');
    assert.match(saveError.message, /FIFO/);
    const other = h.sshd.writeLocal('after-the-pipe.txt', 'still answering');
    assert.equal(Buffer.from(await h.fs.readFile(other)).toString(), 'still answering');
    assert.ok(Date.now() - started < 5000, 'nothing waited on the pipe');
  });
});

/** Asks until `check` holds or two seconds pass: the login user's identity is learned in the background. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 2000;
  while (!(await check())) {
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe('the read-only mark', () => {
  test('a file without any write bit is read-only at once; the user’s own writable file never is', async () => {
    h.sshd.mkdirLocal('marks');
    const frozen = h.sshd.writeLocal('marks/frozen.txt', 'x', 0o444);
    const open = h.sshd.writeLocal('marks/open.txt', 'x', 0o644);
    assert.equal((await h.fs.stat(frozen)).notWritable, true);
    assert.equal((await h.fs.stat(open)).notWritable, undefined);
  });

  test(
    'other owners and groups: read-only exactly where the user cannot write',
    { skip: sharedAccountsUnavailable },
    async () => {
      h.sshd.mkdirLocal('marks-shared');
      const notMine = fileOwnedBy(
        'marks-shared/theirs.txt',
        'x',
        accounts.colleagueUid,
        accounts.colleagueUid,
        0o644,
      );
      const groupReadOnly = fileOwnedBy('marks-shared/group-ro.txt', 'x', 0, accounts.sharedGid, 0o640);
      const groupWritable = fileOwnedBy('marks-shared/group-rw.txt', 'x', 0, accounts.sharedGid, 0o664);
      const rootFolder = h.sshd.mkdirLocal('marks-shared/root-folder');
      chownSync(rootFolder, 0, 0);
      // These need the user's uid and groups, which `id` on the server tells shortly after connecting.
      assert.ok(
        await eventually(async () => (await h.fs.stat(notMine)).notWritable === true),
        'a colleague’s 0644 file',
      );
      assert.equal(
        (await h.fs.stat(groupReadOnly)).notWritable,
        true,
        'a 0640 file of a group the user is in',
      );
      assert.equal((await h.fs.stat(groupWritable)).notWritable, undefined, 'a 0664 file of that group');
      assert.equal((await h.fs.stat(rootFolder)).notWritable, true, 'a folder of root');
      assert.equal((await h.fs.stat(h.path('marks-shared'))).notWritable, undefined, 'the user’s own folder');
    },
  );

  test('a read-only server marks every file and folder read-only, and a save there fails with EACCES', async () => {
    const readOnly = h.manager.fileSystem(h.sshd.readOnlyAlias);
    const path = h.sshd.writeLocal('served-read-only.txt', 'x', 0o644);
    assert.equal((await readOnly.stat(path)).notWritable, true);
    assert.equal((await readOnly.stat(h.sshd.root)).notWritable, true);
    assert.equal((await h.fs.stat(path)).notWritable, undefined, 'the same file on the writable server');
    await rejectsWith(
      readOnly.writeFile(path, Buffer.from('y'), { create: true, overwrite: true }),
      'EACCES',
    );
    assert.equal(readFileSync(path, 'utf8'), 'x');
  });
});
