import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  MAX_READ_LENGTH,
  MIN_LEARNED_READ_LENGTH,
  ReadSize,
  SAFE_READ_LENGTH,
} from '../../src/core/sftp/readSize';

test('a stated read length is kept, within what ssh2 can receive, whatever the answers', () => {
  const openssh = new ReadSize(261120);
  assert.equal(openssh.length, 261120);
  assert.equal(openssh.basis, 'fixed');
  assert.equal(openssh.answeredShort(65536), false);
  assert.equal(
    openssh.mayBeTooLong(261120),
    false,
    'a refusal of a stated length is not asked again shorter',
  );
  assert.equal(openssh.length, 261120);
  // ProFTPD 1.3.10 states 512 KiB - 1 KiB; a reply that long would be fatal to ssh2.
  assert.equal(new ReadSize(512 * 1024 - 1024).length, MAX_READ_LENGTH);
});

test('without a stated length the large one is tried, and one answer in full settles it', () => {
  const size = new ReadSize(undefined);
  assert.equal(size.length, MAX_READ_LENGTH);
  assert.equal(size.basis, 'trying');
  assert.equal(size.answeredInFull(1000), false, "a file's short tail says nothing about the length tried");
  assert.equal(size.settled, false);
  assert.equal(size.answeredInFull(MAX_READ_LENGTH), true);
  assert.equal(size.basis, 'honoured');
  assert.equal(size.answeredShort(10000), false, 'once settled, a short answer is an odd file, not a cap');
  assert.equal(size.length, MAX_READ_LENGTH);
});

test("a confirmed short answer becomes the session's length, never below the floor", () => {
  const capped = new ReadSize(undefined);
  assert.equal(capped.answeredShort(65536), true);
  assert.equal(capped.length, 65536);
  assert.equal(capped.basis, 'capped');
  assert.equal(capped.answeredShort(10000), false, 'the first cap seen is kept');
  const tiny = new ReadSize(undefined);
  tiny.answeredShort(100);
  assert.equal(tiny.length, MIN_LEARNED_READ_LENGTH);
});

test('a refused long READ falls back to the safe length for good; short ones are never retried', () => {
  const size = new ReadSize(undefined);
  assert.equal(size.mayBeTooLong(SAFE_READ_LENGTH), false, 'nothing shorter to fall back to');
  assert.equal(size.mayBeTooLong(MAX_READ_LENGTH), true);
  assert.equal(size.refusedLonger(), true);
  assert.equal(size.length, SAFE_READ_LENGTH);
  assert.equal(size.basis, 'refused');
  assert.equal(size.mayBeTooLong(MAX_READ_LENGTH), false);
  assert.equal(size.answeredInFull(MAX_READ_LENGTH), false);
});
