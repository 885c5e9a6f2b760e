import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import { nullLogger } from '../../src/core/common/logger';
import { resolveHost } from '../../src/core/config/hostResolver';
import { AuthPlanner } from '../../src/core/ssh/authPlanner';
import {
  CONNECT_FAILURE_REASONS,
  ConnectFailure,
  describeConnectFailure,
  socketFailureKind,
  userFacingConnectError,
  type ConnectFailureKind,
} from '../../src/core/ssh/connectFailures';

/** An errno-like token: what the user must not be shown (the log keeps them). */
const ERRNO = /\bE[A-Z0-9_]{3,}\b/;

const sentence = (kind: ConnectFailureKind, target = 'nosuchhost.invalid', detail?: string): string =>
  describeConnectFailure(
    new ConnectFailure(
      kind,
      {
        hostName: 'nosuchhost.invalid',
        port: 1,
        timeoutMs: 20_000,
        ...(detail === undefined ? {} : { detail }),
      },
      'technical text (ECONNREFUSED)',
    ),
    target,
  );

test('every kind of connection failure has a sentence in words, without errno codes', () => {
  for (const kind of Object.keys(CONNECT_FAILURE_REASONS) as ConnectFailureKind[]) {
    const text = sentence(kind);
    assert.match(text, /^Cannot connect to nosuchhost\.invalid: [a-z]/, kind);
    assert.doesNotMatch(text, ERRNO, `${kind}: ${text}`);
    assert.doesNotMatch(text, /: \.|: $/, `${kind} ends without a reason: ${text}`);
  }
});

test('a name that does not resolve says so', () => {
  assert.equal(sentence('unresolved'), 'Cannot connect to nosuchhost.invalid: the name does not resolve');
});

test('an alias whose HostName does not resolve names the HostName', () => {
  assert.equal(
    sentence('unresolved', 'work'),
    'Cannot connect to work: the name nosuchhost.invalid does not resolve',
  );
});

test('a refused connection says nothing is listening on the port', () => {
  assert.equal(sentence('refused'), 'Cannot connect to nosuchhost.invalid: nothing is listening on port 1');
});

test('a timeout names the seconds waited', () => {
  assert.equal(
    sentence('no-answer'),
    'Cannot connect to nosuchhost.invalid: the server did not answer within 20 s',
  );
  assert.match(
    sentence('silent'),
    /did not answer within 20 s \(port 1 accepted the connection but sent no SSH greeting\)/,
  );
});

test('a refused login lists what was tried and what the server accepts', () => {
  assert.equal(
    sentence(
      'login-refused',
      'pi',
      'tried the key ~/.ssh/id_ed25519; the server accepts publickey, password',
    ),
    'Cannot connect to pi: the server refused every key and password: tried the key ~/.ssh/id_ed25519; the server accepts publickey, password',
  );
});

test('socket errors map to kinds by errno, and unknown ones to a generic sentence', () => {
  assert.equal(socketFailureKind('ENOTFOUND'), 'unresolved');
  assert.equal(socketFailureKind('EAI_AGAIN'), 'unresolved');
  assert.equal(socketFailureKind('ECONNREFUSED'), 'refused');
  assert.equal(socketFailureKind('EHOSTUNREACH'), 'unreachable');
  assert.equal(socketFailureKind('ECONNRESET'), 'reset');
  assert.equal(socketFailureKind('EWHATEVER'), 'other');
  assert.equal(socketFailureKind(undefined), 'other');
});

test('each kind carries the core code the rest of the extension reacts to', () => {
  assert.equal(new ConnectFailure('login-refused', { hostName: 'h', port: 22 }, 'x').code, 'EAUTH');
  assert.equal(new ConnectFailure('refused', { hostName: 'h', port: 22 }, 'x').code, 'ECONNECT');
  assert.equal(new ConnectFailure('silent', { hostName: 'h', port: 22 }, 'x').code, 'ETIMEDOUT');
});

test('other errors keep their own words after one "Cannot connect to"', () => {
  assert.equal(
    describeConnectFailure(
      new RemoteFsError('EHOSTKEY', 'The host key of [127.0.0.1]:2222 has changed'),
      'box',
    ),
    'Cannot connect to box: the host key of [127.0.0.1]:2222 has changed',
  );
  assert.equal(
    describeConnectFailure(new Error('Cannot connect to box: already worded'), 'box'),
    'Cannot connect to box: already worded',
  );
  assert.equal(
    describeConnectFailure(new Error('SFTP subsystem refused'), 'box'),
    'Cannot connect to box: SFTP subsystem refused',
  );
});

test('the user-facing error keeps the code and the technical error as its cause', () => {
  const technical = new ConnectFailure(
    'refused',
    { hostName: 'h', port: 1 },
    'Could not connect to h:1 (ECONNREFUSED)',
  );
  const shown = userFacingConnectError(technical, 'h:1');
  assert.equal(shown.code, 'ECONNECT');
  assert.equal(shown.message, 'Cannot connect to h:1: nothing is listening on port 1');
  assert.equal(shown.cause, technical);
});

test('a failed login names missing key files, the missing agent and the methods the server accepts', async () => {
  const host = resolveHost(
    { user: 'bob', host: 'example', port: undefined },
    {
      configFiles: [],
      leadingConfig:
        'Host example\n  IdentityFile /nonexistent/id_ed25519\n  IdentityFile /nonexistent/id_rsa\n  IdentityAgent none\n',
      homeDir: '/nonexistent-home',
      environment: {},
    },
  );
  const planner = new AuthPlanner(host, undefined, nullLogger, () => undefined);
  assert.equal(await planner.next(null, false), false);
  assert.equal(await planner.next(['publickey', 'password'], false), false);
  const text = planner.describeAttempts();
  assert.match(text, /no usable key, agent or password could be offered/);
  assert.match(text, /the key files \/nonexistent\/id_ed25519, \/nonexistent\/id_rsa do not exist/);
  assert.match(text, /no SSH agent is running/);
  assert.match(text, /the server accepts publickey, password/);
  assert.doesNotMatch(text, ERRNO);
});
