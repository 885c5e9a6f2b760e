import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import { guardCommand, type CommandFailureSink } from '../../src/ui/commandErrorPolicy';

/** A sink that records what the user would see and what the log would keep. */
function recordingSink(
  shownBefore: string[] = [],
): CommandFailureSink & { shown: string[]; logged: string[] } {
  const shown: string[] = [];
  const logged: string[] = [];
  return {
    shown,
    logged,
    log: (line) => logged.push(line),
    show: (message) => shown.push(message),
    alreadyShown: (message) => shownBefore.includes(message),
  };
}

test('a command that rejects resolves undefined and its message is shown once and logged', async () => {
  const sink = recordingSink();
  const command = guardCommand(
    'sftpfs.findFile',
    async () => {
      throw new RemoteFsError('EFAILURE', 'Searching on the server failed: cd: permission denied');
    },
    sink,
  );
  assert.equal(await command(), undefined);
  assert.deepEqual(sink.shown, ['Searching on the server failed: cd: permission denied']);
  assert.deepEqual(sink.logged, [
    'sftpfs.findFile failed: Searching on the server failed: cd: permission denied',
  ]);
});

test('a command that throws before its first await does not throw back into VS Code either', async () => {
  const sink = recordingSink();
  const command = guardCommand(
    'sftpfs.upload',
    () => {
      throw new Error('no folder');
    },
    sink,
  );
  await assert.doesNotReject(async () => command());
  assert.deepEqual(sink.shown, ['no folder']);
});

test('a command that succeeds answers its value, with its arguments passed on, and shows nothing', async () => {
  const sink = recordingSink();
  const command = guardCommand('sftpfs.copyRemotePath', (a: number, b: number) => a + b, sink);
  assert.equal(await command(2, 3), 5);
  assert.deepEqual([sink.shown, sink.logged], [[], []]);
});

test('a cancelled command says nothing and logs nothing', async () => {
  const sink = recordingSink();
  const command = guardCommand(
    'sftpfs.download',
    () => Promise.reject(new RemoteFsError('ECANCELED', 'Cancelled')),
    sink,
  );
  assert.equal(await command(), undefined);
  assert.deepEqual([sink.shown, sink.logged], [[], []]);
});

test('a connection failure already shown as a notification is only logged, not shown again', async () => {
  const message = 'Cannot connect to pi: nothing is listening on port 22';
  const sink = recordingSink([message]);
  const command = guardCommand('sftpfs.reconnect', () => Promise.reject(new Error(message)), sink);
  await command();
  assert.deepEqual(sink.shown, []);
  assert.deepEqual(sink.logged, [`sftpfs.reconnect failed: ${message}`]);
});
