import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sudoPasswordKey } from '../../src/core/ssh/credentials';
import {
  SUDO_FAILURE_REASONS,
  SudoFailure,
  readSudoVerdict,
  sudoWords,
  type SudoFailureKind,
} from '../../src/core/ssh/sudoFailures';

test("sudo's words are read as what they mean, in the wording of sudo 1.8 and 1.9", () => {
  const cases: ReadonlyArray<readonly [string, number | undefined, string]> = [
    ['sudo: a password is required\n', 1, 'password-required'],
    [
      'Sorry, try again.\n\nsudo: no password was provided\nsudo: 1 incorrect password attempt\n',
      1,
      'wrong-password',
    ],
    ['sudo: 3 incorrect password attempts\n', 1, 'wrong-password'],
    ['sudo: sorry, you must have a tty to run sudo\n', 1, 'requiretty'],
    ['sudo: a terminal is required to read the password\n', 1, 'requiretty'],
    ['sudo: no tty present and no askpass program specified\n', 1, 'requiretty'],
    ['alice is not in the sudoers file.\n', 1, 'not-allowed'],
    ['alice is not in the sudoers file.  This incident will be reported.\n', 1, 'not-allowed'],
    [
      "Sorry, user alice is not allowed to execute '/usr/lib/openssh/sftp-server' as root on web1.\n",
      1,
      'not-allowed',
    ],
    ['Sorry, user alice may not run sudo on web1.\n', 1, 'not-allowed'],
    ['sudo: /usr/lib/openssh/sftp-server: command not found\n', 1, 'no-sftp-server'],
    ['sh: 1: sudo: not found\n', 127, 'sudo-missing'],
    ['bash: sudo: command not found\n', 127, 'sudo-missing'],
    [
      'sudo: unable to resolve host web1: Name or service not known\nsudo: PAM account management error\n',
      1,
      'other',
    ],
    ['', undefined, 'other'],
  ];
  for (const [stderr, exitCode, verdict] of cases) {
    assert.equal(readSudoVerdict(stderr, exitCode), verdict, stderr);
  }
});

test('a wrong password followed by "not allowed" is not allowed: sudo checks the rules once the password is right', () => {
  assert.equal(readSudoVerdict('Sorry, try again.\nalice is not in the sudoers file.\n', 1), 'not-allowed');
});

test('every sudo failure has a sentence that names the host and says what to do, without errno codes', () => {
  for (const kind of Object.keys(SUDO_FAILURE_REASONS) as SudoFailureKind[]) {
    const { message } = new SudoFailure(kind, { user: 'alice', host: 'web1', detail: 'what sudo said' });
    assert.match(message, /^Cannot open files as root: /, kind);
    assert.match(message, /web1/, `${kind}: ${message}`);
    assert.doesNotMatch(message, /\bE[A-Z0-9_]{3,}\b/, `${kind}: ${message}`);
  }
});

test('the error code of a sudo failure decides how VS Code treats it: refused rights are NoPermissions, a wrong password is an authentication failure', () => {
  assert.equal(new SudoFailure('not-allowed', { user: 'a', host: 'h' }).code, 'EACCES');
  assert.equal(new SudoFailure('wrong-password', { user: 'a', host: 'h' }).code, 'EAUTH');
  assert.equal(new SudoFailure('no-shell', { user: 'a', host: 'h' }).code, 'EUNSUPPORTED');
  // Not ENOENT: VS Code would offer to create the file the user tried to open.
  assert.equal(new SudoFailure('no-sftp-server', { user: 'a', host: 'h' }).code, 'EUNSUPPORTED');
});

test("only sudo's complaints are shown: blank lines dropped, at most three lines", () => {
  assert.equal(
    sudoWords(
      'Sorry, try again.\n\nsudo: no password was provided\nsudo: 1 incorrect password attempt\nmore\n',
    ),
    'Sorry, try again. sudo: no password was provided sudo: 1 incorrect password attempt',
  );
});

test('a sudo password is remembered apart from the login password of the same account and server', () => {
  assert.equal(sudoPasswordKey('alice', 'Web1.example', 22), 'sudo:alice@web1.example:22');
  assert.equal(sudoPasswordKey('alice', '::1', 2222), 'sudo:alice@[::1]:2222');
});
