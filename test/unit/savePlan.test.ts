import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ownerMayNotWrite, reasonAgainstRename } from '../../src/core/fs/save/savePlan';
import { backupSiblingOf, isOwnTemporaryName, temporarySiblingOf } from '../../src/core/fs/save/temporaries';
import { linkCountFromLongName } from '../../src/core/sftp/session';

const file = (mode: number, uid = 1000, gid = 1000) => ({
  mode: 0o100000 | mode,
  uid,
  gid,
  size: 1,
  atime: 0,
  mtime: 0,
});
const me = { uid: 1000, gid: 1000 };

test('a file of the user, one link, posix-rename offered: replaced by rename', () => {
  assert.equal(
    reasonAgainstRename({ existing: file(0o644), posixRename: true, identity: me, links: 1 }),
    undefined,
  );
});

test('each difference a rename would make sends the save in place, saying why', () => {
  const cases: Array<[Parameters<typeof reasonAgainstRename>[0], RegExp]> = [
    [{ existing: file(0o644), posixRename: false }, /posix-rename/],
    [{ existing: { ...file(0o644), mode: 0o010644 }, posixRename: true }, /not a regular file/],
    [{ existing: { mode: 0o100644, size: 1 } as never, posixRename: true }, /owner and group/],
    [{ existing: file(0o664, 1001), posixRename: true, identity: me }, /another user \(uid 1001\)/],
    [{ existing: file(0o644), posixRename: true, ownerKept: false }, /owner and group \(1000:1000\)/],
    [{ existing: file(0o644), posixRename: true, links: 'unknown' }, /how many hard links/],
    [{ existing: file(0o644), posixRename: true, links: 3 }, /3 hard links/],
  ];
  for (const [facts, reason] of cases) {
    assert.match(reasonAgainstRename(facts) ?? 'renamed', reason);
  }
});

test("root may replace anyone's file by rename: it can give the new file any owner", () => {
  assert.equal(
    reasonAgainstRename({
      existing: file(0o640, 33, 33),
      posixRename: true,
      identity: { uid: 0, gid: 0 },
      links: 1,
    }),
    undefined,
  );
});

test('a file its owner made read-only may not be written by that owner, but root may', () => {
  assert.equal(ownerMayNotWrite(file(0o444), me), true);
  assert.equal(ownerMayNotWrite(file(0o644), me), false);
  assert.equal(ownerMayNotWrite(file(0o444, 0), { uid: 0, gid: 0 }), false);
  assert.equal(ownerMayNotWrite(file(0o444, 1001), me), false, 'not the owner: decided by the server');
});

test('the link count is read from ls-style long names and from nothing else', () => {
  assert.equal(linkCountFromLongName('-rw-r--r--    2 me  me  12 Nov 29 01:00 a.txt'), 2);
  assert.equal(linkCountFromLongName('-rw-r--r--+ 1 me me 12 Nov 29 01:00 acl.txt'), 1);
  assert.equal(linkCountFromLongName('drwxr-sr-x   14 root www 4096 Jan  1  2026 site'), 14);
  assert.equal(linkCountFromLongName('a.txt'), undefined);
  assert.equal(linkCountFromLongName('-rw-r--r-- me me 12 a.txt'), undefined);
  assert.equal(linkCountFromLongName('-rw-r--r--    0 me me 12 a.txt'), undefined);
  assert.equal(linkCountFromLongName(undefined), undefined);
});

test('temporaries and backups are recognised by name, and ordinary dot files are not', () => {
  const temporary = temporarySiblingOf('/srv/site/index.html');
  const backup = backupSiblingOf('/srv/site/index.html');
  assert.match(temporary, /^\/srv\/site\/\.index\.html\.sftpfs-[0-9a-z]+\.tmp$/);
  assert.match(backup, /^\/srv\/site\/\.index\.html\.sftpfs-[0-9a-z]+\.bak$/);
  assert.notEqual(temporarySiblingOf('/a'), temporarySiblingOf('/a'));
  for (const path of [temporary, backup]) {
    assert.equal(isOwnTemporaryName(path.slice('/srv/site/'.length)), true);
  }
  for (const name of [
    '.index.html',
    '.sftpfs-config',
    'notes.tmp',
    '.x.sftpfs-abc.tmp.orig',
    'x.sftpfs-1.tmp',
  ]) {
    assert.equal(isOwnTemporaryName(name), false, name);
  }
});
