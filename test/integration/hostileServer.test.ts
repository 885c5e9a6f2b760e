import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import { RemoteFsError, type RemoteErrorCode } from '../../src/core/common/errors';
import { ConnectionManager, type HostNotice } from '../../src/core/connection/connectionManager';
import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { MAX_DIRECTORY_ENTRIES } from '../../src/core/sftp/session';
import { RecordingLogger, patternBytes, randomSource, rejectsWith } from '../support/harness';
import {
  HostileSftpServer,
  SFTP,
  frame,
  statusInsteadOf,
  type ListedName,
  type Reply,
  type ReplyRewriter,
} from '../support/hostileSftpServer';
import { ScriptedPrompts } from '../support/scriptedPrompts';

/**
 * A server that lies, breaks the protocol and sends garbage (see HostileSftpServer). Whatever it does,
 * the client must answer each call with a RemoteFsError or a correct result, never crash, never ask
 * for a path outside the folder it was given, and work again once the server behaves.
 */
const STALL_TIMEOUT_MS = 500;
/** What the tests did and saw, counted as it happens (the closing line states nothing it did not count). */
const summary = {
  scripted: 0,
  fuzzed: 0,
  cleanErrors: 0,
  completed: 0,
  crashes: 0,
  outside: 0,
  savesVerified: 0,
};

const state = {} as {
  server: HostileSftpServer;
  dir: string;
  manager: ConnectionManager;
  fs: RemoteFileSystem;
  logger: RecordingLogger;
};
const home = (relative = ''): string => (relative === '' ? '/home/tester' : `/home/tester/${relative}`);

/** Rewrites only the `nth` reply (from 0) to a request of `type`; every other reply goes out as is. */
function onReplyTo(type: number, rewrite: (reply: Reply) => Buffer[], nth = 0): ReplyRewriter {
  let seen = 0;
  return (reply) => (reply.request.type === type && seen++ === nth ? rewrite(reply) : [frame(reply.packet)]);
}

/** Holds back every reply to a request of `type` (others go out) until the function it returns is called. */
function holdRepliesTo(type: number): () => void {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  state.server.rewrite = (reply) =>
    reply.request.type === type ? held.then(() => [frame(reply.packet)]) : [frame(reply.packet)];
  return release;
}

function withId(packet: Buffer, id: number): Buffer {
  const copy = Buffer.from(packet);
  copy.writeUInt32BE(id >>> 0, 1);
  return copy;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}

/** After whatever happened, the same client works again against the same server behaving. */
async function assertRecovers(): Promise<void> {
  state.server.rewrite = undefined;
  state.server.fallback = undefined;
  const content = await state.fs.readFile(home('hello.txt'));
  assert.equal(Buffer.from(content).toString(), 'hello from a hostile server\n');
}

/** Our temporaries anywhere in the server's tree (a finished or failed save leaves none). */
function temporariesOnServer(): string[] {
  return [...state.server.tree.keys()].filter((path) => path.includes(TEMP_MARKER));
}

function assertNothingOutside(): void {
  const outside = state.server.requestsOutside(home());
  summary.outside += outside.length;
  assert.deepEqual(outside, [], 'requests for paths outside the folder');
}

before(async () => {
  state.server = await HostileSftpServer.start();
  state.dir = mkdtempSync(join(tmpdir(), 'sftpfs-hostile-'));
  state.logger = new RecordingLogger();
  state.manager = new ConnectionManager({
    resolveHost: state.server.clientConfig(state.dir),
    logger: state.logger,
    prompts: new ScriptedPrompts({ passwords: Array<string>(5000).fill(state.server.password) }),
    fileSystem: { maxReadFileBytes: 16 * 1024 * 1024, attributeLifetimeMs: 0 },
    session: { stallTimeoutMs: STALL_TIMEOUT_MS },
    lifecycle: { idleTimeoutMs: 0, reconnectDelaysMs: [50], maxReconnectAttempts: 1 },
  });
  state.fs = state.manager.fileSystem('hostile');
});
after(async () => {
  state.manager?.dispose();
  await state.server?.close();
  rmSync(state.dir, { recursive: true, force: true });
  console.log(
    `hostile summary: ${summary.scripted + summary.fuzzed} hostile replies tried ` +
      `(${summary.scripted} scripted, ${summary.fuzzed} fuzzed): ${summary.cleanErrors} clean errors, ` +
      `${summary.completed} operations completed, ${summary.crashes} crashes, ` +
      `${summary.outside} requests outside the folder, ${summary.savesVerified} saves verified old or new`,
  );
});
beforeEach(() => {
  state.server.reset();
  state.server.requests.length = 0;
});

