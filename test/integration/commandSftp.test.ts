import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Server, type ServerChannel } from 'ssh2';

import { resolveHost } from '../../src/core/config/hostResolver';
import { CommandSftpFailure, SshConnection } from '../../src/core/ssh/sshConnection';
import { RecordingLogger } from '../support/harness';
import { generateHostKey } from '../support/hostileSftpServer';
import { ScriptedPrompts } from '../support/scriptedPrompts';

/**
 * SFTP over a command (what `sudo … sftp-server` needs), against an SSH server in this process whose
 * exec requests are scripted: the command's output can be timed exactly, as OpenSSH's cannot.
 */
type ExecScript = (stream: ServerChannel, command: string) => void;

/** SSH_FXP_VERSION 3 with no extensions: all an SFTP server must answer to INIT. */
const VERSION = Buffer.from([0, 0, 0, 5, 2, 0, 0, 0, 3]);
/** What the client's INIT looks like (length 5, type 1, version 3). */
const INIT = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]);

describe('SFTP over a command', () => {
  const hostKey = generateHostKey();
  let script: ExecScript = () => undefined;
  let server: Server;
  let dir: string;
  let connection: SshConnection;

  before(async () => {
    server = new Server({ hostKeys: [hostKey.privateKey] }, (client) => {
      client.on('authentication', (context) => context.accept());
      client.on('ready', () =>
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('exec', (accept, _reject, info) => script(accept(), info.command));
        }),
      );
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'sftpfs-command-sftp-'));
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey.publicLine}\n`);
    writeFileSync(
      join(dir, 'ssh_config'),
      [
        'Host scripted',
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        '  User tester',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        '  StrictHostKeyChecking yes',
        '  ConnectTimeout 2',
        '  PreferredAuthentications password',
        '',
      ].join('\n'),
    );
    const resolve = (authority: Parameters<typeof resolveHost>[0]) =>
      resolveHost(authority, { configFiles: [join(dir, 'ssh_config')], environment: {} });
    connection = await SshConnection.open(resolve({ user: undefined, host: 'scripted', port: undefined }), {
      logger: new RecordingLogger(),
      resolveHost: resolve,
      prompts: new ScriptedPrompts({ passwords: ['any password will do'] }),
    });
  });

  after(async () => {
    connection?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('a command that fails at once is reported with its stderr and exit status, not waited for', async () => {
    // Output, exit status and close leave in one burst: they can arrive with the exec's confirmation.
    script = (stream) => {
      stream.stderr.write('sudo: sorry, you must have a tty to run sudo\n');
      stream.exit(1);
      stream.end();
    };
    const started = Date.now();
    const error = await connection.openSftpOverCommand('exec sudo -n -- sftp-server').then(
      () => assert.fail('SFTP started'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof CommandSftpFailure, String(error));
    assert.equal(error.exitCode, 1);
    assert.match(error.stderr, /must have a tty/);
    assert.equal(error.timeoutMs, undefined);
    assert.ok(Date.now() - started < 1500, 'the failure was not found by the timeout');
  });

  test('the preamble reaches the command before INIT, and a startup banner before the command does not reach SFTP', async () => {
    let received = Buffer.alloc(0);
    let commandSeen = '';
    script = (stream, command) => {
      commandSeen = command;
      stream.write('Welcome to a chatty .bashrc\nsftpfs-sftp-start\n');
      stream.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 'secret\n'.length + INIT.length) {
          stream.write(VERSION);
        }
      });
    };
    const session = await connection.openSftpOverCommand(
      'exec sudo -S -p "" -- sftp-server',
      Buffer.from('secret\n'),
    );
    assert.deepEqual(received, Buffer.concat([Buffer.from('secret\n'), INIT]));
    assert.match(commandSeen, /^exec sh -c /, 'the script runs in sh whatever the login shell');
    assert.equal(session.isClosed, false);
    session.close();
  });

  test('a command that neither ends nor answers fails after the connect timeout', async () => {
    script = () => undefined;
    const error = await connection.openSftpOverCommand('exec sleep 600').then(
      () => assert.fail('SFTP started'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof CommandSftpFailure, String(error));
    assert.equal(error.timeoutMs, 2000);
    assert.equal(error.code, 'ETIMEDOUT');
  });
});
