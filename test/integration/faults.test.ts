import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { SftpSession } from '../../src/core/sftp/session';
import { ensureSharedAccounts, sharedAccountsUnavailable, type SharedAccounts } from '../support/accounts';
import { FaultProxy, type Direction } from '../support/faultProxy';
import { RecordingLogger, patternBytes } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * Link faults injected by a TCP relay in front of a real OpenSSH sshd: connections cut after exactly
 * N bytes in either direction, the server looking down while we reconnect, a stalled link.
 */
const MiB = 1024 * 1024;
const state = {} as {
  sshd: SshdFixture;
  proxy: FaultProxy;
  manager: ConnectionManager;
  fs: RemoteFileSystem;
  accounts?: SharedAccounts;
  /** A second host, reached directly: copies between it and the host behind the cut link. */
  other: SshdFixture;
};
const summary = {
  faults: 0,
  savesCut: 0,
  inPlaceCut: 0,
  crossHostCut: 0,
  endedOld: 0,
  endedNew: 0,
  saveErrors: 0,
};

before(async () => {
  state.sshd = await startSshd();
  if (sharedAccountsUnavailable === undefined) {
    state.accounts = ensureSharedAccounts(); // before the first login, so the session has the group
  }
  state.other = await startSshd({ alias: 'faults-other' });
  state.proxy = await FaultProxy.start(state.sshd.port);
  const knownHosts = join(state.sshd.dir, 'known_hosts_faults');
  writeFileSync(knownHosts, `[127.0.0.1]:${state.proxy.port} ${state.sshd.hostPublicKey}\n`);
  state.manager = new ConnectionManager({
    resolveHost: (authority) =>
      authority.host === state.other.alias
        ? state.other.resolve(authority)
        : {
            ...state.sshd.resolve(authority),
            port: state.proxy.port,
            userKnownHostsFiles: [knownHosts],
            connectTimeoutMs: 2000,
          },
    logger: new RecordingLogger(),
    fileSystem: { maxReadFileBytes: 64 * MiB },
    session: { stallTimeoutMs: 1000 },
    lifecycle: { idleTimeoutMs: 0, reconnectDelaysMs: [20, 50], maxReconnectAttempts: 2 },
  });
  state.fs = state.manager.fileSystem(state.sshd.alias);
});
after(async () => {
  state.manager?.dispose();
  await state.proxy?.close();
  await state.sshd?.stop();
  await state.other?.stop();
  console.log(
    `fault summary: ${summary.faults} faults injected, ${summary.savesCut} saves cut ` +
      `(${summary.inPlaceCut} in place, a colleague's file; ${summary.crossHostCut} copies between two hosts), ` +
      `${summary.endedOld + summary.endedNew} files verified (${summary.endedOld} old, ${summary.endedNew} new), ` +
      `${summary.saveErrors} save errors reported, ` +
      (summary.endedOld + summary.endedNew === summary.savesCut
        ? 'nothing lost'
        : `${summary.savesCut - summary.endedOld - summary.endedNew} cut saves NOT verified`),
  );
});
beforeEach(() => {
  state.proxy.refuseNew(false);
  state.proxy.resume();
});

const temporariesIn = (folder: string): string[] =>
  readdirSync(folder).filter((name) => name.includes(TEMP_MARKER));

/** The connection is up (reconnecting through a healed link when needed). */
async function connected(): Promise<void> {
  await state.fs.stat('/');
}

/**
 * Runs `operation` with the link cut after `bytes` more bytes in `direction`, and the server refusing
 * reconnects meanwhile, so a transparent retry cannot hide the fault. Answers the error, if any.
 */
async function underCut(cut: Cut, operation: () => Promise<unknown>): Promise<RemoteFsError | undefined> {
  await connected();
  state.proxy.refuseNew(true);
  const restore = arm(cut);
  summary.faults++;
  try {
    await operation();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof RemoteFsError, `a RemoteFsError, not ${String(error)}`);
    return error;
  } finally {
    restore();
    state.proxy.disarm();
    state.proxy.refuseNew(false);
  }
}

/**
 * Where a cut lands: after `bytes` more bytes in `direction` from the start of the operation, or from
 * the moment the save sends its final rename (`atRename`), to cut inside that one request or reply.
 */
interface Cut {
  readonly direction: Direction;
  readonly bytes: number;
  readonly atRename?: boolean;
  /** From the moment a save in place removes its copy of the original: the write is complete. */
  readonly atBackupRemoval?: boolean;
}

