import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { RecordingLogger, rejectsWith } from '../support/harness';
import { HostileSftpServer, generateHostKey } from '../support/hostileSftpServer';
import { ScriptedPrompts, type PromptScript } from '../support/scriptedPrompts';

/**
 * No credential, and no authentication request at all, reaches a server whose host key was not
 * accepted. The server here records every USERAUTH request it receives, so the test sees from the
 * server's side what was sent, whatever path the client's code took.
 */
describe('host key verification comes before any authentication', () => {
  const state = {} as { server: HostileSftpServer; dir: string; otherKey: string };
  const managers: ConnectionManager[] = [];

  before(async () => {
    state.server = await HostileSftpServer.start();
    state.dir = mkdtempSync(join(tmpdir(), 'sftpfs-hostkey-gate-'));
    state.otherKey = generateHostKey().publicLine;
  });
  after(async () => {
    for (const manager of managers) {
      manager.dispose();
    }
    await state.server?.close();
    rmSync(state.dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    state.server.authMethods.length = 0;
  });

  function connectWith(
    knownHostsLine: string,
    strict: string,
    script: PromptScript = {},
  ): { stat: Promise<unknown>; prompts: ScriptedPrompts } {
    const prompts = new ScriptedPrompts({ passwords: [state.server.password], ...script });
    const manager = new ConnectionManager({
      resolveHost: state.server.clientConfig(state.dir, { knownHostsLine, strict }),
      logger: new RecordingLogger(),
      prompts,
      fileSystem: { maxReadFileBytes: 1024 * 1024 },
      lifecycle: { idleTimeoutMs: 0, maxReconnectAttempts: 0 },
    });
    managers.push(manager);
    return { stat: manager.fileSystem('hostile').stat('/home/tester/hello.txt'), prompts };
  }

  const known = (): string => `[127.0.0.1]:${state.server.port} ${state.server.hostPublicKey}\n`;
  const changed = (): string => `[127.0.0.1]:${state.server.port} ${state.otherKey}\n`;

  test('the control: a known key leads to password authentication and a working call', async () => {
    await connectWith(known(), 'yes').stat;
    assert.ok(
      state.server.authMethods.includes('password'),
      `methods seen: ${state.server.authMethods.join()}`,
    );
  });

  test('an unknown key with StrictHostKeyChecking yes: refused, and the server sees no authentication request', async () => {
    await rejectsWith(connectWith('', 'yes').stat, 'EHOSTKEY');
    assert.deepEqual(state.server.authMethods, []);
  });

  test('an unknown key the user refuses after a while: nothing is sent while the prompt is open, nor after', async () => {
    const { stat, prompts } = connectWith('', 'ask', {
      acceptUnknownHostKey: false,
      hostKeyAnswerDelayMs: 400,
    });
    await rejectsWith(stat, 'EHOSTKEY');
    assert.equal(prompts.hostKeysShown.length, 1);
    assert.deepEqual(state.server.authMethods, []);
    assert.deepEqual(prompts.events, ['hostkey']);
  });

  for (const strict of ['yes', 'ask', 'accept-new']) {
    test(`a changed key with StrictHostKeyChecking ${strict}: refused without a prompt or an authentication request`, async () => {
      const { stat, prompts } = connectWith(changed(), strict, { acceptUnknownHostKey: true });
      const error = await rejectsWith(stat, 'EHOSTKEY');
      assert.match(error.message, /has changed/);
      assert.deepEqual(prompts.hostKeysShown, []);
      assert.deepEqual(state.server.authMethods, []);
    });
  }

  test('a revoked key: refused, and the server sees no authentication request', async () => {
    const revoked = `@revoked [127.0.0.1]:${state.server.port} ${state.server.hostPublicKey}\n`;
    await rejectsWith(connectWith(revoked + known(), 'ask', { acceptUnknownHostKey: true }).stat, 'EHOSTKEY');
    assert.deepEqual(state.server.authMethods, []);
  });

  test('a changed key with StrictHostKeyChecking no: connecting goes on, but no password is ever offered', async () => {
    const { stat, prompts } = connectWith(changed(), 'no');
    await rejectsWith(stat, 'EAUTH');
    assert.equal(state.server.authMethods.includes('password'), false, state.server.authMethods.join());
    assert.equal(prompts.events.includes('password'), false, 'the password was not even asked for');
  });
});