describe('a server that behaves', () => {
  test('answers every filesystem call correctly (the baseline the hostile cases depart from)', async () => {
    const fs = state.fs;
    await fs.createDirectory(home('folder'));
    await fs.writeFile(home('folder/a.bin'), patternBytes(700_000), { create: true, overwrite: false });
    await fs.writeFile(home('folder/a.bin'), patternBytes(300_000, 2), { create: true, overwrite: true });
    assert.deepEqual(Buffer.from(await fs.readFile(home('folder/a.bin'))), patternBytes(300_000, 2));
    await fs.copy(home('folder'), home('copy'), { overwrite: false });
    await fs.rename(home('copy/a.bin'), home('copy/b.bin'), { overwrite: false });
    assert.deepEqual(
      (await fs.readDirectory(home('copy'))).map(([name]) => name),
      ['b.bin'],
    );
    await fs.delete(home('folder'), { recursive: true });
    assert.deepEqual((await fs.readDirectory(home())).map(([name]) => name).sort(), ['copy', 'hello.txt']);
    assertNothingOutside();
    assert.deepEqual(temporariesOnServer(), []);
  });
});

describe('a CLOSE answered late', () => {
  test('a read returns before the answer to its CLOSE, and the handle counts as open until that answer comes', async () => {
    const session = await state.manager.session('hostile');
    await session.closesSettled(); // listings close without waiting too
    const release = holdRepliesTo(SFTP.CLOSE);
    const content = await withinTime(state.fs.readFile(home('hello.txt')), STALL_TIMEOUT_MS / 2, 'readFile');
    assert.equal(Buffer.from(content).toString(), 'hello from a hostile server\n');
    assert.equal(session.openHandleCount, 1, 'the handle whose CLOSE is unanswered');
    release();
    await session.closesSettled();
    assert.equal(session.openHandleCount, 0);
    assert.ok(!session.isClosed);
    summary.scripted++;
  });
});