function arm(cut: Cut): () => void {
  if (cut.atBackupRemoval) {
    const original = SftpSession.prototype.unlink;
    SftpSession.prototype.unlink = function (this: SftpSession, path: string) {
      if (path.endsWith('.bak')) {
        state.proxy.cutAfter(cut.direction, cut.bytes);
      }
      return original.call(this, path);
    };
    return () => {
      SftpSession.prototype.unlink = original;
    };
  }
  if (!cut.atRename) {
    state.proxy.cutAfter(cut.direction, cut.bytes);
    return () => undefined;
  }
  const original = SftpSession.prototype.posixRename;
  SftpSession.prototype.posixRename = function (this: SftpSession, from: string, to: string) {
    state.proxy.cutAfter(cut.direction, cut.bytes);
    return original.call(this, from, to);
  };
  return () => {
    SftpSession.prototype.posixRename = original;
  };
}

const describeCut = (cut: Cut): string =>
  `${cut.bytes} bytes ${cut.direction}${cut.atRename ? ' into the rename' : ''}${cut.atBackupRemoval ? ' into the removal of the copy' : ''}`;

function assertUnavailable(error: RemoteFsError | undefined, what: string): void {
  assert.ok(error !== undefined, `${what} reported success although the link was cut`);
  assert.ok(
    ['ECONNLOST', 'ECONNECT', 'ETIMEDOUT'].includes(error.code),
    `${what}: a connection error, got ${error.code}: ${error.message}`,
  );
  assert.match(error.message, /connect|lost|answer/i);
}

/** `count` cut points spread over `total` bytes in `direction`, the first at the very start. */
function spreadFromStart(direction: Direction, total: number, count: number): Cut[] {
  return Array.from({ length: count }, (_, i) => ({ direction, bytes: Math.floor((total * i) / count) + 1 }));
}

/** `count` cut points spread inside `total` bytes in `direction`, neither at the start nor at the end. */
function spreadInside(direction: Direction, total: number, count: number): Cut[] {
  return Array.from({ length: count }, (_, i) => ({
    direction,
    bytes: Math.floor((total * (i + 1)) / (count + 1)),
  }));
}

/**
 * After a cut save or copy: `path` holds the old content or the new one (the new one when no error
 * was reported), and the summary counts which. Answers true for the old content.
 */
function assertOldOrNew(
  path: string,
  old: Buffer,
  replacement: Buffer,
  cut: Cut,
  error: RemoteFsError | undefined,
): boolean {
  const now = readFileSync(path);
  const isOld = now.equals(old);
  assert.ok(
    isOld || now.equals(replacement),
    `after a cut at ${describeCut(cut)}: ${now.length} bytes, neither old nor new`,
  );
  if (error === undefined) {
    assert.ok(!isOld, 'a save or copy reported as done holds the new content');
  }
  summary[isOld ? 'endedOld' : 'endedNew']++;
  return isOld;
}

/** Bytes relayed in each direction while `operation` runs on a healthy link. */
async function measure(operation: () => Promise<unknown>): Promise<Record<Direction, number>> {
  await connected();
  const up = state.proxy.relayed('up');
  const down = state.proxy.relayed('down');
  await operation();
  return { up: state.proxy.relayed('up') - up, down: state.proxy.relayed('down') - down };
}

describe('a save cut by the link', () => {
  test('leaves the old or the new content, never anything else, at 120 cut points across the transfer and the rename', async () => {
    const folder = state.sshd.mkdirLocal('cut-saves');
    const remote = join(folder, 'file.bin');
    const before = patternBytes(4 * MiB - 999, 41);
    const after = patternBytes(4 * MiB, 42);
    const save = (): Promise<void> => state.fs.writeFile(remote, after, { create: true, overwrite: true });

    state.sshd.writeLocal('cut-saves/file.bin', before);
    const traffic = await measure(save);
    // 100 points spread over everything the save sends, 10 over what it receives, then 10 inside the
    // final rename: its request cut short (the server never renames) or its reply cut short (the
    // server renamed, the client never heard).
    const points: Cut[] = [
      ...spreadFromStart('up', traffic.up, 100),
      ...spreadInside('down', traffic.down, 10),
      ...[1, 16, 32, 48, 64].map((bytes) => ({ direction: 'up' as const, bytes, atRename: true })),
      ...[1, 2, 4, 8, 16].map((bytes) => ({ direction: 'down' as const, bytes, atRename: true })),
    ];
    for (const cut of points) {
      state.sshd.writeLocal('cut-saves/file.bin', before);
      const error = await underCut(cut, save);
      summary.savesCut++;
      if (error !== undefined) {
        summary.saveErrors++;
        assertUnavailable(error, `save cut after ${describeCut(cut)}`);
        assert.equal(error.path, remote, 'the error names the file being saved');
      }
      await connected(); // reconnects and removes what the cut left behind
      assertOldOrNew(remote, before, after, cut, error);
      assert.deepEqual(temporariesIn(folder), [], `temporaries after a cut at ${describeCut(cut)}`);
    }
    assert.ok(summary.endedOld > 0 && summary.endedNew > 0, 'cuts landed both before and after the rename');
  });
});

