import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';

import { DEFAULT_ALGORITHMS } from '../../src/core/ssh/algorithms';
import { orderHostKeyAlgorithms } from '../../src/core/ssh/hostKeyOrder';
import { parseKnownHosts } from '../../src/core/ssh/knownHosts';

const offer = DEFAULT_ALGORITHMS.serverHostKey;
const order = (knownHosts: string, name = '[box]:2222'): string[] =>
  orderHostKeyAlgorithms(offer, parseKnownHosts(knownHosts, 'known_hosts'), name);

test('a host with only an RSA key recorded is offered the RSA signatures first, the rest after in order', () => {
  assert.deepEqual(order('[box]:2222 ssh-rsa AAAA\n'), [
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
  ]);
});

test('an ECDSA key moves only its own curve forward', () => {
  assert.deepEqual(order('[box]:2222 ecdsa-sha2-nistp384 AAAA\n').slice(0, 2), [
    'ecdsa-sha2-nistp384',
    'ssh-ed25519',
  ]);
});

test('when the first preference is recorded the offer is kept as it is, as ssh does', () => {
  assert.deepEqual(order('[box]:2222 ssh-rsa AAAA\n[box]:2222 ssh-ed25519 BBBB\n'), [...offer]);
});

test('only plain lines for this very name count: other hosts, other ports, revoked and CA lines do not', () => {
  for (const lines of [
    'box ssh-rsa AAAA\n', // the bare name is port 22's
    '[box]:22 ssh-rsa AAAA\n',
    'other ssh-rsa AAAA\n',
    '@revoked [box]:2222 ssh-rsa AAAA\n',
    '@cert-authority [box]:2222 ssh-rsa AAAA\n',
    '*,![box]:2222 ssh-rsa AAAA\n',
  ]) {
    assert.deepEqual(order(lines), [...offer], lines);
  }
});

test('patterns, hashed names and host key aliases match as for verification', () => {
  assert.equal(order('[b?x]:2222 ssh-rsa AAAA\n')[0], 'rsa-sha2-512');
  // As `ssh-keygen -H` writes "[box]:2222": |1|salt|HMAC-SHA1(salt, name).
  const salt = Buffer.alloc(20, 7);
  const hash = createHmac('sha1', salt).update('[box]:2222').digest('base64');
  assert.equal(order(`|1|${salt.toString('base64')}|${hash} ssh-rsa AAAA\n`)[0], 'rsa-sha2-512');
  assert.equal(order('web-prod ssh-rsa AAAA\n', 'web-prod')[0], 'rsa-sha2-512');
});
