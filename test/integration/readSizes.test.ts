import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { MAX_READ_LENGTH, SAFE_READ_LENGTH } from '../../src/core/sftp/readSize';
import type { SftpSession } from '../../src/core/sftp/session';
import { RecordingLogger, patternBytes, randomSource, rejectsWith } from '../support/harness';
import { HostileSftpServer, SFTP, frame, type RequestSeen } from '../support/hostileSftpServer';
import { ScriptedPrompts } from '../support/scriptedPrompts';

/**
 * How long READs are, against a server whose READ answers the test decides (HostileSftpServer, which
 * like ProFTPD states no limits@openssh.com): the long READs a server honours are used, a server's cap
 * is learned from its short answers or its refusals, and however it answers the bytes are the file's.
 * A file costs the READs it needs plus one that sees its end, and no more.
 */
const state = {} as {
  server: HostileSftpServer;
  dir: string;
  manager: ConnectionManager;
  fs: RemoteFileSystem;
};
const home = (name: string): string => `/home/tester/${name}`;
const reads = (): RequestSeen[] => state.server.requests.filter((request) => request.type === SFTP.READ);
/** The READs sent while `run` ran. */
async function readsDuring(run: () => Promise<unknown>): Promise<RequestSeen[]> {
  const before = reads().length;
  await run();
  return reads().slice(before);
}
const session = (): Promise<SftpSession> => state.manager.session('hostile');
const lengthsOf = (seen: readonly RequestSeen[]): number[] => seen.map((request) => request.length ?? -1);

before(async () => {
  state.server = await HostileSftpServer.start();
  state.dir = mkdtempSync(join(tmpdir(), 'sftpfs-read-sizes-'));
  state.manager = new ConnectionManager({
    resolveHost: state.server.clientConfig(state.dir),
    logger: new RecordingLogger(),
    prompts: new ScriptedPrompts({ passwords: Array<string>(100).fill(state.server.password) }),
    fileSystem: { maxReadFileBytes: 16 * 1024 * 1024, attributeLifetimeMs: 0 },
    lifecycle: { idleTimeoutMs: 0 },
  });
  state.fs = state.manager.fileSystem('hostile');
});
beforeEach(() => {
  // Each test starts on a new session, which has learned nothing yet, against an honest server.
  state.manager.disconnect('hostile');
  state.server.reset();
});
after(async () => {
  state.manager?.dispose();
  await state.server?.close();
  rmSync(state.dir, { recursive: true, force: true });
});

describe('a server that states no limits', () => {
  test('is read with 255 KiB READs when it answers them in full, and the session keeps that length', async () => {
    const content = patternBytes(4 * MAX_READ_LENGTH + 5, 3);
    state.server.tree.set(home('big.bin'), { kind: 'file', data: content });
    const sent = await readsDuring(async () => {
      assert.deepEqual(Buffer.from(await state.fs.readFile(home('big.bin'))), content);
    });
    assert.deepEqual(lengthsOf(sent), [
      MAX_READ_LENGTH,
      MAX_READ_LENGTH,
      MAX_READ_LENGTH,
      MAX_READ_LENGTH,
      5,
      MAX_READ_LENGTH,
    ]);
    assert.equal((await session()).readLength, MAX_READ_LENGTH);
    assert.equal((await session()).readLengthBasis, 'honoured');
    assert.match(
      state.manager.info('hostile')?.featureGaps.join('\n') ?? '',
      /reads ask for 255 KiB and settle on what the server answers/,
    );
  });

  test('that caps READs at 10000 bytes still yields every byte, and later reads ask for 10000', async () => {
    state.server.readCap = 10_000;
    const first = patternBytes(300_000, 5);
    state.server.tree.set(home('first.bin'), { kind: 'file', data: first });
    assert.deepEqual(Buffer.from(await state.fs.readFile(home('first.bin'))), first);
    assert.equal((await session()).readLength, 10_000);
    assert.equal((await session()).readLengthBasis, 'capped');

    const second = patternBytes(95_000, 6);
    state.server.tree.set(home('second.bin'), { kind: 'file', data: second });
    const sent = await readsDuring(async () => {
      assert.deepEqual(Buffer.from(await state.fs.readFile(home('second.bin'))), second);
    });
    assert.ok(
      sent.every((request) => (request.length ?? Infinity) <= 10_000),
      `READs longer than the cap: ${lengthsOf(sent).join(', ')}`,
    );
    assert.equal(
      sent.length,
      Math.ceil(95_000 / 10_000) + 1,
      'one READ per 10000 bytes, and one to see the end',
    );
  });

  test('that refuses long READs with FAILURE still yields every byte, and later reads keep the safe length', async () => {
    state.server.refuseReadsOver = 32 * 1024;
    const first = patternBytes(200_000, 7);
    state.server.tree.set(home('first.bin'), { kind: 'file', data: first });
    assert.deepEqual(Buffer.from(await state.fs.readFile(home('first.bin'))), first);
    assert.equal((await session()).readLength, SAFE_READ_LENGTH);
    assert.equal((await session()).readLengthBasis, 'refused');

    const second = patternBytes(100_000, 8);
    state.server.tree.set(home('second.bin'), { kind: 'file', data: second });
    const sent = await readsDuring(async () => {
      assert.deepEqual(Buffer.from(await state.fs.readFile(home('second.bin'))), second);
    });
    assert.deepEqual(lengthsOf(sent), [
      SAFE_READ_LENGTH,
      SAFE_READ_LENGTH,
      SAFE_READ_LENGTH,
      4144,
      SAFE_READ_LENGTH,
    ]);
  });

  test('that fails every READ reports the failure: the retry at the safe length hides no real error', async () => {
    state.server.refuseReadsOver = 0;
    // Longer than the safe length, so its first READ is one that is asked again shorter.
    state.server.tree.set(home('unreadable.bin'), { kind: 'file', data: patternBytes(100_000) });
    const sent = await readsDuring(() => rejectsWith(state.fs.readFile(home('unreadable.bin')), 'EFAILURE'));
    assert.ok(lengthsOf(sent).includes(SAFE_READ_LENGTH), 'the READ was asked again at the safe length');
    assert.equal(
      (await session()).readLengthBasis,
      'trying',
      'nothing learned from a failure at every length',
    );
  });
});