describe('a save in place cut by the link', { skip: sharedAccountsUnavailable }, () => {
  test("a colleague's file written in place ends old or new, keeps its owner, group, mode and inode, and leaves no copy, at 64 cut points", async () => {
    const accounts = state.accounts as SharedAccounts;
    const folder = state.sshd.mkdirLocal('cut-in-place');
    const remote = join(folder, 'shared.bin');
    const before = patternBytes(MiB + 333, 61);
    const after = patternBytes(MiB - 777, 62);
    const save = (): Promise<void> => state.fs.writeFile(remote, after, { create: true, overwrite: true });
    const reset = (): void => {
      state.sshd.writeLocal('cut-in-place/shared.bin', before, 0o664);
      chownSync(remote, accounts.colleagueUid, accounts.sharedGid);
      chmodSync(remote, 0o664);
    };
    const identity = (): string => {
      const { uid, gid, mode, ino } = statSync(remote);
      return `${uid}:${gid} ${(mode & 0o7777).toString(8)} inode ${ino}`;
    };

    reset();
    await save(); // the first save on a connection learns who the user is; the cut ones know it
    reset();
    const traffic = await measure(save);
    const points: Cut[] = [
      ...spreadFromStart('up', traffic.up, 50),
      ...spreadInside('down', traffic.down, 10),
      // The write done and flushed: the copy's removal cut short, or its answer.
      ...[1, 32].map((bytes) => ({ direction: 'up' as const, bytes, atBackupRemoval: true })),
      ...[1, 8].map((bytes) => ({ direction: 'down' as const, bytes, atBackupRemoval: true })),
    ];
    let endedOld = 0;
    for (const cut of points) {
      reset();
      const kept = identity();
      const error = await underCut(cut, save);
      summary.savesCut++;
      summary.inPlaceCut++;
      if (error !== undefined) {
        summary.saveErrors++;
        assertUnavailable(error, `save in place cut after ${describeCut(cut)}`);
      }
      await connected(); // reconnects, puts the original back if the write was cut, removes the copy
      endedOld += assertOldOrNew(remote, before, after, cut, error) ? 1 : 0;
      assert.equal(identity(), kept, `owner, group, mode or inode changed by a cut at ${describeCut(cut)}`);
      assert.deepEqual(temporariesIn(folder), [], `copies left after a cut at ${describeCut(cut)}`);
    }
    assert.ok(endedOld > 0 && endedOld < points.length, 'cuts landed both before and after the write');
  });
});

describe('a copy between two hosts cut by the link', () => {
  for (const side of ['destination', 'source'] as const) {
    test(`with the ${side} behind the cut link: the destination ends old or new, the source intact, nothing left behind, at 30 cut points`, async () => {
      const other = state.manager.fileSystem(state.other.alias);
      const old = patternBytes(300_000, 71);
      const copied = patternBytes(2 * MiB + 5, 72);
      // The host behind the proxy is the one whose link is cut.
      const [sourceHost, targetHost] =
        side === 'destination' ? [state.other, state.sshd] : [state.sshd, state.other];
      const [sourceFs, targetFs] = side === 'destination' ? [other, state.fs] : [state.fs, other];
      const source = sourceHost.writeLocal(`cross-${side}-source.bin`, copied);
      const target = targetHost.local(`cross-${side}-target.bin`);
      const copy = (): Promise<void> => targetFs.copyFrom(sourceFs, source, target, { overwrite: true });
      const reset = (): void => void targetHost.writeLocal(`cross-${side}-target.bin`, old);

      reset();
      const traffic = await measure(copy);
      // Through the cut link go the copy's data (up to the destination, down from the source) and
      // the requests and answers around it.
      const [data, control] = side === 'destination' ? (['up', 'down'] as const) : (['down', 'up'] as const);
      const points: Cut[] = [
        ...spreadFromStart(data, traffic[data], 25),
        ...spreadInside(control, traffic[control], 5),
      ];
      for (const cut of points) {
        reset();
        const error = await underCut(cut, copy);
        summary.savesCut++;
        summary.crossHostCut++;
        if (error !== undefined) {
          summary.saveErrors++;
          assertUnavailable(error, `copy cut after ${describeCut(cut)}`);
        }
        await connected(); // the host behind the cut link reconnects and removes what the cut left
        await targetFs.stat(target);
        assertOldOrNew(target, old, copied, cut, error);
        assert.ok(readFileSync(source).equals(copied), 'the source is untouched');
        assert.deepEqual(
          temporariesIn(targetHost.root),
          [],
          `temporaries after a cut at ${describeCut(cut)}`,
        );
      }
    });
  }
});

