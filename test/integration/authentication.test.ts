import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { ResolvedHost } from '../../src/core/config/hostResolver';
import { RecordingLogger, rejectsWith } from '../support/harness';
import { ScriptedPrompts, type PromptScript } from '../support/scriptedPrompts';
import { TEST_PASSWORD, canManageAccounts, startSshd, type SshdFixture } from '../support/sshd';

const needsRoot = canManageAccounts ? false : 'needs root to set the test account password';

/** One sshd with the given settings for the tests of a describe block. */
function sshdWith(config: string[]): { readonly sshd: SshdFixture } {
  const state = {} as { sshd: SshdFixture };
  before(async () => {
    state.sshd = await startSshd({ config });
  });
  after(async () => {
    await state.sshd?.stop();
  });
  return state;
}

interface Attempt {
  readonly prompts: ScriptedPrompts;
  readonly logger: RecordingLogger;
  /** Logs in, runs `andThen` on the live connection, and closes it. */
  connect(andThen?: (manager: ConnectionManager) => Promise<void>): Promise<unknown>;
}

function attempt(
  sshd: SshdFixture,
  script: PromptScript,
  adjust: (host: ResolvedHost) => ResolvedHost = (h) => h,
): Attempt {
  const prompts = new ScriptedPrompts(script);
  const logger = new RecordingLogger();
  return {
    prompts,
    logger,
    async connect(andThen) {
      const manager = new ConnectionManager({
        resolveHost: (authority) => adjust(sshd.resolve(authority)),
        logger,
        prompts,
        fileSystem: { maxReadFileBytes: 1 << 20 },
      });
      try {
        const session = await manager.session(sshd.alias);
        await andThen?.(manager);
        return await session.realpath('.');
      } finally {
        manager.dispose();
      }
    },
  };
}

const noKeys = (host: ResolvedHost): ResolvedHost => ({ ...host, identityFiles: [], agentSocket: undefined });

describe('password authentication', { skip: needsRoot }, () => {
  const s = sshdWith(['PasswordAuthentication yes']);

  test('asks for the password and reports it accepted', async () => {
    const a = attempt(s.sshd, { passwords: [TEST_PASSWORD] }, noKeys);
    await a.connect();
    assert.deepEqual(a.prompts.events, ['password', 'password accepted']);
  });

  test('asks again after a wrong password, reporting the wrong one rejected', async () => {
    const a = attempt(s.sshd, { passwords: ['wrong', TEST_PASSWORD] }, noKeys);
    await a.connect();
    assert.deepEqual(a.prompts.events, ['password', 'password rejected', 'password', 'password accepted']);
  });

  test('gives up after three wrong passwords', async () => {
    const a = attempt(s.sshd, { passwords: ['a', 'b', 'c', TEST_PASSWORD] }, noKeys);
    const error = await rejectsWith(a.connect(), 'EAUTH');
    assert.equal(a.prompts.events.filter((e) => e === 'password').length, 3);
    assert.match(error.message, /a password/);
  });

  test('ends with a clear message when the user cancels the prompt', async () => {
    const a = attempt(s.sshd, { passwords: [undefined] }, noKeys);
    const error = await rejectsWith(a.connect(), 'EAUTH');
    assert.match(error.message, /cancelled/);
    assert.deepEqual(a.prompts.events, ['password']);
  });

  test('no password reaches the log (at Trace, with the SSH exchange) or an error, through login, save and failure', async () => {
    const secrets = [TEST_PASSWORD, 'Wrong-Guess-1', 'Wrong-Guess-2', 'Wrong-Guess-3', 'Wrong-Guess-4'];
    const said: string[] = [];
    // A wrong guess, the right one, then a save and a failing operation on the live connection.
    const a = attempt(s.sshd, { passwords: ['Wrong-Guess-1', TEST_PASSWORD] }, noKeys);
    await a.connect(async (manager) => {
      const fs = manager.fileSystem(s.sshd.alias);
      await fs.writeFile(s.sshd.local('secret-scan.txt'), Buffer.from('saved'), {
        create: true,
        overwrite: true,
      });
      said.push((await rejectsWith(fs.readFile(s.sshd.local('missing.txt')), 'ENOENT')).message);
    });
    // A login that fails: three wrong guesses.
    const failing = attempt(
      s.sshd,
      { passwords: ['Wrong-Guess-2', 'Wrong-Guess-3', 'Wrong-Guess-4'] },
      noKeys,
    );
    const error = await rejectsWith(failing.connect(), 'EAUTH');
    said.push(error.message, String(error.cause ?? ''), error.stack ?? '');
    const logged = [...a.logger.lines, ...failing.logger.lines];
    assert.ok(
      logged.some((line) => line.includes('ssh2: ')),
      'the SSH exchange was traced',
    );
    assert.ok(
      logged.some((line) => /password/i.test(line)),
      'password login was traced',
    );
    for (const secret of secrets) {
      assert.ok(!logged.some((line) => line.includes(secret)), `${secret} appears in the log`);
      assert.ok(!said.some((text) => text.includes(secret)), `${secret} appears in an error`);
    }
  });
});

