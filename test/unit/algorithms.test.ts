import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import {
  DEFAULT_ALGORITHMS,
  SSH2_SUPPORTED,
  applyList,
  chooseAlgorithms,
} from '../../src/core/ssh/algorithms';
import { RecordingLogger } from '../support/harness';

const ssh2Constants = createRequire(__filename)('ssh2/lib/protocol/constants') as Record<string, string[]>;

test('our list of what ssh2 supports matches the installed ssh2', () => {
  assert.deepEqual([...SSH2_SUPPORTED.cipher], ssh2Constants['SUPPORTED_CIPHER']);
  assert.deepEqual([...SSH2_SUPPORTED.kex], ssh2Constants['SUPPORTED_KEX']);
  assert.deepEqual([...SSH2_SUPPORTED.serverHostKey], ssh2Constants['SUPPORTED_SERVER_HOST_KEY']);
  assert.deepEqual([...SSH2_SUPPORTED.hmac], ssh2Constants['SUPPORTED_MAC']);
});

test('the defaults prefer aes128-gcm and leave out SHA-1 host keys, MACs and key exchanges', () => {
  assert.equal(DEFAULT_ALGORITHMS.cipher[0], 'aes128-gcm@openssh.com');
  for (const list of [DEFAULT_ALGORITHMS.serverHostKey, DEFAULT_ALGORITHMS.hmac, DEFAULT_ALGORITHMS.kex]) {
    assert.ok(!list.some((name) => name === 'ssh-rsa' || name.includes('sha1')), list.join());
  }
});

test('follows OpenSSH list syntax: replace, +append, -remove with patterns, ^prepend', () => {
  const logger = new RecordingLogger();
  const defaults = ['a', 'b-1', 'b-2'];
  const supported = ['a', 'b-1', 'b-2', 'c'];
  assert.deepEqual(applyList('X', 'c,a', defaults, supported, logger), ['c', 'a']);
  assert.deepEqual(applyList('X', '+c', defaults, supported, logger), ['a', 'b-1', 'b-2', 'c']);
  assert.deepEqual(applyList('X', '-b-*', defaults, supported, logger), ['a']);
  assert.deepEqual(applyList('X', '^c', defaults, supported, logger), ['c', 'a', 'b-1', 'b-2']);
});

test('drops and logs what ssh2 cannot do, and refuses a list that leaves nothing', () => {
  const logger = new RecordingLogger();
  assert.deepEqual(applyList('Ciphers', 'aes128-ctr,umac-nonsense', ['x'], SSH2_SUPPORTED.cipher, logger), [
    'aes128-ctr',
  ]);
  assert.ok(logger.lines.some((line) => line.includes('umac-nonsense')));
  assert.throws(() => applyList('MACs', 'umac-64@openssh.com', ['x'], SSH2_SUPPORTED.hmac, logger), /MACs/);
});

test('lets the config ask for ssh-rsa host keys again', () => {
  const algorithms = chooseAlgorithms(
    { ciphers: undefined, kex: undefined, hostKeys: '+ssh-rsa', macs: undefined, compression: true },
    new RecordingLogger(),
  );
  assert.ok((algorithms.serverHostKey as string[]).includes('ssh-rsa'));
  assert.deepEqual(algorithms.compress, ['zlib@openssh.com', 'zlib', 'none']);
});
