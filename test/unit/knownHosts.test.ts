import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';

import {
  hostFieldMatches,
  judgeHostKey,
  keyTypeOfBlob,
  knownHostsName,
  parseKnownHosts,
  sha256Fingerprint,
} from '../../src/core/ssh/knownHosts';

function blob(type: string, body: string): Buffer {
  const name = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, Buffer.from(body)]);
}
const keyA = blob('ssh-ed25519', 'key-a');
const keyB = blob('ssh-ed25519', 'key-b');
const rsa = blob('rsa-sha2-512', 'rsa');

function line(hosts: string, key: Buffer, marker = ''): string {
  return `${marker}${marker ? ' ' : ''}${hosts} ${keyTypeOfBlob(key)} ${key.toString('base64')}`;
}

test('writes non-default ports in brackets, as ssh does', () => {
  assert.equal(knownHostsName('Example.com', 22), 'example.com');
  assert.equal(knownHostsName('example.com', 2222), '[example.com]:2222');
});

test('matches wildcards and lets a negation veto the line', () => {
  assert.equal(hostFieldMatches('*.example.com,!bad.example.com', 'good.example.com'), true);
  assert.equal(hostFieldMatches('*.example.com,!bad.example.com', 'bad.example.com'), false);
  assert.equal(hostFieldMatches('host?', 'host1'), true);
  assert.equal(hostFieldMatches('host?', 'host12'), false);
  assert.equal(hostFieldMatches('[h]:2222', '[h]:2222'), true);
  assert.equal(hostFieldMatches('h', '[h]:2222'), false);
});

test('matches hashed host names', () => {
  const salt = Buffer.from('0123456789abcdefghij');
  const hash = createHmac('sha1', salt).update('[secret.host]:2200').digest('base64');
  const field = `|1|${salt.toString('base64')}|${hash}`;
  assert.equal(hostFieldMatches(field, '[secret.host]:2200'), true);
  assert.equal(hostFieldMatches(field, 'secret.host'), false);
});

test('knows a listed key, among several for the same host', () => {
  const entries = parseKnownHosts([line('h', rsa), line('h', keyA)].join('\n'), 'kh');
  assert.equal(judgeHostKey(entries, 'h', keyA).status, 'known');
});

test('reports a different key of the same type as changed, with file and line', () => {
  const entries = parseKnownHosts(`# header\n\n${line('h', keyA)}\n`, '/home/u/.ssh/known_hosts');
  const verdict = judgeHostKey(entries, 'h', keyB);
  assert.equal(verdict.status, 'changed');
  assert.ok(
    verdict.status === 'changed' &&
      verdict.entry.line === 3 &&
      verdict.entry.file === '/home/u/.ssh/known_hosts',
  );
});

test('treats a key of a type not yet known as unknown, naming the types that are known', () => {
  const entries = parseKnownHosts(line('h', rsa), 'kh');
  assert.deepEqual(judgeHostKey(entries, 'h', keyA), { status: 'unknown', otherKeyTypes: ['rsa-sha2-512'] });
});

test('refuses a revoked key even when another line lists it as known', () => {
  const entries = parseKnownHosts([line('*', keyA, '@revoked'), line('h', keyA)].join('\n'), 'kh');
  assert.equal(judgeHostKey(entries, 'h', keyA).status, 'revoked');
});

test('does not trust @cert-authority lines as host keys', () => {
  const entries = parseKnownHosts(line('h', keyA, '@cert-authority'), 'kh');
  assert.equal(judgeHostKey(entries, 'h', keyA).status, 'unknown');
});

test('ignores comments, blank lines, malformed lines and unknown markers', () => {
  const entries = parseKnownHosts(
    `# c\n\nonly-one-field\n@weird h ssh-ed25519 AAAA\n${line('h', keyA)}`,
    'kh',
  );
  assert.equal(entries.length, 1);
});

test('prints fingerprints as ssh-keygen does: SHA256 and unpadded base64', () => {
  const expected = createHash('sha256').update(keyA).digest('base64').replace(/=+$/, '');
  assert.equal(sha256Fingerprint(keyA), `SHA256:${expected}`);
});
