import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import type { SftpSession } from '../../src/core/sftp/session';
import { ensureSharedAccounts, sharedAccountsUnavailable } from '../support/accounts';
import { FaultProxy } from '../support/faultProxy';
import {
  READER_THREAD_SCRIPT,
  RecordingLogger,
  managerThroughRelay,
  patternBytes,
  rejectsWith,
} from '../support/harness';
import {
  readInThread,
  readies,
  savedInThread,
  threadEnds,
  untilReady,
  warmedUp,
} from '../support/readerThreads';
import { ScriptedPrompts } from '../support/scriptedPrompts';
import { TEST_PASSWORD, canManageAccounts, startSshd, type SshdFixture } from '../support/sshd';

const MiB = 1024 * 1024;
const LARGE = 12 * MiB;
const OVERWRITE = { create: true, overwrite: true };

/** Our temporaries and backups left in the folder of `path` (their names carry the marker). */
const temporariesBeside = (path: string): string[] =>
  readdirSync(path.slice(0, path.lastIndexOf('/'))).filter((name) => name.includes('.sftpfs-'));

/** A manager with reader threads, reaching `state.sshd` through `state.relay`. */
const throughRelay = (
  state: { sshd: SshdFixture; relay: FaultProxy },
  logger: RecordingLogger,
): ConnectionManager =>
  managerThroughRelay(state.sshd, state.relay.port, { logger, readerThreadScript: READER_THREAD_SCRIPT });