describe('a server that states more than ssh2 can receive', () => {
  test('is read with READs no longer than a reply ssh2 accepts (ProFTPD 1.3.10 states 511 KiB)', async () => {
    state.server.extensions = { ...state.server.extensions, 'limits@openssh.com': '1' };
    state.server.limits = {
      maxPacketLength: 512 * 1024,
      maxReadLength: 512 * 1024 - 1024,
      maxWriteLength: 512 * 1024 - 1024,
      maxOpenHandles: 100,
    };
    try {
      const content = patternBytes(1024 * 1024, 9);
      state.server.tree.set(home('big.bin'), { kind: 'file', data: content });
      const sent = await readsDuring(async () => {
        assert.deepEqual(Buffer.from(await state.fs.readFile(home('big.bin'))), content);
      });
      assert.equal(Math.max(...lengthsOf(sent)), MAX_READ_LENGTH);
      assert.equal((await session()).readLengthBasis, 'fixed');
    } finally {
      state.server.extensions = { 'posix-rename@openssh.com': '1', 'fsync@openssh.com': '1' };
    }
  });
});

describe('reads in flight sized to the file', () => {
  const pastTheEnd = (sent: readonly RequestSeen[], size: number): number =>
    sent.filter((request) => (request.offset ?? 0) >= size).length;

  test('a small file costs one READ and one that sees its end', async () => {
    state.server.tree.set(home('small.txt'), { kind: 'file', data: Buffer.alloc(100, 1) });
    const sent = await readsDuring(() => state.fs.readFile(home('small.txt')));
    assert.equal(sent.length, 2);
    assert.equal(pastTheEnd(sent, 100), 1);
  });

  test('a copy through this machine sends no READ past the one that sees the end', async () => {
    const size = 100_000; // four chunks of the 31952-byte WRITEs a server stating no limits gets
    state.server.tree.set(home('source.bin'), { kind: 'file', data: patternBytes(size, 10) });
    const sent = await readsDuring(() =>
      state.fs.copy(home('source.bin'), home('copy.bin'), { overwrite: false }),
    );
    const copied = state.server.tree.get(home('copy.bin'));
    assert.ok(copied?.kind === 'file' && copied.data.equals(patternBytes(size, 10)));
    assert.equal(pastTheEnd(sent, size), 1, `READs at ${sent.map((request) => request.offset).join(', ')}`);
    assert.equal(sent.length, Math.ceil(size / SAFE_READ_LENGTH) + 1);
  });

  test('a file that grew far past its STAT size is read whole, with reads in flight growing as data keeps coming', async () => {
    const content = patternBytes(3 * 1024 * 1024, 11);
    state.server.tree.set(home('grown.bin'), { kind: 'file', data: content, claimedSize: 10 });
    const sent = await readsDuring(async () => {
      assert.deepEqual(Buffer.from(await state.fs.readFile(home('grown.bin'))), content);
    });
    // Rounds of 1, 2, 4, 8 READs after the first flight: only the last round reaches past the end.
    assert.ok(
      pastTheEnd(sent, content.length) <= 8,
      `${pastTheEnd(sent, content.length)} READs past the end`,
    );
  });
});

describe('replies as the channel delivers them', () => {
  test('DATA replies cut at any byte (headers split) and run together (several in one packet) read byte for byte', async () => {
    // The client copies DATA straight into place as it arrives (receiveDataDirectly); ssh2's parser
    // takes everything else. Both must agree where each reply starts, however the bytes come.
    const content = patternBytes(3 * MAX_READ_LENGTH + 4321, 11);
    state.server.tree.set(home('pieces.bin'), { kind: 'file', data: content });
    const random = randomSource(42);
    let held: Buffer | undefined;
    state.server.rewrite = ({ packet }) => {
      const whole = frame(packet);
      if (held === undefined && packet[0] === SFTP.DATA && random(2) === 0) {
        held = whole; // sent together with the next reply
        return [];
      }
      const out = held === undefined ? whole : Buffer.concat([held, whole]);
      held = undefined;
      const pieces: Buffer[] = [];
      for (let at = 0; at < out.length;) {
        const size = [1, 2, 3, 5, 13, 14][random(6)] ?? 1;
        const length = random(4) === 0 ? size : 1 + random(40_000);
        pieces.push(out.subarray(at, at + length));
        at += length;
      }
      return pieces;
    };
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(Buffer.from(await state.fs.readFile(home('pieces.bin'))), content);
    }
  });
});