describe('a save of a file nothing is known about', () => {
  test('creates its temporary while the LSTAT is unanswered, and removes it when the LSTAT says the save must not go ahead', async () => {
    const release = holdRepliesTo(SFTP.LSTAT);
    state.server.tree.set(home('taken.txt'), { kind: 'file', data: Buffer.from('old') });
    const saving = rejectsWith(
      state.fs.writeFile(home('taken.txt'), Buffer.from('new'), { create: true, overwrite: false }),
      'EEXIST',
    );
    const openedMeanwhile = async (): Promise<boolean> => {
      for (let waited = 0; waited < STALL_TIMEOUT_MS / 2; waited += 10) {
        if (state.server.requests.some((request) => request.type === SFTP.OPEN)) {
          return true;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return false;
    };
    const opened = await openedMeanwhile();
    release();
    await saving;
    assert.ok(opened, 'the temporary was opened before the LSTAT was answered');
    const data = state.server.tree.get(home('taken.txt'));
    assert.ok(data?.kind === 'file' && data.data.toString() === 'old');
    assert.deepEqual(temporariesOnServer(), [], 'temporaries left');
    summary.scripted++;
  });
});

describe('a save of an existing file', () => {
  test('looks up its link count with one READDIR when the first batch of its folder holds it', async () => {
    state.server.requests.length = 0;
    await state.fs.writeFile(home('hello.txt'), Buffer.from('replaced'), { create: true, overwrite: true });
    const saved = state.server.tree.get(home('hello.txt'));
    assert.ok(saved?.kind === 'file' && saved.data.toString() === 'replaced');
    const readdirs = state.server.requests.filter((request) => request.type === SFTP.READDIR);
    assert.equal(readdirs.length, 1, 'no READDIR only to see the end of the folder');
    summary.scripted++;
  });
});

describe('a striped save', () => {
  test('is not put in place when another channel fails to close its handle on the temporary', async () => {
    const original = Buffer.from('old');
    state.server.tree.set(home('striped.bin'), { kind: 'file', data: original });
    await state.fs.readFile(home('hello.txt'));
    const mainChannel = state.server.requests.at(-1)?.channel;
    state.server.rewrite = (reply) =>
      reply.request.type === SFTP.CLOSE && reply.request.channel !== mainChannel
        ? [statusInsteadOf(reply.packet, 4)]
        : [frame(reply.packet)];
    const content = patternBytes(9 * 1024 * 1024, 31); // above the striping threshold
    await rejectsWith(
      state.fs.writeFile(home('striped.bin'), content, { create: true, overwrite: true }),
      'EFAILURE',
    );
    const lanes = new Set(
      state.server.requests
        .filter((r) => r.type === SFTP.WRITE && r.channel !== mainChannel)
        .map((r) => r.channel),
    );
    assert.ok(lanes.size > 0, 'the save was striped over other channels');
    const onServer = state.server.tree.get(home('striped.bin'));
    assert.ok(onServer?.kind === 'file' && onServer.data.equals(original), 'the original is untouched');
    assert.deepEqual(temporariesOnServer(), [], 'temporaries left');
    summary.scripted++;
  });

  test("sends each channel's FSYNC behind its last WRITE and the RENAME behind the temporary's CLOSE, waiting for no answer between them", async () => {
    // WRITEs of 255 KiB (a server announcing its limits), so that every channel's share fits in the
    // requests it keeps in flight: answers held back then stall only a client that waits for them.
    state.manager.disconnect('hostile');
    const extensions = state.server.extensions;
    state.server.extensions = { ...extensions, 'limits@openssh.com': '1' };
    state.server.limits = {
      maxPacketLength: 256 * 1024 + 1024,
      maxReadLength: 255 * 1024,
      maxWriteLength: 255 * 1024,
      maxOpenHandles: 0,
    };
    try {
      state.server.tree.set(home('pipelined.bin'), { kind: 'file', data: Buffer.from('old') });
      await state.fs.readFile(home('hello.txt'));
      const mainChannel = state.server.requests.at(-1)?.channel;
      /** Per channel: opens once its FSYNC has arrived. */
      const flushes = new Map<number, { seen: () => void; arrived: Promise<void> }>();
      const flushOn = (channel: number): { seen: () => void; arrived: Promise<void> } => {
        let entry = flushes.get(channel);
        if (entry === undefined) {
          let seen = (): void => undefined;
          const arrived = new Promise<void>((resolve) => (seen = resolve));
          entry = { seen, arrived };
          flushes.set(channel, entry);
        }
        return entry;
      };
      let renameSeen = (): void => undefined;
      const renameArrived = new Promise<void>((resolve) => (renameSeen = resolve));
      state.server.rewrite = (reply) => {
        const { type, channel, extension } = reply.request;
        const out = [frame(reply.packet)];
        if (extension === 'fsync@openssh.com') {
          flushOn(channel).seen();
        } else if (extension === 'posix-rename@openssh.com') {
          renameSeen();
        } else if (type === SFTP.WRITE) {
          return flushOn(channel).arrived.then(() => out);
        } else if (type === SFTP.CLOSE && channel === mainChannel && flushes.has(channel)) {
          return renameArrived.then(() => out);
        }
        return out;
      };
      const content = patternBytes(9 * 1024 * 1024, 32); // above the striping threshold
      await state.fs.writeFile(home('pipelined.bin'), content, { create: true, overwrite: true });
      const onServer = state.server.tree.get(home('pipelined.bin'));
      assert.ok(onServer?.kind === 'file' && onServer.data.equals(content), 'the new content is in place');
      const writers = new Set(
        state.server.requests.filter((r) => r.type === SFTP.WRITE).map((r) => r.channel),
      );
      const temporaries = new Set(
        state.server.requests
          .filter((r) => r.type === SFTP.OPEN && r.paths[0]?.includes(TEMP_MARKER) === true)
          .map((r) => r.paths[0]),
      );
      assert.equal(
        temporaries.size,
        1,
        'the save went through at its first attempt (a stalled one is repeated)',
      );
      assert.ok(writers.size > 1, 'the save was striped over other channels');
      assert.deepEqual(
        [...writers].filter((channel) => !flushes.has(channel)),
        [],
        'a channel wrote without FSYNC',
      );
      assert.deepEqual(temporariesOnServer(), [], 'temporaries left');
      summary.scripted++;
    } finally {
      state.server.extensions = extensions;
      state.manager.disconnect('hostile');
    }
  });

  test('opens the other channels in the flight of the temporary, and writes nothing when the temporary is refused', async () => {
    const original = Buffer.from('old');
    state.server.tree.set(home('refused.bin'), { kind: 'file', data: original });
    await state.fs.readFile(home('hello.txt'));
    const mainChannel = state.server.requests.at(-1)?.channel;
    const content = patternBytes(9 * 1024 * 1024, 33); // above the striping threshold
    // A first striped save opens the other channels; the second finds them ready.
    await state.fs.writeFile(home('warm-up.bin'), content, { create: true, overwrite: true });
    state.server.requests.length = 0;
    // The server creates the temporary but answers its OPEN with FAILURE: the other channels can open it.
    state.server.rewrite = (reply) =>
      reply.request.type === SFTP.OPEN &&
      reply.request.channel === mainChannel &&
      reply.request.paths[0]?.includes(TEMP_MARKER) === true
        ? [statusInsteadOf(reply.packet, 4)]
        : [frame(reply.packet)];
    await assert.rejects(state.fs.writeFile(home('refused.bin'), content, { create: true, overwrite: true }));
    const laneOpens = state.server.requests.filter(
      (r) => r.type === SFTP.OPEN && r.channel !== mainChannel && r.paths[0]?.includes(TEMP_MARKER) === true,
    );
    assert.ok(laneOpens.length > 0, "the other channels' OPENs went out before the temporary's answer came");
    assert.deepEqual(
      state.server.requests.filter((r) => r.type === SFTP.WRITE),
      [],
      'no channel wrote to a file the save did not create',
    );
    const onServer = state.server.tree.get(home('refused.bin'));
    assert.ok(onServer?.kind === 'file' && onServer.data.equals(original), 'the original is untouched');
    assert.deepEqual(temporariesOnServer(), [], 'temporaries left');
    summary.scripted++;
  });
});

describe('a copy through this machine (a server without copy-data)', () => {
  test('asks for no more chunks of a small file than it has, plus one to see the end', async () => {
    state.server.tree.set(home('small.txt'), { kind: 'file', data: Buffer.alloc(4096, 7) });
    state.server.requests.length = 0;
    await state.fs.copy(home('small.txt'), home('small-copy.txt'), { overwrite: false });
    const copied = state.server.tree.get(home('small-copy.txt'));
    assert.ok(copied?.kind === 'file' && copied.data.equals(Buffer.alloc(4096, 7)));
    const reads = state.server.requests.filter((request) => request.type === SFTP.READ).length;
    assert.ok(reads <= 2, `${reads} READs for a 4 KiB file`);
    summary.scripted++;
  });
});

describe('a server without posix-rename', () => {
  test('saves an existing file in place behind a copy of the original, a new one by rename, and leaves no temporary or copy', async () => {
    state.manager.disconnect('hostile');
    state.server.extensions = { 'fsync@openssh.com': '1' };
    const notices: HostNotice[] = [];
    const listening = state.manager.onDidNotice((notice) => notices.push(notice));
    try {
      await state.fs.writeFile(home('hello.txt'), Buffer.from('replaced'), { create: true, overwrite: true });
      await state.fs.writeFile(home('new.txt'), Buffer.from('new'), { create: true, overwrite: false });
      const saved = state.server.tree.get(home('hello.txt'));
      assert.ok(saved?.kind === 'file' && saved.data.toString() === 'replaced');
      assert.deepEqual(temporariesOnServer(), []);
      const created = state.server.tree.get(home('new.txt'));
      assert.ok(created?.kind === 'file' && created.data.toString() === 'new');
      // A protected in-place save needs no warning; the log says which plan and why.
      assert.deepEqual(notices, []);
      assert.ok(
        state.logger.lines.some(
          (line) => line.includes(`Saving ${home('hello.txt')} in place`) && line.includes('posix-rename'),
        ),
      );
      assert.equal(
        state.server.requests.filter((request) => request.type === SFTP.RENAME).length,
        1,
        'only the new file was renamed into place',
      );
      assert.equal(
        state.server.requests.some((request) => request.type === SFTP.EXTENDED),
        true,
        'fsync is still used',
      );
    } finally {
      listening.dispose();
      state.server.extensions = { 'posix-rename@openssh.com': '1', 'fsync@openssh.com': '1' };
      state.manager.disconnect('hostile');
    }
  });
});

describe('server-side failures reported with the later status codes', () => {
  for (const [status, name, text] of [
    [14, 'NO_SPACE_ON_FILESYSTEM', /No space left on the server/],
    [15, 'QUOTA_EXCEEDED', /Disk quota exceeded/],
  ] as const) {
    test(`${name} during a save: ENOSPC saying so, the original intact, no temporary left`, async () => {
      const original = state.server.tree.get(home('hello.txt'));
      state.server.rewrite = onReplyTo(SFTP.WRITE, ({ packet }) => [statusInsteadOf(packet, status)]);
      const error = await rejectsWith(
        state.fs.writeFile(home('hello.txt'), patternBytes(100_000), { create: true, overwrite: true }),
        'ENOSPC',
      );
      assert.match(error.message, text);
      assert.match(error.message, /hello\.txt/);
      assert.equal(state.server.tree.get(home('hello.txt')), original);
      assert.deepEqual(temporariesOnServer(), []);
      summary.savesVerified++;
      summary.scripted++;
      summary.cleanErrors++;
    });
  }
});

describe('names, links and sizes that lie', () => {
  test('a listing with names holding a slash, dot-dot, NUL or nothing shows only the honest names, and delete and copy never touch a path built from them', async () => {
    state.server.tree.set(home('odd'), {
      kind: 'dir',
      listing: () => [
        ['../escape', 'a/b', '/etc/passwd', 'nul\0name', '', '.', '..', 'good.txt'].map(
          (filename): ListedName => ({ filename }),
        ),
      ],
    });
    state.server.tree.set(home('odd/good.txt'), { kind: 'file', data: Buffer.from('good') });
    assert.deepEqual(await state.fs.readDirectory(home('odd')), [
      ['good.txt', { kind: 'file', symlink: false }],
    ]);
    await state.fs.copy(home('odd'), home('odd-copy'), { overwrite: false });
    assert.deepEqual(
      [...state.server.tree.keys()].filter((path) => path.startsWith(home('odd-copy/'))),
      [home('odd-copy/good.txt')],
    );
    await state.fs.delete(home('odd'), { recursive: true });
    assert.equal(state.server.tree.has(home('odd')), false);
    assertNothingOutside();
    assert.ok(state.logger.lines.some((line) => line.includes('unsafe name') && line.includes('../escape')));
    summary.scripted++;
  });

  test('symlink loops are shown as broken links, and reading or saving through one fails cleanly', async () => {
    state.server.tree.set(home('loop-a'), { kind: 'link', target: 'loop-b' });
    state.server.tree.set(home('loop-b'), { kind: 'link', target: home('loop-a') });
    state.server.tree.set(home('self'), { kind: 'link', target: 'self' });
    const listing = new Map(await state.fs.readDirectory(home()));
    assert.deepEqual(listing.get('loop-a'), { kind: 'unknown', symlink: true });
    assert.deepEqual(listing.get('self'), { kind: 'unknown', symlink: true });
    assert.deepEqual((await state.fs.stat(home('self'))).type, { kind: 'unknown', symlink: true });
    const read = await rejectsWith(state.fs.readFile(home('loop-a')), 'EFAILURE');
    assert.match(read.message, /Too many levels of symbolic links/);
    const save = await rejectsWith(
      state.fs.writeFile(home('self'), Buffer.from('x'), { create: true, overwrite: true }),
      'EINVAL',
    );
    assert.match(save.message, /Too many levels of symbolic links/);
    assert.ok(state.server.requests.length < 200, `${state.server.requests.length} requests for three links`);
    assertNothingOutside();
    summary.scripted += 3;
  });

  test(`a listing that never ends is stopped after ${MAX_DIRECTORY_ENTRIES} entries with a clear error`, async () => {
    state.server.tree.set(home('endless'), {
      kind: 'dir',
      listing: function* () {
        for (let batch = 0; ; batch++) {
          yield Array.from({ length: 100 }, (_, i): ListedName => ({ filename: `f-${batch}-${i}` }));
        }
      },
    });
    const started = Date.now();
    const error = await rejectsWith(state.fs.readDirectory(home('endless')), 'EPROTO');
    assert.match(error.message, /more than 200000 entries/);
    assert.ok(Date.now() - started < 30_000);
    const session = await state.manager.session('hostile');
    await session.closesSettled();
    assert.equal(session.openHandleCount, 0);
    await assertRecovers();
    summary.scripted++;
  });

  test('a recursive delete of a folder that contains itself forever stops at a depth no real tree reaches', async () => {
    const deep = home('deep');
    state.server.fallback = (path) =>
      path === deep || path.startsWith(`${deep}/`)
        ? { kind: 'dir', listing: () => [[{ filename: 'd', node: { kind: 'dir' } }]] }
        : undefined;
    const error = await rejectsWith(state.fs.delete(deep, { recursive: true }), 'EPROTO');
    assert.match(error.message, /nested more than 2048 levels/);
    assert.equal(
      state.server.requests.some((request) => request.type === SFTP.REMOVE || request.type === SFTP.RMDIR),
      false,
    );
    assertNothingOutside();
    summary.scripted++;
  });

  test('a size that lies low still reads the whole file, one that lies high fails before reading, and a file that never ends is cut at the limit', async () => {
    state.server.tree.set(home('small-liar'), { kind: 'file', data: patternBytes(300_000), claimedSize: 10 });
    state.server.tree.set(home('huge-liar'), { kind: 'file', data: Buffer.from('x'), claimedSize: 2 ** 52 });
    state.server.tree.set(home('endless-file'), { kind: 'file', data: Buffer.alloc(0), endless: true });
    const reads = (): number => state.server.requests.filter((request) => request.type === SFTP.READ).length;
    assert.deepEqual(Buffer.from(await state.fs.readFile(home('small-liar'))), patternBytes(300_000));
    const beforeHuge = reads();
    await rejectsWith(state.fs.readFile(home('huge-liar')), 'ETOOLARGE');
    assert.equal(reads(), beforeHuge, 'no READ for a file claiming 4 PiB');
    await rejectsWith(state.fs.readFile(home('endless-file')), 'ETOOLARGE');
    // 16 MiB is 65 READs of 255 KiB, or 512 of the safe 32 KiB, should an earlier test's rewritten
    // replies have made the session fall back to that length (see ReadSize).
    const endlessReads = reads() - beforeHuge;
    assert.ok(endlessReads <= 512 + 64, `${endlessReads} reads of a file that never ends`);
    summary.scripted += 3;
  });
});

interface ScriptedCase {
  readonly name: string;
  readonly rewrite: ReplyRewriter;
  readonly operation: (fs: RemoteFileSystem) => Promise<unknown>;
  /** The error the call must fail with; undefined when it must succeed. */
  readonly code: RemoteErrorCode | undefined;
  readonly message?: RegExp;
  /** The call succeeds only because it was repeated on a new connection after the stall timeout. */
  readonly retried?: boolean;
  /** The fault is in the SFTP start, which happens once per connection: begin from a new one. */
  readonly freshConnection?: boolean;
}

const stat = (fs: RemoteFileSystem): Promise<unknown> => fs.stat(home('hello.txt'));
const list = (fs: RemoteFileSystem): Promise<unknown> => fs.readDirectory(home());
const read = async (fs: RemoteFileSystem): Promise<unknown> =>
  Buffer.from(await fs.readFile(home('hello.txt')));

const SCRIPTED: readonly ScriptedCase[] = [
  {
    name: 'a zero-length packet',
    rewrite: onReplyTo(SFTP.LSTAT, () => [u32(0)]),
    operation: stat,
    code: 'EPROTO',
    message: /Invalid packet length/,
  },
  {
    name: 'a packet announced longer than any server may send',
    rewrite: onReplyTo(SFTP.LSTAT, ({ packet }) => [Buffer.concat([u32(0xfffffff0), packet])]),
    operation: stat,
    code: 'EPROTO',
  },
  {
    name: 'a NAME reply promising four billion entries and holding none',
    rewrite: onReplyTo(SFTP.READDIR, ({ packet }) => [
      frame(Buffer.concat([packet.subarray(0, 5), u32(0xffffffff)])),
    ]),
    operation: list,
    code: 'EPROTO',
    message: /Malformed NAME packet/,
  },
  {
    name: 'an ATTRS reply cut short',
    rewrite: onReplyTo(SFTP.LSTAT, ({ packet }) => [frame(packet.subarray(0, 12))]),
    operation: stat,
    code: 'EPROTO',
    message: /Malformed ATTRS packet/,
  },
  {
    name: 'a reply of a type that does not exist',
    rewrite: onReplyTo(SFTP.LSTAT, ({ packet }) => [
      frame(Buffer.concat([Buffer.from([99]), packet.subarray(1)])),
    ]),
    operation: stat,
    code: 'EPROTO',
    message: /Unknown packet type 99/,
  },
  {
    name: 'a HANDLE in answer to a STAT',
    rewrite: onReplyTo(SFTP.LSTAT, ({ packet }) => [
      frame(Buffer.concat([Buffer.from([SFTP.HANDLE]), packet.subarray(1, 5), u32(4), u32(7)])),
    ]),
    operation: stat,
    code: 'EPROTO',
    message: /reply of the wrong kind/,
  },
  {
    name: 'a STATUS OK in answer to a READDIR',
    rewrite: onReplyTo(SFTP.READDIR, ({ packet }) => [statusInsteadOf(packet, 0)]),
    operation: list,
    code: 'EPROTO',
  },
  {
    name: 'a STATUS OK in answer to an OPEN',
    rewrite: onReplyTo(SFTP.OPEN, ({ packet }) => [statusInsteadOf(packet, 0)]),
    operation: read,
    code: 'EPROTO',
  },
  {
    name: 'an ATTRS in answer to a READ',
    rewrite: onReplyTo(SFTP.READ, ({ packet }) => [
      frame(Buffer.concat([Buffer.from([SFTP.ATTRS]), packet.subarray(1, 5), u32(0)])),
    ]),
    operation: read,
    code: 'EPROTO',
  },
  {
    name: 'a handle longer than the 256 bytes the protocol allows',
    rewrite: onReplyTo(SFTP.OPEN, ({ packet }) => [
      frame(Buffer.concat([packet.subarray(0, 5), u32(4096), Buffer.alloc(4096, 1)])),
    ]),
    operation: read,
    code: 'EPROTO',
  },
  {
    // A stat may be repeated, so after the stall timeout it is, on a fresh connection.
    name: 'a reply carrying another request id',
    rewrite: onReplyTo(SFTP.LSTAT, ({ packet }) => [frame(withId(packet, packet.readUInt32BE(1) + 1000))]),
    operation: stat,
    code: undefined,
    retried: true,
  },
  {
    name: 'every reply carrying another request id',
    rewrite: (reply) => [
      frame(reply.request.type === SFTP.LSTAT ? withId(reply.packet, reply.request.id + 1000) : reply.packet),
    ],
    operation: stat,
    code: 'ETIMEDOUT',
    message: /stopped answering/,
    retried: true,
  },
  {
    name: 'no reply at all',
    rewrite: onReplyTo(SFTP.OPEN, () => []),
    operation: read,
    code: undefined,
    retried: true,
  },
  {
    name: 'a status code no specification defines',
    rewrite: onReplyTo(SFTP.LSTAT, ({ packet }) => [statusInsteadOf(packet, 0xdeadbeef)]),
    operation: stat,
    code: 'EFAILURE',
    message: /unknown status 3735928559/,
  },
  {
    name: 'the same reply sent twice',
    rewrite: (reply) => [frame(reply.packet), frame(reply.packet)],
    operation: read,
    code: undefined,
  },
  {
    name: 'a DATA reply longer than the READ asked for',
    rewrite: onReplyTo(SFTP.READ, ({ packet }) => [
      frame(Buffer.concat([packet.subarray(0, 5), u32(packet.length), Buffer.alloc(packet.length, 0x78)])),
    ]),
    operation: read,
    code: 'EPROTO',
  },
  {
    name: 'a VERSION that is not SFTP version 3 and is cut short',
    rewrite: onReplyTo(SFTP.INIT, () => [frame(Buffer.from([SFTP.VERSION, 0, 0]))]),
    operation: stat,
    code: 'EPROTO',
    freshConnection: true,
  },
  {
    name: 'no VERSION at all',
    rewrite: onReplyTo(SFTP.INIT, () => []),
    operation: stat,
    code: 'ETIMEDOUT',
    message: /did not start SFTP within 1 s/,
    freshConnection: true,
  },
];

describe('replies that break the protocol', () => {
  for (const scripted of SCRIPTED) {
    test(`${scripted.name} gives ${scripted.code ?? 'the right answer'}, and the next call works`, async () => {
      if (scripted.freshConnection === true) {
        state.manager.disconnect('hostile');
      }
      const honestAnswer = scripted.code === undefined ? await scripted.operation(state.fs) : undefined;
      state.server.rewrite = scripted.rewrite;
      const started = Date.now();
      const retries = (): number =>
        state.logger.lines.filter((line) => line.includes('retrying on a new connection')).length;
      const retriesBefore = retries();
      if (scripted.code === undefined) {
        assert.deepEqual(await scripted.operation(state.fs), honestAnswer);
        summary.completed++;
      } else {
        const error = await rejectsWith(scripted.operation(state.fs), scripted.code);
        if (scripted.message !== undefined) {
          assert.match(error.message, scripted.message);
        }
        summary.cleanErrors++;
      }
      assert.ok(Date.now() - started < 2 * STALL_TIMEOUT_MS + 5000, 'answered in bounded time');
      assert.equal(
        retries() - retriesBefore,
        scripted.retried === true ? 1 : 0,
        'repeated on a new connection',
      );
      summary.scripted++;
      await assertRecovers();
      assertNothingOutside();
    });
  }
});

/** However the server misbehaves, a call ends within the stall timeout, a reconnect and a retry. */
const STEP_LIMIT_MS = 4 * STALL_TIMEOUT_MS + 5000;

async function withinTime<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

type Mutation = (packet: Buffer, random: (below: number) => number) => Buffer[];

const MUTATIONS: Readonly<Record<string, Mutation>> = {
  'flip bytes': (packet, random) => {
    const copy = Buffer.from(packet);
    for (let i = 0, n = 1 + random(4); i < n; i++) {
      const at = random(copy.length);
      copy[at] = (copy[at] ?? 0) ^ (1 << random(8));
    }
    return [frame(copy)];
  },
  truncate: (packet, random) => [frame(packet.subarray(0, random(packet.length)))],
  'append garbage': (packet, random) => [
    frame(Buffer.concat([packet, Buffer.from(Array.from({ length: 1 + random(64) }, () => random(256)))])),
  ],
  'wrong length': (packet, random) => [Buffer.concat([u32(random(2 ** 31)), packet])],
  'wrong type': (packet, random) => [frame(Buffer.concat([Buffer.from([random(256)]), packet.subarray(1)]))],
  'wrong id': (packet, random) => [frame(packet.length >= 5 ? withId(packet, random(2 ** 32)) : packet)],
  'absurd count or length': (packet, random) => {
    const copy = Buffer.from(packet);
    if (copy.length >= 9) {
      copy.writeUInt32BE([0, 0xffffffff, 0x7fffffff, 1 << 20][random(4)] ?? 0, 5);
    }
    return [frame(copy)];
  },
  duplicate: (packet) => [frame(packet), frame(packet)],
  drop: () => [],
};

describe('fuzzed replies', () => {
  const ITERATIONS = 400;
  const saved = { content: Buffer.from('version 0'), attempted: Buffer.from('version 0') };

  const operations: ReadonlyArray<{
    name: string;
    run: (fs: RemoteFileSystem, step: number) => Promise<unknown>;
  }> = [
    { name: 'stat', run: (fs) => fs.stat(home('big.bin')) },
    { name: 'readDirectory', run: (fs) => fs.readDirectory(home('many')) },
    { name: 'readFile', run: (fs) => fs.readFile(home('big.bin')) },
    {
      name: 'writeFile',
      run: async (fs, step) => {
        const content = Buffer.from(`version ${step} `.repeat(1 + (step % 7) * 5000));
        saved.attempted = content;
        await fs.writeFile(home('saved.txt'), content, { create: true, overwrite: true });
        saved.content = content;
      },
    },
    { name: 'copy', run: (fs) => fs.copy(home('many'), home('many-copy'), { overwrite: true }) },
    { name: 'delete', run: (fs) => fs.delete(home('many-copy'), { recursive: true }) },
  ];

  test(`${ITERATIONS} operations each with one reply mutated: every one ends in a result or a RemoteFsError, nothing crashes, every save is old or new`, async () => {
    const random = randomSource(20261122);
    const crashes: unknown[] = [];
    const onCrash = (error: unknown): void => void crashes.push(error);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    const tree = state.server.tree;
    tree.set(home('big.bin'), { kind: 'file', data: patternBytes(600_000, 3) });
    tree.set(home('saved.txt'), { kind: 'file', data: Buffer.from('version 0') });
    tree.set(home('many'), { kind: 'dir' });
    for (let i = 0; i < 150; i++) {
      tree.set(home(`many/file-${i}.txt`), { kind: 'file', data: Buffer.from(`file ${i}`) });
    }
    const outcomes = new Map<string, number>();
    try {
      for (let step = 1; step <= ITERATIONS; step++) {
        const operation = operations[random(operations.length)] as (typeof operations)[number];
        const names = Object.keys(MUTATIONS);
        const mutationName = names[random(names.length)] ?? 'drop';
        const mutation = MUTATIONS[mutationName] as Mutation;
        const target = random(12);
        let replies = 0;
        state.server.rewrite = (reply) =>
          replies++ === target ? mutation(reply.packet, random) : [frame(reply.packet)];
        const previous = saved.content;
        saved.attempted = previous;
        let outcome: string;
        const what = `step ${step} (${operation.name}, ${mutationName} of reply ${target})`;
        if (process.env.SFTPFS_FUZZ_TRACE === '1') {
          console.log(what);
        }
        try {
          await withinTime(operation.run(state.fs, step), STEP_LIMIT_MS, what);
          outcome = 'completed';
          summary.completed++;
        } catch (error) {
          assert.ok(error instanceof RemoteFsError, `${what} threw ${String(error)}`);
          outcome = error.code;
          summary.cleanErrors++;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        summary.fuzzed++;
        state.server.rewrite = undefined;
        const onServer = tree.get(home('saved.txt'));
        assert.ok(onServer?.kind === 'file');
        assert.ok(
          onServer.data.equals(saved.attempted) || onServer.data.equals(previous),
          `step ${step}: saved.txt is neither the old nor the new content after ${mutationName}`,
        );
        summary.savesVerified++;
        saved.content = Buffer.from(onServer.data);
      }
      await assertRecovers();
      // The first call on a working connection removes the temporaries interrupted saves left.
      assert.deepEqual(temporariesOnServer(), []);
      assertNothingOutside();
      summary.crashes += crashes.length;
      assert.deepEqual(crashes, []);
      console.log(`fuzz outcomes: ${[...outcomes].map(([name, count]) => `${name} ${count}`).join(', ')}`);
    } finally {
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    }
  });
});