describe('large reads through a reader thread with a connection of its own', () => {
  const state = {} as { sshd: SshdFixture };
  before(async () => {
    state.sshd = await startSshd();
  });
  after(async () => {
    await state.sshd?.stop();
  });

  /** A manager whose reader thread is allowed while `allowed()` says so (as the setting does). */
  function manager(
    logger: RecordingLogger,
    allowed: () => boolean = () => true,
    lifecycle: { readerThreadIdleMs?: number } = {},
  ): ConnectionManager {
    return new ConnectionManager({
      resolveHost: (authority) => state.sshd.resolve(authority),
      logger,
      fileSystem: { maxReadFileBytes: 256 * MiB },
      lifecycle,
      get readerThreadScript() {
        return allowed() ? READER_THREAD_SCRIPT : undefined;
      },
    });
  }

  /** Runs `body` once a fresh manager's thread is ready, `name` (holding `content`) read once to start it. */
  async function withReadyThread(
    name: string,
    content: Buffer,
    body: (ready: { fs: RemoteFileSystem; path: string; logger: RecordingLogger }) => Promise<void>,
  ): Promise<void> {
    const logger = new RecordingLogger();
    const connections = manager(logger);
    try {
      await body({ ...(await warmedUp(state.sshd, connections, logger, name, content)), logger });
    } finally {
      connections.dispose();
    }
  }

  test('a large read on a fast line is read by the thread byte for byte; a small one stays on the connection', async () => {
    const logger = new RecordingLogger();
    const connections = manager(logger);
    try {
      const large = patternBytes(LARGE + 12345, 31);
      const small = patternBytes(MiB, 32);
      const { fs, path: largePath } = await warmedUp(
        state.sshd,
        connections,
        logger,
        'thread-large.bin',
        large,
      );
      const smallPath = state.sshd.writeLocal('thread-small.bin', small);

      assert.ok(Buffer.from(await fs.readFile(largePath)).equals(large));
      assert.ok(readInThread(logger, largePath), 'the second large read went through the thread');
      assert.ok(Buffer.from(await fs.readFile(smallPath)).equals(small));
      assert.equal(readInThread(logger, smallPath), false, 'a 1 MiB read stays on the connection');
      assert.ok(
        logger.lines.some((line) => line.includes('Reader thread: Connected to')),
        "the thread's own login is in the connection's log",
      );
    } finally {
      connections.dispose();
    }
  });

  test('a large save is made by the thread byte for byte, keeping the mode and the attributes VS Code stats next; a small one and a create-only one stay on the connection', () =>
    withReadyThread('thread-save.bin', patternBytes(LARGE, 50), async ({ fs, path, logger }) => {
      chmodSync(path, 0o640);
      const saved = patternBytes(LARGE + 4321, 51);
      await fs.writeFile(path, saved, OVERWRITE);
      assert.ok(savedInThread(logger, path), 'the large save went to the thread');
      assert.match(logger.lines.join('\n'), /Reader thread: Saved .*thread-save\.bin by replacing it/);
      assert.ok(readFileSync(path).equals(saved));
      assert.equal(statSync(path).mode & 0o7777, 0o640, 'the mode is kept');
      // The stat VS Code makes right after a save is answered from what the thread's save learnt:
      // a time set on the server meanwhile is not seen yet.
      utimesSync(path, new Date('2001-01-01'), new Date('2001-01-01'));
      const stat = await fs.stat(path);
      assert.equal(stat.size, saved.length);
      assert.ok(
        stat.mtimeMs > Date.parse('2020-01-01'),
        `the saved file's time, not the server's: ${stat.mtimeMs}`,
      );
      assert.deepEqual(temporariesBeside(path), []);

      const small = patternBytes(MiB, 52);
      const smallPath = state.sshd.writeLocal('thread-save-small.bin', patternBytes(MiB, 53));
      await fs.writeFile(smallPath, small, OVERWRITE);
      assert.ok(readFileSync(smallPath).equals(small));
      assert.equal(savedInThread(logger, smallPath), false, 'a 1 MiB save stays on the connection');

      const created = state.sshd.local('thread-save-new.bin');
      await fs.writeFile(created, saved, { create: true, overwrite: false });
      assert.ok(readFileSync(created).equals(saved));
      assert.equal(
        savedInThread(logger, created),
        false,
        'a save that must not overwrite cannot be repeated here: it is made here',
      );
      assert.deepEqual(threadEnds(logger), []);
    }));

  test("a large save through a link nothing is known about is made by the thread on the link's target: the link stays, and what was known of the target is forgotten", () =>
    withReadyThread('thread-link-warmup.bin', patternBytes(LARGE, 59), async ({ fs, logger }) => {
      const target = state.sshd.writeLocal('thread-link-target.bin', patternBytes(LARGE, 60));
      const link = state.sshd.local('thread-link-to-target.bin');
      symlinkSync('thread-link-target.bin', link);
      assert.equal((await fs.stat(target)).size, LARGE);

      const saved = patternBytes(LARGE + 1234, 61);
      await fs.writeFile(link, saved, OVERWRITE);
      assert.ok(savedInThread(logger, link));
      assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
      assert.ok(readFileSync(target).equals(saved));
      assert.equal((await fs.stat(target)).size, saved.length, "the target's old size is not answered");
      assert.deepEqual(temporariesBeside(target), []);
    }));

  test('a large file with a second hard link is refused by the thread and saved in place here, both names keeping the new content; its next save goes straight here', () =>
    withReadyThread('thread-linked.bin', patternBytes(LARGE, 54), async ({ fs, path, logger }) => {
      const otherName = state.sshd.local('thread-linked-other.bin');
      linkSync(path, otherName);
      const inode = statSync(path).ino;

      const saved = patternBytes(LARGE + 99, 55);
      await fs.writeFile(path, saved, OVERWRITE);
      assert.match(
        logger.lines.join('\n'),
        /The reader thread did not save .*thread-linked\.bin .*in place.*; saving it here/,
      );
      assert.equal(savedInThread(logger, path), false);
      assert.equal(statSync(path).ino, inode, 'the same file, written in place');
      assert.ok(readFileSync(otherName).equals(saved), 'the other name sees the new content');
      assert.deepEqual(temporariesBeside(path), [], "the thread's temporary is gone");

      const again = patternBytes(LARGE, 56);
      await fs.writeFile(path, again, OVERWRITE);
      assert.ok(readFileSync(otherName).equals(again));
      assert.equal(
        logger.lines.filter((line) => line.includes('The reader thread did not save')).length,
        1,
        'the second save was not tried there',
      );
      assert.deepEqual(threadEnds(logger), [], 'a refusal is no reason to end the thread');
    }));

  test(
    "a colleague's large file, writable through a shared group, is refused by the thread and saved in place here: its owner, group and mode stay",
    { skip: sharedAccountsUnavailable ?? false },
    async () => {
      // Before the login: its sessions have the shared group only if it joined first.
      const accounts = ensureSharedAccounts();
      await withReadyThread(
        'thread-colleague-warmup.bin',
        patternBytes(LARGE, 62),
        async ({ fs, logger }) => {
          const path = state.sshd.writeLocal('thread-colleague.bin', patternBytes(LARGE, 63));
          chownSync(path, accounts.colleagueUid, accounts.sharedGid);
          chmodSync(path, 0o664);
          const inode = statSync(path).ino;

          const saved = patternBytes(LARGE + 77, 64);
          await fs.writeFile(path, saved, OVERWRITE);
          assert.match(
            logger.lines.join('\n'),
            /The reader thread did not save .*thread-colleague\.bin .*in place.*; saving it here/,
          );
          assert.ok(readFileSync(path).equals(saved));
          const after = statSync(path);
          assert.deepEqual(
            [after.uid, after.gid, after.mode & 0o7777, after.ino],
            [accounts.colleagueUid, accounts.sharedGid, 0o664, inode],
            "the colleague's file, written in place",
          );
          assert.deepEqual(temporariesBeside(path), []);
        },
      );
    },
  );

  test('a file replaced between reads is read anew by the thread, and a removed one fails as before', async () => {
    const logger = new RecordingLogger();
    const connections = manager(logger);
    try {
      const first = patternBytes(LARGE, 33);
      const { fs, path } = await warmedUp(state.sshd, connections, logger, 'thread-replaced.bin', first);
      assert.ok(Buffer.from(await fs.readFile(path)).equals(first));

      const second = patternBytes(LARGE + 3 * MiB + 7, 34);
      state.sshd.writeLocal('thread-replaced.bin', second);
      assert.ok(Buffer.from(await fs.readFile(path)).equals(second), 'the new content, at its new size');
      assert.equal(logger.lines.filter((line) => line.includes(`Read ${path} (`)).length, 2);

      rmSync(path);
      await rejectsWith(fs.readFile(path), 'ENOENT');
      assert.deepEqual(threadEnds(logger), [], 'the thread is still there for the next read');
    } finally {
      connections.dispose();
    }
  });

  test(
    'a root-owned file through a symlinked folder is read by the thread; one the login cannot read fails as before',
    {
      skip: process.getuid?.() === 0 ? false : 'needs root to give files to root',
    },
    async () => {
      const logger = new RecordingLogger();
      const connections = manager(logger);
      try {
        // Folders and files of another owner, reached through a link in the login's folder.
        const real = state.sshd.local('thread-root-owned');
        mkdirSync(real, { recursive: true });
        const content = patternBytes(LARGE, 40);
        const { fs } = await warmedUp(state.sshd, connections, logger, 'thread-root-warmup.bin', content);
        state.sshd.writeLocal('thread-root-owned/shared.bin', content);
        state.sshd.writeLocal('thread-root-owned/secret.bin', content);
        chownSync(state.sshd.local('thread-root-owned/shared.bin'), 0, 0);
        chmodSync(state.sshd.local('thread-root-owned/shared.bin'), 0o644);
        chownSync(state.sshd.local('thread-root-owned/secret.bin'), 0, 0);
        chmodSync(state.sshd.local('thread-root-owned/secret.bin'), 0o600);
        chownSync(real, 0, 0);
        symlinkSync(real, state.sshd.local('thread-link'));
        const shared = state.sshd.local('thread-link/shared.bin');
        const secret = state.sshd.local('thread-link/secret.bin');

        assert.ok(Buffer.from(await fs.readFile(shared)).equals(content));
        assert.ok(readInThread(logger, shared), 'read by the thread, through the link');
        await rejectsWith(fs.readFile(secret), 'EACCES');
        assert.equal(readInThread(logger, secret), false);
        assert.deepEqual(threadEnds(logger), []);
      } finally {
        connections.dispose();
      }
    },
  );

  test('turning the thread off ends it and its login; turned on again, the next large read starts another', async () => {
    const logger = new RecordingLogger();
    let allowed = true;
    const connections = manager(logger, () => allowed);
    try {
      const content = patternBytes(LARGE, 38);
      const { fs, path } = await warmedUp(state.sshd, connections, logger, 'thread-setting.bin', content);

      allowed = false;
      connections.closeReaderThreads('turned off');
      assert.match(threadEnds(logger)[0] ?? '', /turned off/);
      const readiesBefore = readies(logger);
      assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
      await delay(300);
      assert.equal(readies(logger), readiesBefore, 'off: no thread started');
      assert.equal(
        logger.lines.filter((line) => line.includes(`Read ${path} (`)).length,
        0,
        'off: read here',
      );

      allowed = true;
      await fs.readFile(path);
      for (let waited = 0; readies(logger) < 2 && waited < 10_000; waited += 20) {
        await delay(20);
      }
      assert.equal(readies(logger), 2, 'a second thread came up');
      assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
      assert.ok(readInThread(logger, path));
    } finally {
      connections.dispose();
    }
  });

  test('a thread opens the extra channels of large transfers as it logs in, before its first read or save', async () => {
    const logger = new RecordingLogger();
    const connections = manager(logger);
    try {
      const path = state.sshd.writeLocal('thread-lanes-ahead.bin', patternBytes(LARGE, 46));
      await connections.fileSystem(state.sshd.alias).stat(path);
      await untilReady(logger);
      // Every SFTP channel says once, as it opens, how its WRITEs are sent: the thread's main one and 7.
      const threadChannels = (): number =>
        logger.lines.filter((line) => /Reader thread: WRITE requests (are encrypted|go through)/.test(line))
          .length;
      for (let waited = 0; threadChannels() < 8 && waited < 5000; waited += 20) {
        await delay(20);
      }
      assert.equal(threadChannels(), 8, 'the thread has its main channel and 7 lanes open');
    } finally {
      connections.dispose();
    }
  });

  test('a thread unused for its idle time ends, and the next large read starts another', async () => {
    const logger = new RecordingLogger();
    const connections = manager(logger, () => true, { readerThreadIdleMs: 300 });
    try {
      const content = patternBytes(LARGE, 39);
      const { fs, path } = await warmedUp(state.sshd, connections, logger, 'thread-idle.bin', content);
      for (let waited = 0; threadEnds(logger).length === 0 && waited < 5000; waited += 20) {
        await delay(20);
      }
      assert.match(threadEnds(logger)[0] ?? '', /not used for a while/);
      assert.equal(connections.state(state.sshd.alias), 'connected', 'the connection itself stays');

      await warmedUp(state.sshd, connections, logger, 'thread-idle.bin', content);
      assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
      assert.ok(readInThread(logger, path), 'the second thread reads');
    } finally {
      connections.dispose();
    }
  });

  test('a thread started ahead by the stat of a large file that then reads nothing ends when idle, and none is started ahead again; a read still starts one', async () => {
    const logger = new RecordingLogger();
    const connections = manager(logger, () => true, { readerThreadIdleMs: 300 });
    try {
      const fs = connections.fileSystem(state.sshd.alias);
      const content = patternBytes(LARGE, 43);
      const path = state.sshd.writeLocal('thread-ahead-unused.bin', content);
      const small = state.sshd.writeLocal('thread-ahead-small.bin', patternBytes(MiB, 44));
      await fs.stat(small);
      await delay(300);
      assert.equal(readies(logger) + threadEnds(logger).length, 0, 'a small file starts no thread');

      await fs.stat(path);
      await untilReady(logger);
      for (let waited = 0; threadEnds(logger).length === 0 && waited < 5000; waited += 20) {
        await delay(20);
      }
      assert.match(threadEnds(logger)[0] ?? '', /not used for a while/);

      await fs.stat(path);
      await delay(500);
      assert.equal(readies(logger), 1, 'no second thread is started ahead after one went unused');

      assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
      assert.equal(readInThread(logger, path), false, 'the read that starts the thread is made here');
      await untilReady(logger);
      assert.equal(readies(logger), 2, 'a read still starts one');
    } finally {
      connections.dispose();
    }
  });

  test('disconnecting ends the thread and its login', async () => {
    const logger = new RecordingLogger();
    const connections = manager(logger);
    try {
      await warmedUp(state.sshd, connections, logger, 'thread-disconnect.bin', patternBytes(LARGE, 36));
      connections.disconnect(state.sshd.alias);
      for (let waited = 0; threadEnds(logger).length === 0 && waited < 5000; waited += 20) {
        await delay(20);
      }
      assert.match(threadEnds(logger)[0] ?? '', /its connection closed/);
    } finally {
      connections.dispose();
    }
  });
});

