import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { parseAuthority } from '../../src/core/config/authority';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { ArrivingContent } from '../../src/core/sftp/arrivingContent';
import { PreopenedLanes } from '../../src/core/sftp/preopenedLanes';
import type { SftpSession } from '../../src/core/sftp/session';
import { startStripedUpload, writeWholeFile } from '../../src/core/sftp/stripedUpload';
import { readWholeFile } from '../../src/core/sftp/transfer';
import { SshConnection } from '../../src/core/ssh/sshConnection';
import { FaultProxy } from '../support/faultProxy';
import { settleRoundTrip } from '../support/readerThreads';
import { RecordingLogger, managerThroughRelay, patternBytes, rejectsWith, useSshd } from '../support/harness';

const h = useSshd();
const CHUNK = 261120; // OpenSSH's max-read-length
const MiB = 1024 * 1024;

/** A main session and extra channels on one real connection, as HostConnection hands them out. */
async function openChannels(
  extra: number,
): Promise<{ main: SftpSession; lanes: SftpSession[]; close(): void }> {
  const logger = new RecordingLogger();
  const host = h.sshd.resolve(parseAuthority(h.sshd.alias));
  const connection = await SshConnection.open(host, { logger, resolveHost: (a) => h.sshd.resolve(a) });
  const main = await connection.openSftp();
  const lanes = await Promise.all(Array.from({ length: extra }, () => connection.openSftp()));
  return { main, lanes, close: () => connection.close() };
}

/** Stores `content` as `name` and reads it over a main channel and 3 lanes, told its size is `sizeHint`. */
async function stripedRead(
  name: string,
  content: Buffer,
  sizeHint: number,
): Promise<{ read: Buffer; lanes: SftpSession[] }> {
  const remote = h.sshd.writeLocal(name, content);
  const { main, lanes, close } = await openChannels(3);
  try {
    const read = await main.withFile(remote, 'r', {}, (handle) =>
      readWholeFile(main, handle, remote, sizeHint, 1 << 30, lanes),
    );
    return { read, lanes };
  } finally {
    close();
  }
}

/** The file holds `content`, and every lane wrote through one handle of its own, closed since. */
function assertEveryLaneWrote(remote: string, content: Buffer, lanes: readonly SftpSession[]): void {
  assert.ok(readFileSync(remote).equals(content));
  for (const lane of lanes) {
    assert.equal(lane.peakOpenHandles, 1, 'every lane wrote through a handle of its own');
    assert.equal(lane.openHandleCount, 0);
  }
}

/** Lanes handed over too late: waited for a moment past their arrival, none opened the file. */
async function assertNoLaneOpened(arrival: Promise<readonly SftpSession[]>): Promise<void> {
  const lanes = await arrival;
  await delay(50);
  for (const lane of lanes) {
    assert.equal(lane.peakOpenHandles, 0, 'a lane that came too late opened nothing');
  }
}

/** Waits (up to 5 s) until every lane passes `test`: the lanes' OPENs are answered asynchronously. */
async function untilEveryLane(
  lanes: readonly SftpSession[],
  test: (lane: SftpSession) => boolean,
  what: string,
): Promise<void> {
  for (let waited = 0; !lanes.every(test); waited += 10) {
    assert.ok(waited < 5000, `not every lane ${what}`);
    await delay(10);
  }
}

const holdsAHandle = (lane: SftpSession): boolean => lane.openHandleCount === 1;

/** Every lane opened the file once and has closed it since (CLOSE answered). */
async function assertEveryLaneClosed(lanes: readonly SftpSession[]): Promise<void> {
  // A lane's count drops when the server answered its CLOSE; one that never sends it fails here.
  await untilEveryLane(lanes, (lane) => lane.openHandleCount === 0, 'closed its handle');
  for (const lane of lanes) {
    assert.equal(lane.peakOpenHandles, 1, 'the lane opened the file once');
  }
}