describe('keyboard-interactive through PAM', { skip: needsRoot }, () => {
  const s = sshdWith(['UsePAM yes', 'KbdInteractiveAuthentication yes', 'PasswordAuthentication no']);

  test('shows the server prompt as sent, hiding the answer, and logs in', async () => {
    const a = attempt(s.sshd, { keyboard: [(prompts) => prompts.map(() => TEST_PASSWORD)] }, noKeys);
    await a.connect();
    assert.equal(a.prompts.keyboardPromptsShown.length, 1);
    const [shown] = a.prompts.keyboardPromptsShown;
    assert.match(shown?.[0]?.prompt ?? '', /password/i);
    assert.equal(shown?.[0]?.echo, false);
  });

  test('cancelling at the server prompt ends the attempt with a clear message', async () => {
    const a = attempt(s.sshd, { keyboard: [() => undefined] }, noKeys);
    const error = await rejectsWith(a.connect(), 'EAUTH');
    assert.match(error.message, /cancelled/);
  });
});

describe(
  'two-step login: key, then password (AuthenticationMethods publickey,password)',
  { skip: needsRoot },
  () => {
    const s = sshdWith(['PasswordAuthentication yes', 'AuthenticationMethods publickey,password']);

    test('offers the key first, then asks for the password the server still wants', async () => {
      const a = attempt(s.sshd, { passwords: [TEST_PASSWORD] });
      await a.connect();
      assert.deepEqual(a.prompts.events, ['password', 'password accepted']);
      const tried = a.logger.lines.filter((line) => line.includes('Trying '));
      assert.match(tried[0] ?? '', /the key/);
      assert.match(tried[1] ?? '', /a password/);
    });
  },
);