describe(
  'a host the user logs in to with a password',
  { skip: canManageAccounts ? false : 'needs root to set the test account password' },
  () => {
    const passwordServer = {} as { sshd: SshdFixture };
    before(async () => {
      passwordServer.sshd = await startSshd({ config: ['PasswordAuthentication yes'] });
    });
    after(async () => {
      await passwordServer.sshd?.stop();
    });

    test('a login that needed a password gets no reader thread: no second login is tried', async () => {
      const logger = new RecordingLogger();
      const prompts = new ScriptedPrompts({ passwords: [TEST_PASSWORD, TEST_PASSWORD] });
      const connections = new ConnectionManager({
        resolveHost: (authority) => ({
          ...passwordServer.sshd.resolve(authority),
          identityFiles: [],
          agentSocket: undefined,
        }),
        logger,
        prompts,
        fileSystem: { maxReadFileBytes: 256 * MiB },
        readerThreadScript: READER_THREAD_SCRIPT,
      });
      try {
        const fs = connections.fileSystem(passwordServer.sshd.alias);
        const content = patternBytes(LARGE, 35);
        const path = passwordServer.sshd.writeLocal('thread-password.bin', content);
        for (let round = 0; round < 3; round++) {
          assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
          await delay(100);
        }
        assert.deepEqual(prompts.events, ['password', 'password accepted'], 'the password was asked once');
        assert.ok(!logger.lines.some((line) => /reader thread/i.test(line)), 'no reader thread was started');
      } finally {
        connections.dispose();
      }
    });
  },
);