describe('other operations cut by the link', () => {
  test('readFile fails with a connection error, returns nothing partial, and succeeds once the link is back', async () => {
    const content = patternBytes(4 * MiB, 43);
    const remote = state.sshd.writeLocal('cut-read.bin', content);
    const traffic = await measure(() => state.fs.readFile(remote));
    let partial: Uint8Array | undefined;
    const error = await underCut({ direction: 'down', bytes: Math.floor(traffic.down / 2) }, async () => {
      partial = await state.fs.readFile(remote);
    });
    assertUnavailable(error, 'readFile');
    assert.equal(partial, undefined);
    assert.ok(Buffer.from(await state.fs.readFile(remote)).equals(content));
  });

  test('readDirectory fails with a connection error rather than answering part of the folder', async () => {
    const folder = state.sshd.mkdirLocal('cut-listing');
    for (let i = 0; i < 3000; i++) {
      state.sshd.writeLocal(`cut-listing/entry-${i}.txt`, '');
    }
    const traffic = await measure(() => state.fs.readDirectory(folder));
    let partial: unknown;
    const error = await underCut({ direction: 'down', bytes: Math.floor(traffic.down / 2) }, async () => {
      partial = await state.fs.readDirectory(folder);
    });
    assertUnavailable(error, 'readDirectory');
    assert.equal(partial, undefined);
    assert.equal((await state.fs.readDirectory(folder)).length, 3000);
  });

  test('a recursive delete fails with a connection error and completes when repeated', async () => {
    const folder = state.sshd.mkdirLocal('cut-delete');
    for (let d = 0; d < 10; d++) {
      state.sshd.mkdirLocal(`cut-delete/sub-${d}`);
      for (let f = 0; f < 30; f++) {
        state.sshd.writeLocal(`cut-delete/sub-${d}/f-${f}`, 'x');
      }
    }
    const error = await underCut({ direction: 'up', bytes: 20_000 }, () =>
      state.fs.delete(folder, { recursive: true }),
    );
    assertUnavailable(error, 'delete');
    assert.ok(existsSync(folder), 'the cut came before the delete finished');
    await state.fs.delete(folder, { recursive: true });
    assert.ok(!existsSync(folder));
  });

  test('a folder copy cut halfway leaves no partial folder under the target name, and can be repeated', async () => {
    const from = state.sshd.mkdirLocal('cut-copy-source');
    for (let d = 0; d < 5; d++) {
      state.sshd.mkdirLocal(`cut-copy-source/sub-${d}`);
      for (let f = 0; f < 20; f++) {
        state.sshd.writeLocal(`cut-copy-source/sub-${d}/f-${f}`, patternBytes(1000, d * 100 + f));
      }
    }
    const to = state.sshd.local('cut-copy-target');
    const error = await underCut({ direction: 'up', bytes: 15_000 }, () =>
      state.fs.copy(from, to, { overwrite: false }),
    );
    assertUnavailable(error, 'copy');
    assert.ok(!existsSync(to), 'no partial copy under the target name');
    await state.fs.copy(from, to, { overwrite: false });
    for (let d = 0; d < 5; d++) {
      for (let f = 0; f < 20; f++) {
        assert.ok(readFileSync(join(to, `sub-${d}`, `f-${f}`)).equals(patternBytes(1000, d * 100 + f)));
      }
    }
    assert.deepEqual(temporariesIn(state.sshd.root), [], 'the cut copy left nothing behind');
  });
});

describe('a stalled link', () => {
  test('fails pending requests with ETIMEDOUT within the stall timeout, then works once the link moves again', async () => {
    const remote = state.sshd.writeLocal('stalled.txt', 'patience');
    await connected();
    state.proxy.stall();
    summary.faults++;
    const started = Date.now();
    const error = await state.fs.readFile(remote).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const waited = Date.now() - started;
    assert.ok(error instanceof RemoteFsError, String(error));
    assert.ok(['ETIMEDOUT', 'ECONNECT', 'ECONNLOST'].includes(error.code), error.message);
    assert.ok(waited < 10_000, `gave up after ${waited} ms`);
    state.proxy.resume();
    state.proxy.cutAll();
    assert.equal(Buffer.from(await state.fs.readFile(remote)).toString(), 'patience');
  });
});
