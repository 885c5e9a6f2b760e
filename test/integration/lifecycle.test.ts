import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager, type ConnectionStateChange } from '../../src/core/connection/connectionManager';
import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import { RecordingLogger, patternBytes, rejectsWith } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

const state = {} as { sshd: SshdFixture };
before(async () => {
  state.sshd = await startSshd();
});
after(async () => {
  await state.sshd?.stop();
});

function manager(idleTimeoutMs = 0): {
  manager: ConnectionManager;
  states: string[];
  logger: RecordingLogger;
} {
  const logger = new RecordingLogger();
  const states: string[] = [];
  const connections = new ConnectionManager({
    resolveHost: (authority) => state.sshd.resolve(authority),
    logger,
    fileSystem: { maxReadFileBytes: 1 << 30 },
    session: { stallTimeoutMs: 1000 },
    lifecycle: { idleTimeoutMs, reconnectDelaysMs: [100, 200, 400], maxReconnectAttempts: 5 },
  });
  connections.onDidChangeState((change: ConnectionStateChange) => states.push(change.state));
  return { manager: connections, states, logger };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('condition not met in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const temporaries = (): string[] => readdirSync(state.sshd.root).filter((name) => name.includes(TEMP_MARKER));

describe('reconnecting', () => {
  test('reconnects in the background after the server drops the connection', async () => {
    const { manager: m, states } = manager();
    try {
      await m.session(state.sshd.alias);
      state.sshd.dropConnections();
      await until(() => states.filter((s) => s === 'connected').length === 2);
      assert.deepEqual(states, ['connecting', 'connected', 'reconnecting', 'connected']);
    } finally {
      m.dispose();
    }
  });

  test('a readFile interrupted by a drop completes on the new connection', async () => {
    const content = patternBytes(48 * 1024 * 1024, 21);
    state.sshd.writeLocal('big-read.bin', content);
    const { manager: m, logger } = manager();
    try {
      const fs = m.fileSystem(state.sshd.alias);
      await fs.stat(state.sshd.root);
      const read = fs.readFile(state.sshd.local('big-read.bin'));
      await new Promise((resolve) => setTimeout(resolve, 30));
      state.sshd.dropConnections();
      assert.ok(Buffer.from(await read).equals(content));
      assert.ok(
        logger.lines.some((line) => line.includes('was interrupted')),
        'the drop happened during the read',
      );
    } finally {
      m.dispose();
    }
  });

  test('an atomic save interrupted by a drop is retried, completes, and leaves no temporary', async () => {
    state.sshd.writeLocal('big-save.bin', 'old content');
    const next = patternBytes(48 * 1024 * 1024, 22);
    const { manager: m } = manager();
    try {
      const fs = m.fileSystem(state.sshd.alias);
      const save = fs.writeFile(state.sshd.local('big-save.bin'), next, { create: true, overwrite: true });
      await until(() => temporaries().length > 0);
      state.sshd.dropConnections();
      await save;
      assert.ok(readFileSync(state.sshd.local('big-save.bin')).equals(next));
      assert.deepEqual(temporaries(), []);
    } finally {
      m.dispose();
    }
  });

  test('after the server is restarted, the next operation reconnects by itself', async () => {
    state.sshd.writeLocal('survives-restart.txt', 'still here');
    const { manager: m } = manager();
    try {
      const fs = m.fileSystem(state.sshd.alias);
      await fs.stat(state.sshd.root);
      await state.sshd.restart();
      assert.equal(
        Buffer.from(await fs.readFile(state.sshd.local('survives-restart.txt'))).toString(),
        'still here',
      );
    } finally {
      m.dispose();
    }
  });

  test('a requested disconnect is not followed by a reconnect', async () => {
    const { manager: m, states } = manager();
    try {
      await m.session(state.sshd.alias);
      m.disconnect(state.sshd.alias);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(states, ['connecting', 'connected', 'disconnected']);
    } finally {
      m.dispose();
    }
  });
});

describe('Disconnect while connecting', () => {
  test('ends the attempt at once for its callers, and nothing connects or fails afterwards', async () => {
    // A port that accepts and never speaks: the connect attempt waits for the connect timeout.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const states: string[] = [];
    const m = new ConnectionManager({
      resolveHost: (authority) => ({ ...state.sshd.resolve(authority), port, connectTimeoutMs: 1500 }),
      logger: new RecordingLogger(),
      fileSystem: { maxReadFileBytes: 1 << 20 },
      lifecycle: { idleTimeoutMs: 0, reconnectDelaysMs: [100], maxReconnectAttempts: 3 },
    });
    m.onDidChangeState((change: ConnectionStateChange) => states.push(change.state));
    try {
      const connecting = m.session(state.sshd.alias);
      await until(() => states.includes('connecting'));
      const started = Date.now();
      m.disconnect(state.sshd.alias);
      const error = await rejectsWith(connecting, 'ECONNLOST');
      assert.match(error.message, /Disconnected as asked/);
      assert.ok(Date.now() - started < 500, 'the caller was told at once, not at the connect timeout');
      await new Promise((resolve) => setTimeout(resolve, 2500)); // past the connect timeout
      assert.deepEqual(states, ['connecting', 'disconnected']);
      assert.equal(m.state(state.sshd.alias), 'disconnected');
    } finally {
      m.dispose();
      silent.close();
    }
  });
});

describe('a hung server', () => {
  test('fails pending requests with ETIMEDOUT instead of hanging, then recovers', async () => {
    const { manager: m } = manager();
    const fs = m.fileSystem(state.sshd.alias);
    try {
      await fs.stat(state.sshd.root);
      state.sshd.freezeConnections(true);
      const started = Date.now();
      const error = await rejectsWith(fs.createDirectory(state.sshd.local('made-while-frozen')), 'ETIMEDOUT');
      assert.ok(Date.now() - started < 5000, 'it gave up within the stall timeout');
      assert.match(error.message, /stopped answering/);
      // The frozen connection is abandoned; a new one (served by a fresh process) works.
      assert.equal((await fs.stat(state.sshd.root)).type.kind, 'directory');
    } finally {
      state.sshd.freezeConnections(false);
      m.dispose();
    }
  });
});

describe('a busy server', () => {
  test('a request the server works on for several stall timeouts is waited for, while keepalives are answered', async () => {
    const { manager: m, logger } = manager();
    const pipe = state.sshd.local('busy-pipe');
    execFileSync('mkfifo', [pipe]);
    chownSync(pipe, state.sshd.uid, state.sshd.gid);
    try {
      const session = await m.session(state.sshd.alias);
      // Opening a FIFO blocks OpenSSH's sftp-server until someone writes to it: the server is busy,
      // not dead, for three seconds (three stall timeouts), then answers.
      const started = Date.now();
      const writer = setTimeout(() => {
        execFile('sh', ['-c', 'printf late > "$1"', 'sh', pipe], { timeout: 10_000 });
      }, 3000);
      const opened = await session.withFile(pipe, 'r', {}, () => Promise.resolve('opened'));
      clearTimeout(writer);
      assert.equal(opened, 'opened');
      assert.ok(Date.now() - started >= 2900, 'the open really waited for the writer');
      assert.ok(!session.isClosed, 'the session was not given up');
      assert.ok(
        logger.lines.some((line) => line.includes('alive and busy')),
        'the log says why it waited',
      );
    } finally {
      m.dispose();
    }
  });

  test('a request sent while the server is busy is not taken for a lost answer when the busy probe comes back first', async () => {
    const { manager: m, logger } = manager();
    const first = state.sshd.local('busy-first');
    const second = state.sshd.local('busy-second');
    for (const pipe of [first, second]) {
      execFileSync('mkfifo', [pipe]);
      chownSync(pipe, state.sshd.uid, state.sshd.gid);
    }
    const writeLater = (pipe: string, ms: number): NodeJS.Timeout =>
      setTimeout(() => execFile('sh', ['-c', 'printf late > "$1"', 'sh', pipe], { timeout: 10_000 }), ms);
    const writers: NodeJS.Timeout[] = [];
    try {
      const session = await m.session(state.sshd.alias);
      // sftp-server blocks on the first OPEN. After about a second the session asks whether it is busy
      // (a keepalive and a REALPATH, which waits behind the OPEN), and the second OPEN goes out after
      // that REALPATH. When the first FIFO is written, the server answers the first OPEN and the
      // REALPATH, while the second OPEN still blocks: it was sent after the REALPATH, so it is no lost
      // answer.
      const opened = session.withFile(first, 'r', {}, () => Promise.resolve('first'));
      writers.push(writeLater(first, 3600), writeLater(second, 5000));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.ok(
        logger.lines.some((line) => line.includes('alive and busy')),
        'the busy probe went out before the second request',
      );
      const openedLater = session.withFile(second, 'r', {}, () => Promise.resolve('second'));
      assert.deepEqual(await Promise.all([opened, openedLater]), ['first', 'second']);
      assert.ok(!session.isClosed, 'the session was not given up');
      assert.ok(!logger.lines.some((line) => line.includes('answers lost')), logger.lines.join('\n'));
    } finally {
      writers.forEach(clearTimeout);
      m.dispose();
      rmSync(first, { force: true });
      rmSync(second, { force: true });
    }
  });

  test('a server-side copy of a 1 GiB sparse file longer than the stall timeout completes', async () => {
    const { manager: m } = manager();
    const fs = m.fileSystem(state.sshd.alias);
    const source = state.sshd.writeLocal('sparse-source.bin', 'start');
    truncateSync(source, 1024 * 1024 * 1024);
    const target = state.sshd.local('sparse-copy.bin');
    try {
      const started = Date.now();
      await fs.copy(source, target, { overwrite: false });
      const took = Date.now() - started;
      assert.equal(statSync(target).size, 1024 * 1024 * 1024);
      console.log(`server-side copy of 1 GiB took ${took} ms (stall timeout 1000 ms)`);
    } finally {
      m.dispose();
      rmSync(source, { force: true });
      rmSync(target, { force: true });
    }
  });
});

describe('settings read when used', () => {
  test('a changed idle timeout applies to the connection already open', async () => {
    let idleTimeoutMs = 0;
    const states: string[] = [];
    const m = new ConnectionManager({
      resolveHost: (authority) => state.sshd.resolve(authority),
      logger: new RecordingLogger(),
      fileSystem: { maxReadFileBytes: 1 << 20 },
      lifecycle: {
        get idleTimeoutMs() {
          return idleTimeoutMs;
        },
      },
    });
    m.onDidChangeState((change: ConnectionStateChange) => states.push(change.state));
    try {
      const fs = m.fileSystem(state.sshd.alias);
      await fs.stat(state.sshd.root);
      idleTimeoutMs = 300; // as the setting is changed while connected
      await fs.stat(state.sshd.root);
      await until(() => states.includes('disconnected'), 5000);
    } finally {
      m.dispose();
    }
  });
});

describe('idle connections', () => {
  test('close after the idle time and reopen on the next operation', async () => {
    const { manager: m, states } = manager(300);
    try {
      const fs = m.fileSystem(state.sshd.alias);
      await fs.stat(state.sshd.root);
      await until(() => states.includes('disconnected'));
      await fs.stat(state.sshd.root);
      assert.deepEqual(states, ['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
    } finally {
      m.dispose();
    }
  });
});
