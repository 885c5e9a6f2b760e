import assert from 'node:assert/strict';
import { test } from 'node:test';

import { certainlyNotWritable } from '../../src/core/fs/permissions';
import { parseIdentity } from '../../src/core/ssh/remoteIdentity';

const entry = (mode: number, uid = 1000, gid = 1000) => ({ mode: 0o100000 | mode, uid, gid });
const known = { name: 'me', uid: 1000, groups: [1000, 33] };

test("the owner's bits decide for the owner, and only those", () => {
  assert.equal(certainlyNotWritable(entry(0o444), known), true);
  assert.equal(certainlyNotWritable(entry(0o466), known), true, 'group and others may; the owner may not');
  assert.equal(certainlyNotWritable(entry(0o644), known), false);
});

test("the group's bits decide for a member of the file's group", () => {
  assert.equal(certainlyNotWritable(entry(0o640, 0, 33), known), true);
  assert.equal(certainlyNotWritable(entry(0o664, 0, 33), known), false);
});

test('for anyone else, both group and other bits must say no (unknown groups, ACL entries)', () => {
  assert.equal(certainlyNotWritable(entry(0o644, 0, 0), known), true);
  assert.equal(certainlyNotWritable(entry(0o664, 0, 0), known), false);
  assert.equal(certainlyNotWritable(entry(0o646, 0, 0), known), false);
});

test('root may write anything; with no uid, only a name that is not root and no write bit at all is certain', () => {
  assert.equal(certainlyNotWritable(entry(0o444, 0, 0), { name: 'root' }), false);
  assert.equal(certainlyNotWritable(entry(0o444, 5, 5), { uid: 0 }), false);
  assert.equal(certainlyNotWritable(entry(0o444), { name: 'me' }), true);
  assert.equal(certainlyNotWritable(entry(0o644, 0, 0), { name: 'me' }), false);
  assert.equal(certainlyNotWritable(entry(0o444), {}), false, 'nothing known: perhaps root');
  assert.equal(certainlyNotWritable({ uid: 1 }, known), false, 'no mode: nothing certain');
});

test("`id -u; id -G` output is read, after a startup file's banner, and anything else is refused", () => {
  assert.deepEqual(parseIdentity('1000\n1000 27 33\n'), { uid: 1000, groups: [1000, 27, 33] });
  assert.deepEqual(parseIdentity('Welcome to the box!\n0\n0\n'), { uid: 0, groups: [0] });
  assert.equal(parseIdentity(''), undefined);
  assert.equal(parseIdentity('1000\n'), undefined);
  assert.equal(parseIdentity('uid=1000(me)\ngroups\n'), undefined);
});