describe('transfers striped over several SFTP channels', () => {
  test('a striped read returns the file byte for byte when the stripes do not end on chunk bounds', async () => {
    const content = patternBytes(7 * CHUNK + 12345, 21);
    const { read, lanes } = await stripedRead('striped-read.bin', content, content.length);
    assert.ok(read.equals(content));
    for (const lane of lanes) {
      assert.equal(lane.peakOpenHandles, 1, 'every lane read its stripe through a handle of its own');
    }
  });

  test('a striped read still reads to the end when the file grew after its size was taken', async () => {
    const content = patternBytes(5 * CHUNK + 99, 22);
    const { read } = await stripedRead('striped-grew.bin', content, 2 * CHUNK);
    assert.ok(read.equals(content));
  });

  test('a striped read stops at the real end when the file shrank after its size was taken', async () => {
    const content = patternBytes(CHUNK + 17, 23);
    const { read } = await stripedRead('striped-shrank.bin', content, 9 * CHUNK);
    assert.ok(read.equals(content));
  });

  test('lanes that come while the main channel reads take a share of what it has not asked for yet', async () => {
    const content = patternBytes(100 * CHUNK + 4321, 28); // more than the main channel's 64 in flight
    const remote = h.sshd.writeLocal('striped-late-lanes.bin', content);
    const { main, lanes, close } = await openChannels(3);
    try {
      const joined: number[] = [];
      const later = new Promise<SftpSession[]>((resolve) => setImmediate(() => resolve(lanes)));
      const read = await main.withFile(remote, 'r', {}, (handle) =>
        readWholeFile(main, handle, remote, content.length, 1 << 30, later, (count) => joined.push(count)),
      );
      assert.ok(read.equals(content));
      assert.deepEqual(joined, [3]);
      for (const lane of lanes) {
        assert.equal(lane.peakOpenHandles, 1, 'every lane read a stripe through a handle of its own');
        assert.equal(lane.openHandleCount, 0);
      }
    } finally {
      close();
    }
  });

  test('a read does not wait for lanes that come after the main channel has read everything', async () => {
    const content = patternBytes(3 * CHUNK + 10, 29);
    const remote = h.sshd.writeLocal('striped-lanes-too-late.bin', content);
    const { main, lanes, close } = await openChannels(3);
    try {
      const later = delay(2000).then(() => lanes);
      const started = Date.now();
      const read = await main.withFile(remote, 'r', {}, (handle) =>
        readWholeFile(main, handle, remote, content.length, 1 << 30, later),
      );
      assert.ok(read.equals(content));
      assert.ok(Date.now() - started < 1500, `the read took ${Date.now() - started} ms`);
      await assertNoLaneOpened(later);
    } finally {
      close();
    }
  });

  test('lanes that opened the file before the main channel knew its size read their stripes through those handles', async () => {
    const content = patternBytes(30 * CHUNK + 77, 33);
    const remote = h.sshd.writeLocal('striped-preopened.bin', content);
    const { main, lanes, close } = await openChannels(3);
    try {
      const preopened = new PreopenedLanes(lanes, remote);
      // Before the main channel has even opened the file.
      await untilEveryLane(lanes, holdsAHandle, 'opened the file');
      const joined: number[] = [];
      const read = await main.withFile(remote, 'r', {}, (handle) =>
        readWholeFile(main, handle, remote, content.length, 1 << 30, preopened, (count) =>
          joined.push(count),
        ),
      );
      preopened.release();
      assert.ok(read.equals(content));
      assert.deepEqual(joined, [3]);
      await assertEveryLaneClosed(lanes); // no lane opened the file a second time
    } finally {
      close();
    }
  });

  test('lanes that opened the file and are given no stripe close their handles unused', async () => {
    const remote = h.sshd.writeLocal('striped-preopened-unused.bin', patternBytes(1000, 34));
    const { lanes, close } = await openChannels(3);
    try {
      const preopened = new PreopenedLanes(Promise.resolve(lanes), remote);
      await untilEveryLane(lanes, holdsAHandle, 'opened the file');
      preopened.release();
      await assertEveryLaneClosed(lanes);
    } finally {
      close();
    }
  });

  test('lanes let go before their OPEN was answered close their handles once it is', async () => {
    const remote = h.sshd.writeLocal('striped-preopened-released-early.bin', patternBytes(1000, 35));
    const { lanes, close } = await openChannels(3);
    try {
      new PreopenedLanes(lanes, remote).release(); // in the same tick as the OPENs went out
      // They may close again before a look at them finds the handle open: a peak of one says they opened.
      await untilEveryLane(lanes, (lane) => lane.peakOpenHandles === 1, 'opened the file');
      await assertEveryLaneClosed(lanes);
    } finally {
      close();
    }
  });

  test('a read whose lanes could not open the file fails with their error instead of answering bytes they never read', async () => {
    const content = patternBytes(20 * CHUNK, 36);
    const remote = h.path('striped-preopened-missing.bin');
    const { main, lanes, close } = await openChannels(3);
    try {
      // The lanes' OPENs find no file; by the time the main channel opens it, it is there.
      const preopened = new PreopenedLanes(lanes, remote);
      await delay(300);
      writeFileSync(remote, content);
      await rejectsWith(
        main.withFile(remote, 'r', {}, (handle) =>
          readWholeFile(main, handle, remote, content.length, 1 << 30, preopened),
        ),
        'ENOENT',
      );
      preopened.release();
      for (const lane of lanes) {
        assert.equal(lane.peakOpenHandles, 0, 'no lane held a handle');
      }
    } finally {
      close();
    }
  });

  test('a striped write lands byte for byte and closes every lane handle', async () => {
    const content = patternBytes(9 * CHUNK + 777, 24); // ten chunks: two per channel
    const remote = h.path('striped-write.bin');
    const { main, lanes, close } = await openChannels(4);
    try {
      const filled = await main.withFile(remote, 'w', {}, (handle) =>
        writeWholeFile(main, handle, remote, content, lanes),
      );
      assert.equal(filled.bytes, content.length);
      assertEveryLaneWrote(remote, content, lanes);
    } finally {
      close();
    }
  });

  test('an upload started before its file exists: the lanes open it again once the main OPEN created it, and every channel flushes', async () => {
    const content = patternBytes(9 * CHUNK + 4321, 25);
    const remote = h.path('striped-late-create.bin');
    const { main, lanes, close } = await openChannels(3);
    try {
      const upload = startStripedUpload({ session: main, path: remote, data: content, lanes, flush: true });
      // Long enough on loopback for every lane's OPEN to be refused: the file is not there yet.
      await delay(300);
      const filled = await main.withFile(remote, 'wx', {}, (handle) => upload.fill(handle));
      assert.equal(filled.flushed, true);
      assertEveryLaneWrote(remote, content, lanes);
    } finally {
      close();
    }
  });

  test('an upload whose lanes come while the main channel writes: they take a share of what it has not sent, and every channel flushes', async () => {
    const content = patternBytes(40 * CHUNK + 999, 30); // more than the main channel's 16 in flight
    const remote = h.path('striped-late-lanes-write.bin');
    const { main, lanes, close } = await openChannels(3);
    try {
      let arrive: (joining: SftpSession[]) => void = () => undefined;
      const later = new Promise<SftpSession[]>((resolve) => (arrive = resolve));
      const upload = startStripedUpload({
        session: main,
        path: remote,
        data: content,
        lanes: later,
        flush: true,
      });
      const filled = await main.withFile(remote, 'wx', {}, (handle) => {
        const filling = upload.fill(handle);
        setImmediate(() => arrive(lanes)); // the main channel's first WRITEs are out
        return filling;
      });
      assert.equal(filled.flushed, true);
      assertEveryLaneWrote(remote, content, lanes);
    } finally {
      close();
    }
  });

  test('lanes that come after the main channel sent its last WRITE open nothing, and the upload does not wait for them', async () => {
    const content = patternBytes(2 * CHUNK + 5, 31);
    const remote = h.path('striped-lanes-too-late-write.bin');
    const { main, lanes, close } = await openChannels(3);
    try {
      const later = delay(2000).then(() => lanes);
      const started = Date.now();
      const upload = startStripedUpload({
        session: main,
        path: remote,
        data: content,
        lanes: later,
        flush: true,
      });
      await main.withFile(remote, 'wx', {}, (handle) => upload.fill(handle));
      assert.ok(Date.now() - started < 1500, `the upload took ${Date.now() - started} ms`);
      assert.ok(readFileSync(remote).equals(content));
      await assertNoLaneOpened(later);
    } finally {
      close();
    }
  });

  test('lanes that come before the main OPEN answered wait for it, and write only once it created the file', async () => {
    const content = patternBytes(9 * CHUNK + 11, 32);
    const remote = h.path('striped-lanes-before-create.bin');
    const { main, lanes, close } = await openChannels(3);
    try {
      const upload = startStripedUpload({
        session: main,
        path: remote,
        data: content,
        lanes: Promise.resolve(lanes),
        flush: true,
      });
      await delay(300); // every lane's OPEN is refused: the file is not there yet
      const filled = await main.withFile(remote, 'wx', {}, (handle) => upload.fill(handle));
      assert.equal(filled.flushed, true);
      assertEveryLaneWrote(remote, content, lanes);
    } finally {
      close();
    }
  });

  test('an upload whose content is still being copied in writes each range only once its bytes are there', async () => {
    const content = patternBytes(24 * CHUNK + 77, 33);
    const remote = h.path('striped-arriving.bin');
    const { main, lanes, close } = await openChannels(3);
    try {
      // Only the first quarter is in place at first; the rest of the buffer holds zeros meanwhile.
      const buffer = Buffer.alloc(content.length);
      const arriving = new ArrivingContent();
      const quarter = 6 * CHUNK;
      content.copy(buffer, 0, 0, quarter);
      arriving.arrivedUpTo(quarter);
      const upload = startStripedUpload({
        session: main,
        path: remote,
        data: buffer,
        lanes,
        flush: true,
        contentReady: (end) => arriving.until(end),
      });
      const filled = main.withFile(remote, 'wx', {}, (handle) => upload.fill(handle));
      await delay(300); // every channel would have written all of its stripe by now
      for (let offset = quarter; offset < content.length; offset += 5 * CHUNK) {
        const end = Math.min(offset + 5 * CHUNK, content.length);
        content.copy(buffer, offset, offset, end);
        arriving.arrivedUpTo(end);
        await delay(20);
      }
      assert.equal((await filled).flushed, true);
      assertEveryLaneWrote(remote, content, lanes);
    } finally {
      close();
    }
  });

  test('an upload whose content stops coming fails, having written nothing past what came', async () => {
    const content = patternBytes(24 * CHUNK, 34);
    const remote = h.path('striped-never-arrived.bin');
    const { main, lanes, close } = await openChannels(3);
    try {
      const arriving = new ArrivingContent();
      const came = 5 * CHUNK + 100;
      arriving.arrivedUpTo(came);
      const upload = startStripedUpload({
        session: main,
        path: remote,
        data: content,
        lanes,
        flush: true,
        contentReady: (end) => arriving.until(end),
      });
      const filled = main.withFile(remote, 'wx', {}, (handle) => upload.fill(handle));
      await delay(200);
      arriving.fail(new Error('the copy stopped'));
      await assert.rejects(filled, /the copy stopped/);
      const written = readFileSync(remote);
      assert.ok(written.length <= came, `${written.length} bytes were written, only ${came} came`);
      assert.ok(written.equals(content.subarray(0, written.length)));
      for (const lane of lanes) {
        assert.equal(lane.openHandleCount, 0, 'every lane closed the file');
      }
    } finally {
      close();
    }
  });

  test('an abandoned upload writes nothing through the lanes that opened the file, and closes them', async () => {
    const original = patternBytes(12 * CHUNK, 26); // three chunks per channel
    const remote = h.sshd.writeLocal('striped-abandoned.bin', original);
    const { main, lanes, close } = await openChannels(3);
    try {
      const upload = startStripedUpload({
        session: main,
        path: remote,
        data: patternBytes(12 * CHUNK, 27),
        lanes,
        flush: true,
      });
      // The lanes' OPENs succeed (the file exists) long before the main OPEN would fail.
      await delay(300);
      await upload.abandon();
      assert.ok(readFileSync(remote).equals(original), 'no lane wrote a byte');
      for (const lane of lanes) {
        assert.equal(lane.peakOpenHandles, 1, 'the lane had opened the file');
        assert.equal(lane.openHandleCount, 0, 'and closed it');
      }
    } finally {
      close();
    }
  });
});

