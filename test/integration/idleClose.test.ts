import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { loginShellIn, runCommand } from '../../src/core/ssh/remoteCommand';
import type { RemoteChange } from '../../src/core/watch/pollingWatcher';
import { WatchService } from '../../src/core/watch/watchService';
import { RecordingLogger } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * The idle close, with a short idle time: what keeps a host open (a terminal, a command, a watched
 * workspace folder) and what does not (polling, a watched file), and watches after an idle close.
 */
const IDLE_MS = 400;

const state = {} as {
  sshd: SshdFixture;
  manager: ConnectionManager;
  logger: RecordingLogger;
  states: string[];
};
before(async () => {
  state.sshd = await startSshd();
});
after(async () => {
  await state.sshd?.stop();
});
/** A manager of its own for each test, so no connection or idle timer carries over. */
function connections(): ConnectionManager {
  state.logger = new RecordingLogger();
  state.states = [];
  state.manager = new ConnectionManager({
    resolveHost: (authority) => state.sshd.resolve(authority),
    logger: state.logger,
    fileSystem: { maxReadFileBytes: 1 << 20 },
    lifecycle: { idleTimeoutMs: IDLE_MS, reconnectDelaysMs: [100], maxReconnectAttempts: 3 },
  });
  state.manager.onDidChangeState((change) => state.states.push(change.state));
  return state.manager;
}
afterEach(() => {
  state.manager?.dispose();
});

const alias = (): string => state.sshd.alias;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: not in time; log: ${state.logger.lines.slice(-6).join(' | ')}`);
    }
    await sleep(20);
  }
}

function watchService(m: ConnectionManager, options: { inotify: boolean }) {
  const service = new WatchService(m, state.logger, {
    intervalMs: () => 100,
    maxEntries: () => 10_000,
    useInotify: () => options.inotify,
  });
  const seen: RemoteChange[] = [];
  service.onDidChange(({ changes }) => seen.push(...changes));
  return { service, seen };
}

const inotifyRunning = (path: string): number =>
  state.logger.lines.filter((line) => line.includes(`Watching ${path} with inotifywait`)).length;

describe('idle close', () => {
  test('an open terminal keeps the connection open; once it ends, the idle close comes', async () => {
    const m = connections();
    const connection = await m.sshConnection(alias());
    const terminal = await connection.exec(loginShellIn(state.sshd.root), {
      term: 'xterm',
      cols: 80,
      rows: 24,
    });
    terminal.resume(); // its output is read, as the terminal in the editor does
    await sleep(IDLE_MS * 4);
    assert.equal(m.state(alias()), 'connected', 'the terminal was closed by the idle close');
    terminal.close(); // as Open SSH Terminal Here does when the user closes the terminal
    await until('the idle close after the terminal ended', () => m.state(alias()) === 'disconnected');
  });

  test('a command that runs longer than the idle time is not cut off', async () => {
    const m = connections();
    const connection = await m.sshConnection(alias());
    const result = await runCommand(connection, `sleep ${(IDLE_MS * 4) / 1000}; echo done`);
    assert.equal(result.stdout.toString().trim(), 'done');
    assert.equal(result.stopped, false);
    assert.ok(!state.states.includes('disconnected'), 'closed while the command ran');
    await until('the idle close after the command', () => m.state(alias()) === 'disconnected');
  });

  for (const inotify of [false, true]) {
    test(`a watched workspace folder keeps the connection open (${inotify ? 'inotifywait' : 'polling'}); a watched file alone does not`, async () => {
      const m = connections();
      const folder = state.sshd.mkdirLocal(`idle-folder-${inotify}`);
      const file = state.sshd.writeLocal(`idle-file-${inotify}.txt`, 'x');
      await m.fileSystem(alias()).stat(folder);
      const { service } = watchService(m, { inotify });
      const fileWatch = service.watch(alias(), file, { recursive: false, excludes: [] });
      const folderWatch = service.watch(alias(), folder, { recursive: true, excludes: [] });
      if (inotify) {
        await until('inotifywait running', () => inotifyRunning(folder) === 1);
      }
      await sleep(IDLE_MS * 4);
      assert.equal(m.state(alias()), 'connected', 'closed while a workspace folder was watched');
      folderWatch.dispose();
      // Polling every 100 ms, or an inotifywait channel, is the watch's own work, not use.
      await until('the idle close with only a file watched', () => m.state(alias()) === 'disconnected');
      fileWatch.dispose();
      service.dispose();
    });

    test(`after an idle close, a watched file's change made meanwhile is reported once the connection is back (${inotify ? 'inotifywait' : 'polling'})`, async () => {
      const m = connections();
      const file = state.sshd.writeLocal(`idle-later-${inotify}.txt`, 'one');
      const fs = m.fileSystem(alias());
      await fs.stat(file);
      const { service, seen } = watchService(m, { inotify });
      const watch = service.watch(alias(), file, { recursive: false, excludes: [] });
      if (inotify) {
        await until('inotifywait running', () => inotifyRunning(file) === 1);
      } else {
        await service.pollNow(alias()); // the baseline
      }
      await until('the idle close', () => m.state(alias()) === 'disconnected');
      writeFileSync(file, 'one, and two while the connection was closed');
      await sleep(300);
      assert.equal(seen.length, 0, 'nothing can be seen while closed');

      await fs.stat(state.sshd.root); // the user's next action opens the connection again
      await until('the change made meanwhile', () =>
        seen.some((change) => change.path === file && change.kind === 'changed'),
      );
      if (inotify) {
        await until('inotifywait back', () => inotifyRunning(file) === 2);
        writeFileSync(file, 'three, seen by inotifywait');
        const before = seen.length;
        await until('a change seen by inotifywait again', () => seen.length > before);
      }
      watch.dispose();
      service.dispose();
    });
  }
});