describe('a reader thread whose connection is cut', () => {
  const state = {} as { sshd: SshdFixture; relay: FaultProxy };
  before(async () => {
    state.sshd = await startSshd();
    state.relay = await FaultProxy.start(state.sshd.port);
  });
  after(async () => {
    await state.relay?.close();
    await state.sshd?.stop();
  });

  test('a read the cut interrupts is made on the connection, whole, and the thread is not started again', async () => {
    const logger = new RecordingLogger();
    const connections = throughRelay(state, logger);
    try {
      const content = patternBytes(LARGE, 37);
      const { fs, path } = await warmedUp(state.sshd, connections, logger, 'thread-cut.bin', content);
      // The thread's connection arrived last: cut it alone, 2 MiB into its next read.
      state.relay.cutNewestAfter('down', 2 * MiB);
      assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
      assert.equal(readInThread(logger, path), false, 'the read was not answered by the thread');
      assert.match(logger.lines.join('\n'), /The reader thread did not read .*; reading it here/);
      assert.equal(threadEnds(logger).length, 1);
      assert.match(threadEnds(logger)[0] ?? '', /connection was lost/);

      assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
      await delay(200);
      assert.equal(threadEnds(logger).length, 1, 'no second thread was started on this connection');
      assert.equal(readInThread(logger, path), false);
    } finally {
      connections.dispose();
    }
  });

  test('a save the cut interrupts is made whole on the connection, which removes the temporary the thread left', async () => {
    const logger = new RecordingLogger();
    const connections = throughRelay(state, logger);
    try {
      const original = patternBytes(LARGE, 57);
      const { fs, path } = await warmedUp(state.sshd, connections, logger, 'thread-cut-save.bin', original);
      // The thread's connection arrived last: cut it alone, 2 MiB into the upload of its next save.
      state.relay.cutNewestAfter('up', 2 * MiB);
      const saved = patternBytes(LARGE + 5, 58);
      await fs.writeFile(path, saved, OVERWRITE);
      assert.ok(readFileSync(path).equals(saved), 'saved whole');
      assert.match(logger.lines.join('\n'), /The reader thread did not save .*; saving it here/);
      assert.match(threadEnds(logger)[0] ?? '', /connection was lost/);
      assert.match(
        logger.lines.join('\n'),
        /Removed the temporary of an interrupted save or copy: .*thread-cut-save\.bin\.sftpfs-/,
      );
      assert.deepEqual(temporariesBeside(path), []);
    } finally {
      connections.dispose();
    }
  });
});

