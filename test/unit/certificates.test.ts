import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { hasValidSignature, parseCertificate, validityProblem } from '../../src/core/ssh/certificates';
import { authoritiesToConsult, judgeHostCertificate } from '../../src/core/ssh/hostCertificates';
import { parseKnownHosts } from '../../src/core/ssh/knownHosts';
import { wireString } from '../../src/core/ssh/wireReader';

const dir = mkdtempSync(join(tmpdir(), 'sftpfs-cert-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A certificate made by ssh-keygen itself: the reference encoding, for each kind of CA. */
let made = 0;
function keygenCertificate(caType: 'ed25519' | 'rsa' | 'ecdsa', host: boolean): Buffer {
  made++;
  const ca = join(dir, `ca_${made}`);
  const key = join(dir, `key_${made}`);
  execFileSync('ssh-keygen', ['-q', '-t', caType, '-N', '', '-f', ca]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  execFileSync('ssh-keygen', [
    '-q',
    '-s',
    ca,
    ...(host ? ['-h'] : []),
    '-I',
    'made',
    '-n',
    'a,b',
    `${key}.pub`,
  ]);
  return Buffer.from(readFileSync(`${key}-cert.pub`, 'utf8').split(' ')[1] ?? '', 'base64');
}

/** A host certificate built field by field (PROTOCOL.certkeys), for cases ssh-keygen will not make. */
function builtHostCertificate(options: {
  principals?: string[];
  criticalOptions?: string[];
  validAfter?: bigint;
  validBefore?: bigint;
}): { blob: Buffer; caLine: string } {
  const ca = generateKeyPairSync('ed25519');
  const caRaw = Buffer.from(ca.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const caBlob = Buffer.concat([wireString('ssh-ed25519'), wireString(caRaw)]);
  const subject = generateKeyPairSync('ed25519');
  const subjectRaw = Buffer.from(subject.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const uint64 = (value: bigint): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(value);
    return buffer;
  };
  const uint32 = (value: number): Buffer => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value);
    return buffer;
  };
  const signed = Buffer.concat([
    wireString('ssh-ed25519-cert-v01@openssh.com'),
    wireString(randomBytes(32)),
    wireString(subjectRaw),
    uint64(7n),
    uint32(2),
    wireString('built'),
    wireString(Buffer.concat((options.principals ?? ['host.example']).map((p) => wireString(p)))),
    uint64(options.validAfter ?? 0n),
    uint64(options.validBefore ?? 0xffffffffffffffffn),
    wireString(
      Buffer.concat(
        (options.criticalOptions ?? []).map((o) => Buffer.concat([wireString(o), wireString('')])),
      ),
    ),
    wireString(''),
    wireString(''),
    wireString(caBlob),
  ]);
  const signature = Buffer.concat([wireString('ssh-ed25519'), wireString(sign(null, signed, ca.privateKey))]);
  return {
    blob: Buffer.concat([signed, wireString(signature)]),
    caLine: `@cert-authority * ssh-ed25519 ${caBlob.toString('base64')}`,
  };
}

function judge(blob: Buffer, knownHosts: string, principal = 'host.example', now = Date.now() / 1000) {
  const entries = parseKnownHosts(knownHosts, 'known_hosts');
  return judgeHostCertificate(blob, entries, authoritiesToConsult(entries, ['host.example']), principal, now);
}

describe('certificate parsing and CA signatures', () => {
  for (const caType of ['ed25519', 'rsa', 'ecdsa'] as const) {
    test(`a certificate signed by an ${caType} CA with ssh-keygen parses and its signature verifies`, () => {
      const certificate = parseCertificate(keygenCertificate(caType, false));
      assert.equal(certificate.kind, 'user');
      assert.deepEqual(certificate.principals, ['a', 'b']);
      assert.equal(certificate.keyId, 'made');
      assert.equal(hasValidSignature(certificate), true);
    });
  }

  test('a certificate changed after signing fails verification', () => {
    const blob = Buffer.from(keygenCertificate('ecdsa', true));
    assert.equal(hasValidSignature(parseCertificate(blob)), true);
    // Flip a byte of the key ID's text (inside the signed part).
    const at = blob.indexOf(Buffer.from('made'));
    blob[at] = 'n'.charCodeAt(0);
    assert.equal(hasValidSignature(parseCertificate(blob)), false);
  });

  test('a truncated certificate is refused as malformed, never read past its end', () => {
    const blob = keygenCertificate('ed25519', true);
    assert.throws(() => parseCertificate(blob.subarray(0, blob.length - 10)), /malformed certificate/);
  });

  test('dates are checked against now, with "forever" for the maximum', () => {
    const { blob } = builtHostCertificate({ validAfter: 2_000_000_000n });
    assert.match(validityProblem(parseCertificate(blob), 1_000_000_000) ?? '', /not valid before 2033/);
    assert.equal(validityProblem(parseCertificate(blob), 2_000_000_001), undefined);
  });
});

describe('host certificate rules (as sshconnect.c check_host_cert)', () => {
  test('a certificate signed by the trusted CA for this host is trusted', () => {
    const { blob, caLine } = builtHostCertificate({});
    assert.equal(judge(blob, caLine).status, 'trusted');
  });

  test('wildcard principals match as OpenSSH matches host patterns', () => {
    const { blob, caLine } = builtHostCertificate({ principals: ['*.example'] });
    assert.equal(judge(blob, caLine).status, 'trusted');
    assert.equal(judge(blob, caLine, 'host.other').status, 'unusable');
  });

  test('a host certificate with no principals is refused', () => {
    const { blob, caLine } = builtHostCertificate({ principals: [] });
    const verdict = judge(blob, caLine);
    assert.equal(verdict.status, 'unusable');
    assert.match(verdict.status === 'unusable' ? verdict.reason : '', /names no host/);
  });

  test('a host certificate with critical options is refused', () => {
    const { blob, caLine } = builtHostCertificate({ criticalOptions: ['force-command'] });
    const verdict = judge(blob, caLine);
    assert.match(verdict.status === 'unusable' ? verdict.reason : '', /critical options \(force-command\)/);
  });

  test('a revoked certified key refuses the host', () => {
    const { blob, caLine } = builtHostCertificate({});
    const certifiedKey = parseCertificate(blob).publicKey.toString('base64');
    assert.equal(judge(blob, `${caLine}\n@revoked * ssh-ed25519 ${certifiedKey}`).status, 'revoked');
  });

  test('a user certificate presented as a host key is not trusted', () => {
    const entries = parseKnownHosts('', 'known_hosts');
    const verdict = judgeHostCertificate(
      keygenCertificate('ed25519', false),
      entries,
      [],
      'a',
      Date.now() / 1000,
    );
    assert.match(verdict.status === 'unusable' ? verdict.reason : '', /user certificate/);
  });

  test('a CA is consulted only when no plain key is recorded for the host', () => {
    const { caLine } = builtHostCertificate({});
    const withKey = parseKnownHosts(`${caLine}\nhost.example ssh-ed25519 AAAA`, 'known_hosts');
    assert.equal(authoritiesToConsult(withKey, ['host.example']).length, 0);
    const caOnly = parseKnownHosts(caLine, 'known_hosts');
    assert.equal(authoritiesToConsult(caOnly, ['host.example']).length, 1);
  });
});