describe('when reads are striped', () => {
  let proxy: FaultProxy;
  let slow: ConnectionManager;
  const slowLogger = new RecordingLogger();
  /** What the log said about striped reads of `remote`, one line per read that other channels joined. */
  const readingLines = (remote: string): string[] =>
    slowLogger.lines.filter((line) => line.includes(`Reading ${remote}`));
  before(async () => {
    // 5 ms each way: a 10 ms round trip, a nearby data centre rather than loopback.
    proxy = await FaultProxy.start(h.sshd.port, { oneWayDelayMs: 5 });
    const knownHosts = join(h.sshd.dir, 'known_hosts_latency');
    writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ${h.sshd.hostPublicKey}\n`);
    slow = new ConnectionManager({
      resolveHost: (authority) => ({
        ...h.sshd.resolve(authority),
        port: proxy.port,
        userKnownHostsFiles: [knownHosts],
      }),
      logger: slowLogger,
      fileSystem: { maxReadFileBytes: 256 * MiB },
    });
    // Whether a read is striped depends on the measured round trip: measured before any test reads.
    await settleRoundTrip(await slow.session(h.sshd.alias), h.sshd.root);
  });
  after(async () => {
    slow?.dispose();
    await proxy?.close();
  });

  test('a large read over a link with a 10 ms round trip is striped over extra channels', async () => {
    // The first read opens the lanes while the main channel reads, the second finds them open.
    const content = patternBytes(32 * MiB + 5, 25);
    const remote = h.sshd.writeLocal('striped-slow.bin', content);
    const fs = slow.fileSystem(h.sshd.alias);
    for (let read = 0; read < 2; read++) {
      assert.ok(Buffer.from(await fs.readFile(remote)).equals(content));
    }
    const striped = slowLogger.lines.filter((line) => line.includes(`Reading ${remote}`));
    assert.equal(striped.length, 2, slowLogger.lines.join('\n'));
    // Lanes that come late share what is left: as many as have a whole chunk of it join.
    assert.match(striped[0] ?? '', /: [1-7] more SFTP channel\(s\) joined/);
    assert.match(striped[1] ?? '', /: 7 more SFTP channel\(s\) joined/);
  });

  test('a large file read before is read again with the lanes opening it beside the main OPEN, into a buffer touched during that OPEN', async () => {
    const content = patternBytes(24 * MiB + 3, 37);
    const remote = h.sshd.writeLocal('striped-read-again.bin', content);
    const fs = slow.fileSystem(h.sshd.alias);
    assert.ok(Buffer.from(await fs.readFile(remote)).equals(content));
    const first = readingLines(remote);
    assert.ok(
      !first.some((line) => line.includes('with the main OPEN') || line.includes('touched')),
      'the first read had no size to go by',
    );
    await delay(300); // the extra channels the first read asked for are open by now (four round trips)
    assert.ok(Buffer.from(await fs.readFile(remote)).equals(content));
    const again = readingLines(remote).slice(first.length)[0] ?? '';
    assert.match(
      again,
      /: 7 more SFTP channel\(s\) joined, their OPENs sent with the main OPEN/,
      slowLogger.lines.join('\n'),
    );
    // At least the slice touched in the turn the OPEN went out: its answer takes a 10 ms round trip.
    const touched = Number(/, ([\d.]+) MiB of its buffer touched during the OPEN/.exec(again)?.[1]);
    assert.ok(touched >= 1, again);
  });

  test('a large file listed a while ago is read with the lanes opening it beside the main OPEN', async () => {
    const fs = slow.fileSystem(h.sshd.alias);
    // Another large read first, so that the extra channels are open.
    await fs.readFile(h.sshd.writeLocal('striped-listed-warm-up.bin', patternBytes(9 * MiB, 41)));
    const folder = h.sshd.mkdirLocal('striped-listed');
    const content = patternBytes(10 * MiB + 1, 40);
    const remote = h.sshd.writeLocal('striped-listed/listed.bin', content);
    assert.deepEqual(
      (await fs.readDirectory(folder)).map(([name]) => name),
      ['listed.bin'],
    );
    await delay(1100); // past the attribute cache's second: only the size the listing saw is left
    assert.ok(Buffer.from(await fs.readFile(remote)).equals(content));
    assert.match(
      readingLines(remote)[0] ?? '',
      /joined, their OPENs sent with the main OPEN/,
      slowLogger.lines.join('\n'),
    );
  });

  test('a large file listed through a symlinked folder is read through the link with the lanes opening it beside the main OPEN', async () => {
    const fs = slow.fileSystem(h.sshd.alias);
    // Another large read first, so that the extra channels are open.
    await fs.readFile(h.sshd.writeLocal('striped-link-warm-up.bin', patternBytes(9 * MiB, 42)));
    const content = patternBytes(10 * MiB + 7, 43);
    h.sshd.mkdirLocal('striped-real-folder');
    h.sshd.writeLocal('striped-real-folder/data.bin', content);
    const linked = h.path('striped-linked-folder');
    symlinkSync(h.path('striped-real-folder'), linked);
    const remote = `${linked}/data.bin`;
    await fs.readDirectory(linked);
    await delay(1100); // past the attribute cache's second
    assert.ok(Buffer.from(await fs.readFile(remote)).equals(content));
    assert.match(
      readingLines(remote)[0] ?? '',
      /their OPENs sent with the main OPEN/,
      slowLogger.lines.join('\n'),
    );
  });

  test('a large file the login can no longer read fails with EACCES though its lanes opened beside the main OPEN', async () => {
    const remote = h.sshd.writeLocal('striped-then-unreadable.bin', patternBytes(12 * MiB, 44));
    const fs = slow.fileSystem(h.sshd.alias);
    assert.equal((await fs.readFile(remote)).length, 12 * MiB);
    chmodSync(remote, 0o000);
    try {
      await delay(1100);
      await rejectsWith(fs.readFile(remote), 'EACCES');
    } finally {
      chmodSync(remote, 0o644);
    }
    // And the lanes that were refused hold nothing back: the next read, readable again, is whole.
    assert.equal((await fs.readFile(remote)).length, 12 * MiB);
  });

  test('a file that was large when last read and is small or a folder now is read as it is now', async () => {
    const remote = h.sshd.writeLocal('striped-then-small.bin', patternBytes(16 * MiB, 38));
    const fs = slow.fileSystem(h.sshd.alias);
    assert.equal((await fs.readFile(remote)).length, 16 * MiB);
    const small = patternBytes(1000, 39);
    writeFileSync(remote, small);
    await delay(1100); // past the attribute cache's second: only the size seen by the last read is left
    assert.ok(Buffer.from(await fs.readFile(remote)).equals(small));
    rmSync(remote);
    mkdirSync(remote);
    await delay(1100);
    await rejectsWith(fs.readFile(remote), 'EISDIR');
  });

  test('a large read on loopback stays on one channel', async () => {
    const content = patternBytes(12 * MiB + 5, 26);
    const remote = h.sshd.writeLocal('unstriped-loopback.bin', content);
    const read = await h.fs.readFile(remote);
    assert.ok(Buffer.from(read).equals(content));
    assert.ok(!h.logger.lines.some((line) => line.includes(`Reading ${remote}`)), h.logger.lines.join('\n'));
  });
});

describe('on a thin line (20 Mbit/s, 40 ms round trip, a router queue of one bandwidth-delay product)', () => {
  let proxy: FaultProxy;
  let thin: ConnectionManager;
  before(async () => {
    proxy = await FaultProxy.start(h.sshd.port, { oneWayDelayMs: 20, bitsPerSecond: 20e6 });
    thin = managerThroughRelay(h.sshd, proxy.port, {
      fileSystem: { maxReadFileBytes: 256 * MiB },
    });
  });
  after(async () => {
    thin?.dispose();
    await proxy?.close();
  });

  test('reads and writes are byte for byte while flow control cuts requests to the line', async () => {
    // Past the first 2 MiB in flight the flow control has measured the line: the rest goes out in
    // requests shorter than the server's 255 KiB, each range split and its rest queued again.
    const content = patternBytes(4 * MiB + 777, 27);
    const remote = h.sshd.writeLocal('thin-read.bin', content);
    const fs = thin.fileSystem(h.sshd.alias);
    assert.ok(Buffer.from(await fs.readFile(remote)).equals(content));
    const session = await thin.session(h.sshd.alias);
    const cap = session.flow.requestCap ?? Infinity;
    assert.ok(cap < CHUNK, `requests are cut on this line (cap ${cap})`);

    const upload = patternBytes(4 * MiB + 333, 28);
    const target = h.sshd.local('thin-write.bin');
    await fs.writeFile(target, upload, { create: true, overwrite: true });
    assert.ok(readFileSync(target).equals(upload));
  });
});