describe('large reads through a reader thread on a slow line', () => {
  const state = {} as { sshd: SshdFixture; relay: FaultProxy };
  before(async () => {
    state.sshd = await startSshd();
    // 40 ms round trips: where this connection's extra channels would stripe the read.
    state.relay = await FaultProxy.start(state.sshd.port, { oneWayDelayMs: 20 });
  });
  after(async () => {
    await state.relay?.close();
    await state.sshd?.stop();
  });

  test('a file known to be large goes to the thread without an OPEN here; one not known yet is opened here first', async () => {
    const logger = new RecordingLogger();
    const connections = throughRelay(state, logger);
    try {
      const known = patternBytes(LARGE + 777, 41);
      const { fs, path } = await warmedUp(state.sshd, connections, logger, 'thread-slow-known.bin', known);
      // What this connection opens from now on (the session is the real one; this only records).
      const session = await connections.session(state.sshd.alias);
      const opened: string[] = [];
      const withFile = session.withFile.bind(session);
      type WithFile = SftpSession['withFile'];
      session.withFile = <T>(
        path: string,
        flags: Parameters<WithFile>[1],
        attrs: Parameters<WithFile>[2],
        use: (handle: Buffer) => Promise<T>,
        inner?: boolean,
        alongClose?: (result: T) => void,
      ): Promise<T> => {
        opened.push(path);
        return withFile(path, flags, attrs, use, inner, alongClose);
      };

      assert.ok(Buffer.from(await fs.readFile(path)).equals(known));
      assert.ok(readInThread(logger, path), 'read by the thread on a 40 ms line');
      assert.deepEqual(opened, [], 'the file read before went to the thread without an OPEN here');

      const unknown = patternBytes(LARGE, 42);
      const unknownPath = state.sshd.writeLocal('thread-slow-unknown.bin', unknown);
      assert.ok(Buffer.from(await fs.readFile(unknownPath)).equals(unknown));
      assert.deepEqual(
        opened,
        [unknownPath],
        'a file of unknown size is opened here, where its size is learnt',
      );
      assert.ok(readInThread(logger, unknownPath), 'and read by the thread once its size is known');
    } finally {
      connections.dispose();
    }
  });

  test("VS Code's stat of a large file starts the thread ahead: it measures the line's round trip while it logs in, and the read after the stat goes there", async () => {
    const logger = new RecordingLogger();
    const connections = throughRelay(state, logger);
    try {
      const content = patternBytes(LARGE + 999, 45);
      const path = state.sshd.writeLocal('thread-slow-ahead.bin', content);
      const fs = connections.fileSystem(state.sshd.alias);
      await fs.stat(path);
      await untilReady(logger);
      const ready =
        logger.lines.find((line) => line.includes('Large reads and saves go through a reader thread')) ?? '';
      const roundTrip = Number(/round trip ([\d.]+) ms/.exec(ready)?.[1]);
      assert.ok(roundTrip >= 38, `the thread knows the 40 ms line before its first read: ${ready}`);

      assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
      assert.ok(readInThread(logger, path), 'the first read after the stat is made by the thread');
    } finally {
      connections.dispose();
    }
  });
  test(
    "a large file listed but not readable by the login goes to the thread at once, fails there, and fails here with the server's own answer; the thread stays",
    { skip: process.getuid?.() === 0 ? false : 'needs root to give files to root' },
    async () => {
      const logger = new RecordingLogger();
      const connections = throughRelay(state, logger);
      try {
        const content = patternBytes(LARGE, 44);
        const { fs } = await warmedUp(state.sshd, connections, logger, 'thread-denied-warmup.bin', content);
        // Root's file in a folder of root's, reached through a link in the login's folder.
        const real = state.sshd.local('thread-denied');
        mkdirSync(real, { recursive: true });
        state.sshd.writeLocal('thread-denied/secret.bin', content);
        chownSync(state.sshd.local('thread-denied/secret.bin'), 0, 0);
        chmodSync(state.sshd.local('thread-denied/secret.bin'), 0o600);
        chownSync(real, 0, 0);
        symlinkSync(real, state.sshd.local('thread-denied-link'));
        const secret = state.sshd.local('thread-denied-link/secret.bin');
        // The listing makes its size known: the read goes to the thread without an OPEN here first.
        const listed = await fs.readDirectory(state.sshd.local('thread-denied-link'));
        assert.deepEqual(listed, [['secret.bin', { kind: 'file', symlink: false }]]);

        await rejectsWith(fs.readFile(secret), 'EACCES');
        assert.match(
          logger.lines.join('\n'),
          /The reader thread did not read .*secret\.bin.*; reading it here/,
        );
        assert.equal(readInThread(logger, secret), false);
        assert.deepEqual(threadEnds(logger), [], 'a refusal is no reason to end the thread');
      } finally {
        connections.dispose();
      }
    },
  );
});
