import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { openSudoSftp } from '../../src/core/ssh/sudoSftp';
import { RecordingLogger, rejectsWith, useSshd } from '../support/harness';
import { ScriptedPrompts, type PromptScript } from '../support/scriptedPrompts';
import { TEST_ACCOUNT, TEST_PASSWORD } from '../support/sshd';
import {
  NOPASSWD_SUDOER,
  SUDOER,
  TTY_SUDOER,
  installSudoRules,
  removeSudoRules,
  sudoUnavailable,
} from '../support/sudoAccounts';

/**
 * Files as root through sudo on the login's own connection (`alice;sudo@host`), against the real sshd
 * and Debian's sudo: a rule with a password, a NOPASSWD rule, an account without sudo, one whose sudo
 * wants a terminal, and an SFTP-only login.
 */
const h = useSshd();

/** GID of Debian's `adm` group, which owns logs and configuration only root and admins may read. */
const ADM_GID = 4;
const ORIGINAL = 'listen 80;\n';

interface Run {
  readonly manager: ConnectionManager;
  readonly prompts: ScriptedPrompts;
  readonly logger: RecordingLogger;
}

const runs: Run[] = [];

/** A manager of its own, with scripted prompts and a log recorded at Trace. */
function run(script: PromptScript = {}): Run {
  const logger = new RecordingLogger();
  const prompts = new ScriptedPrompts(script);
  const manager = new ConnectionManager({
    resolveHost: (authority) => h.sshd.resolve(authority),
    logger,
    prompts,
    fileSystem: { maxReadFileBytes: 16 * 1024 * 1024 },
  });
  const created = { manager, prompts, logger };
  runs.push(created);
  return created;
}

/** A root-owned folder with a `0640 root:adm` file in it, as /etc/nginx or /var/log have. */
function rootOwnedFile(name: string): { folder: string; file: string } {
  const folder = h.path(`as-root-${name}`);
  mkdirSync(folder, { mode: 0o755 });
  chownSync(folder, 0, 0);
  const file = `${folder}/app.conf`;
  writeFileSync(file, ORIGINAL);
  chownSync(file, 0, ADM_GID);
  chmodSync(file, 0o640);
  return { folder, file };
}

function assertNoSecretLogged(logger: RecordingLogger, ...secrets: string[]): void {
  assert.ok(logger.lines.length > 0, 'the log was recorded');
  assert.ok(
    logger.lines.some((line) => line.startsWith('trace ')),
    'the log was recorded at Trace level',
  );
  for (const secret of secrets) {
    const leaked = logger.lines.filter((line) => line.includes(secret));
    assert.deepEqual(leaked, [], 'the password appears in the log');
  }
}