describe('encrypted keys', () => {
  const s = sshdWith([]);

  function encryptedCopyOfClientKey(sshd: SshdFixture, passphrase: string): string {
    const copy = join(sshd.dir, `client_encrypted_${Math.random().toString(36).slice(2)}`);
    writeFileSync(copy, readFileSync(sshd.clientKey), { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-p', '-N', passphrase, '-f', copy]);
    return copy;
  }

  test('asks for the passphrase when the key is needed, and logs in', async () => {
    const key = encryptedCopyOfClientKey(s.sshd, 'open sesame');
    const a = attempt(s.sshd, { passphrases: ['open sesame'] }, (h) => ({ ...h, identityFiles: [key] }));
    await a.connect();
    assert.deepEqual(a.prompts.events, ['passphrase', 'passphrase accepted']);
  });

  test('no passphrase reaches the log or an error, whether it is right or wrong', async () => {
    const key = encryptedCopyOfClientKey(s.sshd, 'Right-Phrase-9');
    const secrets = ['Right-Phrase-9', 'Wrong-Phrase-1', 'Wrong-Phrase-2', 'Wrong-Phrase-3'];
    const good = attempt(s.sshd, { passphrases: ['Wrong-Phrase-1', 'Right-Phrase-9'] }, (h) => ({
      ...h,
      identityFiles: [key],
    }));
    await good.connect();
    const bad = attempt(
      s.sshd,
      { passphrases: ['Wrong-Phrase-2', 'Wrong-Phrase-3', 'Wrong-Phrase-3'] },
      (h) => ({
        ...h,
        identityFiles: [key],
        agentSocket: undefined,
      }),
    );
    const error = await bad.connect().then(
      () => assert.fail('logged in without the passphrase'),
      (caught: unknown) => caught as Error,
    );
    const logged = [...good.logger.lines, ...bad.logger.lines];
    const said = [error.message, String(error.cause ?? ''), error.stack ?? ''];
    for (const secret of secrets) {
      assert.ok(!logged.some((line) => line.includes(secret)), `${secret} appears in the log`);
      assert.ok(!said.some((text) => text.includes(secret)), `${secret} appears in an error`);
    }
  });

  test('asks again after a wrong passphrase', async () => {
    const key = encryptedCopyOfClientKey(s.sshd, 'open sesame');
    const a = attempt(s.sshd, { passphrases: ['nope', 'open sesame'] }, (h) => ({
      ...h,
      identityFiles: [key],
    }));
    await a.connect();
    assert.deepEqual(a.prompts.events, [
      'passphrase',
      'passphrase rejected',
      'passphrase',
      'passphrase accepted',
    ]);
  });
});

describe('an SFTP-only account (ForceCommand internal-sftp)', () => {
  const s = sshdWith(['ForceCommand internal-sftp']);

  test('works without a shell, and the home folder comes from SFTP', async () => {
    const a = attempt(s.sshd, {});
    const home = await a.connect();
    assert.equal(typeof home, 'string');
    assert.ok(String(home).startsWith('/'));
  });
});

describe('unknown host keys under StrictHostKeyChecking ask', () => {
  const s = sshdWith([]);

  function askingWith(learned: string) {
    return (host: ResolvedHost): ResolvedHost => ({
      ...host,
      userKnownHostsFiles: [learned],
      globalKnownHostsFiles: [],
      strictHostKeyChecking: 'ask',
    });
  }

  test('shows key type and SHA256 fingerprint before any credential, and records the key when accepted', async () => {
    const learned = join(s.sshd.dir, 'known_hosts_ask_accept');
    const a = attempt(s.sshd, { acceptUnknownHostKey: true, passwords: [] }, askingWith(learned));
    await a.connect();
    const [shown] = a.prompts.hostKeysShown;
    assert.equal(shown?.keyType, 'ssh-ed25519');
    assert.match(shown?.fingerprint ?? '', /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(a.prompts.events[0], 'hostkey');
    assert.ok(readFileSync(learned, 'utf8').includes(s.sshd.hostPublicKey));
  });

  test('refuses, asking for nothing else, when the key is declined', async () => {
    const learned = join(s.sshd.dir, 'known_hosts_ask_decline');
    const a = attempt(
      s.sshd,
      { acceptUnknownHostKey: false, passwords: [TEST_PASSWORD] },
      askingWith(learned),
    );
    const error = await rejectsWith(a.connect(), 'EHOSTKEY');
    assert.match(error.message, /not accepted/);
    assert.deepEqual(a.prompts.events, ['hostkey']);
  });
});

describe('a changed host key under StrictHostKeyChecking no', { skip: needsRoot }, () => {
  const s = sshdWith(['PasswordAuthentication yes']);

  test('connects with a key but never sends a password, as OpenSSH', async () => {
    const changed = join(s.sshd.dir, 'known_hosts_changed_no');
    const other = join(s.sshd.dir, 'other_key_no');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    writeFileSync(
      changed,
      `[127.0.0.1]:${s.sshd.port} ${readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
    );
    const relaxed = (host: ResolvedHost): ResolvedHost => ({
      ...host,
      userKnownHostsFiles: [changed],
      globalKnownHostsFiles: [],
      strictHostKeyChecking: 'no',
    });
    const withKey = attempt(s.sshd, {}, relaxed);
    await withKey.connect();
    assert.ok(withKey.logger.lines.some((line) => line.startsWith('warn') && line.includes('has changed')));

    const withPassword = attempt(s.sshd, { passwords: [TEST_PASSWORD] }, (h) => noKeys(relaxed(h)));
    await rejectsWith(withPassword.connect(), 'EAUTH');
    assert.deepEqual(withPassword.prompts.events, []);
  });
});
