import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { FaultProxy } from '../support/faultProxy';
import { managerThroughRelay, patternBytes, RecordingLogger } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * Uploads encrypted straight from the caller's bytes (src/core/sftp/directWrites.ts,
 * src/core/ssh/gcmPackets.ts) and downloads received into one reused socket buffer
 * (src/core/ssh/transport.ts). Both apply only without ssh2's native addon, as in the .vsix: scripts/
 * test.sh runs this file in that configuration too (test/support/withoutNativeAddon.ts), and here
 * the first test says which one is running.
 *
 * The server re-keys every 4 MiB (RekeyLimit), so key exchanges land in the middle of transfers:
 * packets sealed here must interleave with ssh2's own, and a chunk received during a re-key must not
 * be handed out as a reused buffer to a decipher that keeps it.
 */

const nativeAddonLoaded = // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }).bindingAvailable;
const KiB = 1024;
const MiB = 1024 * KiB;

let sshd: SshdFixture;
let manager: ConnectionManager;
const logger = new RecordingLogger();

before(async () => {
  sshd = await startSshd({ config: ['RekeyLimit 4M', 'LogLevel DEBUG1'] });
  manager = new ConnectionManager({
    resolveHost: (authority) => sshd.resolve(authority),
    logger,
    fileSystem: { maxReadFileBytes: 256 * MiB },
  });
});

/** Key exchanges the server has started or answered so far (its DEBUG1 log says so for each). */
function keyExchangesLogged(): number {
  return (readFileSync(join(sshd.dir, 'sshd.log'), 'utf8').match(/SSH2_MSG_KEXINIT sent/g) ?? []).length;
}

after(async () => {
  manager?.dispose();
  await sshd?.stop();
});

describe(`transfers ${nativeAddonLoaded ? 'with' : 'without'} ssh2's native addon, re-keyed every 4 MiB`, () => {
  test("the session logs which way WRITE requests are encrypted: from the caller's bytes exactly when the addon is missing", async () => {
    await manager.session(sshd.alias);
    const said = logger.lines.filter((line) => line.includes('WRITE requests'));
    assert.equal(said.length, 1, said.join('\n'));
    assert.match(
      said[0] ?? '',
      nativeAddonLoaded ? /go through ssh2's packets/ : /encrypted straight from the caller's bytes/,
    );
  });

  test("forty 255 KiB WRITEs sent at once on one channel, past the server's window, with STATs between them, land in order", async () => {
    const session = await manager.session(sshd.alias);
    const piece = 255 * KiB;
    const content = patternBytes(40 * piece, 41);
    const path = sshd.local('forty-writes.bin');
    await session.withFile(path, 'w', {}, (handle) =>
      Promise.all(
        Array.from({ length: 40 }, (_, index) => [
          session.write(handle, content, index * piece, piece, index * piece, path),
          session.stat(sshd.root),
        ]).flat(),
      ),
    );
    assert.ok(readFileSync(path).equals(content), 'the file holds every WRITE at its offset');
  });

  test('a byte changed on the line in either direction fails the connection; nothing changed is ever read or written', async () => {
    const proxy = await FaultProxy.start(sshd.port);
    const corrupting = managerThroughRelay(sshd, proxy.port, {
      logger,
      fileSystem: { maxReadFileBytes: 256 * MiB },
      lifecycle: { idleTimeoutMs: 0, reconnectDelaysMs: [20], maxReconnectAttempts: 2 },
    });
    try {
      const fs = corrupting.fileSystem(sshd.alias);
      const content = patternBytes(16 * MiB, 16);
      const path = sshd.local('corrupted-line.bin');
      await fs.writeFile(path, content, { create: true, overwrite: true });
      const dropsBefore = logger.lines.filter((line) => /Connection lost/.test(line)).length;
      for (const direction of ['down', 'up'] as const) {
        // A byte in the middle of the transfer: well inside an encrypted packet.
        proxy.corruptAfter(direction, 5 * MiB);
        try {
          if (direction === 'down') {
            const read = await fs.readFile(path);
            assert.ok(
              Buffer.from(read).equals(content),
              'a read that succeeds (retried) has the exact content',
            );
          } else {
            await fs.writeFile(path, patternBytes(16 * MiB, 17), { create: true, overwrite: true });
          }
        } catch {
          // Failing is fine; returning or storing changed bytes is not.
        }
        const stored = readFileSync(path);
        assert.ok(
          stored.equals(content) || stored.equals(patternBytes(16 * MiB, 17)),
          'the server holds the old file or the new one, never a changed one',
        );
      }
      const drops = logger.lines.filter((line) => /Connection lost/.test(line)).length;
      assert.ok(
        drops - dropsBefore >= 2,
        `each corrupted byte ended the connection (${drops - dropsBefore} drops)`,
      );
    } finally {
      corrupting.dispose();
      await proxy.close();
    }
  });

  test('a 48 MiB upload and download across several key re-exchanges come back byte for byte', async () => {
    const fs = manager.fileSystem(sshd.alias);
    const keyExchangesBefore = keyExchangesLogged();
    const content = patternBytes(48 * MiB, 48);
    const path = sshd.local('rekeyed.bin');
    await fs.writeFile(path, content, { create: true, overwrite: true });
    assert.ok(readFileSync(path).equals(content), 'the server holds exactly what was uploaded');
    const read = await fs.readFile(path);
    assert.ok(Buffer.from(read).equals(content), 'the download is exactly the file');
    // The connection still works after the re-keys, and there were re-keys.
    assert.equal((await fs.stat(path)).size, 48 * MiB);
    assert.ok(
      keyExchangesLogged() - keyExchangesBefore >= 10,
      `the server re-keyed ${keyExchangesLogged() - keyExchangesBefore} times during 96 MiB`,
    );
  });
});