describe('files as root through sudo', { skip: sudoUnavailable }, () => {
  before(() => installSudoRules());
  after(() => {
    for (const { manager } of runs) {
      manager.dispose();
    }
    removeSudoRules();
  });

  test('NOPASSWD: a 0640 root:adm file is read and saved as root on the same connection, owner, group and mode kept, nothing asked', async () => {
    const { file, folder } = rootOwnedFile('nopasswd');
    const { manager, prompts } = run();
    const login = `${NOPASSWD_SUDOER.name}@${h.sshd.alias}`;
    const asRoot = `${NOPASSWD_SUDOER.name};sudo@${h.sshd.alias}`;

    await rejectsWith(manager.fileSystem(login).readFile(file), 'EACCES');
    const root = manager.fileSystem(asRoot);
    assert.equal((await root.readFile(file)).toString(), ORIGINAL);
    await root.writeFile(file, Buffer.from('listen 8080;\n'), { create: false, overwrite: true });

    assert.equal(readFileSync(file, 'utf8'), 'listen 8080;\n');
    const after = statSync(file);
    assert.deepEqual(
      { uid: after.uid, gid: after.gid, mode: after.mode & 0o7777 },
      { uid: 0, gid: ADM_GID, mode: 0o640 },
    );
    assert.deepEqual(
      (await root.readDirectory(folder)).map(([name]) => name),
      ['app.conf'],
      'the save left no temporary behind',
    );
    assert.equal((await root.stat(file)).notWritable, undefined, 'root may write it');
    assert.equal(
      await manager.sshConnection(asRoot),
      await manager.sshConnection(login),
      'one SSH connection serves both',
    );
    assert.deepEqual(
      manager.knownHosts().map(({ authority }) => authority),
      [manager.keyOf(login)],
    );
    assert.deepEqual(prompts.events, [], 'no password was asked');
  });

  test('a rule with a password: asked once, hidden, for sudo; the file is saved; the password is in no log line at Trace', async () => {
    const { file } = rootOwnedFile('password');
    const { manager, prompts, logger } = run({ passwords: [SUDOER.password] });
    const root = manager.fileSystem(`${SUDOER.name};sudo@${h.sshd.alias}`);

    // VS Code asks several things at once when it opens a file: one prompt serves them all.
    const [content] = await Promise.all([root.readFile(file), root.stat(file), root.stat(file)]);
    assert.equal(content.toString(), ORIGINAL);
    await root.writeFile(file, Buffer.from('listen 443 ssl;\n'), { create: false, overwrite: true });

    assert.equal(readFileSync(file, 'utf8'), 'listen 443 ssl;\n');
    const after = statSync(file);
    assert.deepEqual(
      { uid: after.uid, gid: after.gid, mode: after.mode & 0o7777 },
      { uid: 0, gid: ADM_GID, mode: 0o640 },
    );
    assert.deepEqual(prompts.events, ['password', 'password accepted']);
    assert.deepEqual(prompts.passwordRequests[0], {
      user: SUDOER.name,
      host: h.sshd.alias,
      key: `sudo:${SUDOER.name}@127.0.0.1:${h.sshd.port}`,
      attempt: 1,
      purpose: 'sudo',
    });
    assertNoSecretLogged(logger, SUDOER.password);
  });

  test('a wrong password is asked again, and a right one then works', async () => {
    const { file } = rootOwnedFile('retry');
    const { manager, prompts, logger } = run({ passwords: ['not-the-password', SUDOER.password] });
    const root = manager.fileSystem(`${SUDOER.name};sudo@${h.sshd.alias}`);

    assert.equal((await root.readFile(file)).toString(), ORIGINAL);
    assert.deepEqual(prompts.events, ['password', 'password rejected', 'password', 'password accepted']);
    assert.deepEqual(
      prompts.passwordRequests.map((request) => request.attempt),
      [1, 2],
    );
    assertNoSecretLogged(logger, SUDOER.password, 'not-the-password');
  });

  test('three wrong passwords end with a message saying sudo refused the password', async () => {
    const { file } = rootOwnedFile('wrong');
    const wrong = ['wrong-1', 'wrong-2', 'wrong-3'];
    const { manager, prompts, logger } = run({ passwords: wrong });
    const root = manager.fileSystem(`${SUDOER.name};sudo@${h.sshd.alias}`);

    const error = await rejectsWith(root.readFile(file), 'EAUTH');
    assert.match(
      error.message,
      /^Cannot open files as root: sudo on \S+ refused the password of sftpfs-sudoer three times/,
    );
    assert.deepEqual(prompts.events, [
      'password',
      'password rejected',
      'password',
      'password rejected',
      'password',
      'password rejected',
    ]);
    assertNoSecretLogged(logger, ...wrong);
  });

  test('an account without sudo rights is told it may not run the SFTP server as root', async () => {
    const { file } = rootOwnedFile('no-sudo');
    const { manager, logger } = run({ passwords: [TEST_PASSWORD] });
    const root = manager.fileSystem(`${TEST_ACCOUNT};sudo@${h.sshd.alias}`);

    const error = await rejectsWith(root.readFile(file), 'EACCES');
    assert.match(error.message, /may not run the SFTP server as root with sudo/);
    assert.match(error.message, /not in the sudoers file/, "sudo's own words are kept");
    assertNoSecretLogged(logger, TEST_PASSWORD);
  });

  test('an SFTP-only account is told it has no shell, without being asked for a password', async () => {
    const { file } = rootOwnedFile('sftp-only');
    const { manager, prompts } = run({ passwords: [SUDOER.password] });
    const root = manager.fileSystem(`${SUDOER.name};sudo@${h.sshd.readOnlyAlias}`);

    const error = await rejectsWith(root.readFile(file), 'EUNSUPPORTED');
    assert.match(error.message, /has no shell \(an SFTP-only account\)/);
    assert.deepEqual(prompts.events, []);
  });

  test('sudo that requires a terminal (Defaults requiretty) is named, with the sudoers line that allows it', async () => {
    const { file } = rootOwnedFile('requiretty');
    const { manager } = run();
    const root = manager.fileSystem(`${TTY_SUDOER.name};sudo@${h.sshd.alias}`);

    const error = await rejectsWith(root.readFile(file), 'EUNSUPPORTED');
    assert.match(error.message, /runs only from a terminal \(Defaults requiretty\)/);
    assert.match(error.message, /Defaults:sftpfs-sudo-tty !requiretty/);
  });

  test('a server without the SFTP server program says where it looked', async () => {
    const { manager, logger } = run();
    const connection = await manager.sshConnection(`${NOPASSWD_SUDOER.name}@${h.sshd.alias}`);
    const error = await rejectsWith(
      openSudoSftp(connection, {
        logger,
        hostLabel: h.sshd.alias,
        passwordKey: 'sudo:test',
        sftpServerPaths: ['/nonexistent/openssh/sftp-server'],
      }),
      'EUNSUPPORTED',
    );
    assert.match(
      error.message,
      /no SFTP server program was found .* \(looked for \/nonexistent\/openssh\/sftp-server\)/,
    );
  });

  test('after the connection drops, the next operation starts sudo again on the new connection', async () => {
    const { file } = rootOwnedFile('reconnect');
    const { manager } = run();
    const root = manager.fileSystem(`${NOPASSWD_SUDOER.name};sudo@${h.sshd.alias}`);
    assert.equal((await root.readFile(file)).toString(), ORIGINAL);
    const before = await manager.sshConnection(`${NOPASSWD_SUDOER.name};sudo@${h.sshd.alias}`);

    h.sshd.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await root.readFile(file)).toString(), ORIGINAL);
    assert.notEqual(await manager.sshConnection(`${NOPASSWD_SUDOER.name};sudo@${h.sshd.alias}`), before);
  });
});
