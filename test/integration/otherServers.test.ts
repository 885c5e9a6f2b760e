import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { startDropbear } from '../support/dropbear';
import { RecordingLogger, patternBytes } from '../support/harness';
import { startProftpd } from '../support/proftpd';
import type { SftpServerFixture } from '../support/sftpServerFixture';

/**
 * The core against SFTP servers other than OpenSSH's: ProFTPD's mod_sftp and Dropbear running
 * OpenSSH's sftp-server. A smoke test: connect, stat, write, read back, list. Their packages come
 * from `bash scripts/other-servers.sh`; without them the tests fail and say so (nothing is skipped).
 */
const servers: Array<[string, (options: { alias: string }) => Promise<SftpServerFixture>]> = [
  ['ProFTPD mod_sftp', startProftpd],
  ['Dropbear with sftp-server', startDropbear],
];

for (const [name, start] of servers) {
  describe(name, () => {
    const state = {} as { server?: SftpServerFixture; manager?: ConnectionManager; startError?: unknown };
    // A server that cannot start fails every test with its reason (a missing package names the
    // script that installs it) rather than cancelling them.
    const running = (): { server: SftpServerFixture; manager: ConnectionManager } => {
      if (state.server === undefined || state.manager === undefined) {
        throw state.startError ?? new Error(`${name} did not start`);
      }
      return { server: state.server, manager: state.manager };
    };
    const fs = (): RemoteFileSystem => running().manager.fileSystem(running().server.alias);

    before(async () => {
      try {
        const server = await start({ alias: `other-${name.split(' ')[0]?.toLowerCase()}` });
        state.server = server;
        state.manager = new ConnectionManager({
          resolveHost: (authority) => server.resolve(authority),
          logger: new RecordingLogger(),
          fileSystem: { maxReadFileBytes: 64 * 1024 * 1024 },
          lifecycle: { idleTimeoutMs: 0 },
        });
      } catch (error) {
        state.startError = error;
      }
    });
    after(async () => {
      state.manager?.dispose();
      await state.server?.stop();
    });

    test('connects with the fixture key and the root is a directory', async (t) => {
      const session = await running().manager.session(running().server.alias);
      t.diagnostic(
        `extensions: ${[...session.extensions].map(([extension, version]) => `${extension} ${version}`).join(', ') || 'none'}`,
      );
      const { maxReadLength, maxWriteLength, maxOpenHandles } = session.limits;
      t.diagnostic(
        `limits: read ${maxReadLength} B, write ${maxWriteLength} B, open handles ${maxOpenHandles}`,
      );
      const stat = await fs().stat(running().server.root);
      assert.deepEqual(stat.type, { kind: 'directory', symlink: false });
    });

    test('a small file written over SFTP reads back the same, on the server and on disk', async () => {
      const path = running().server.local('hello.txt');
      const content = Buffer.from(`hello from ${name}\n`);
      await fs().writeFile(path, content, { create: true, overwrite: true });
      assert.deepEqual(Buffer.from(await fs().readFile(path)), content);
      assert.deepEqual(readFileSync(path), content);
    });

    test('a file of a few hundred KiB (several pipelined requests) round-trips', async () => {
      const path = running().server.local('bigger.bin');
      const content = patternBytes(700 * 1024 + 17, 5);
      await fs().writeFile(path, content, { create: true, overwrite: true });
      assert.ok(readFileSync(path).equals(content), 'the file on disk is the one written');
      assert.ok(Buffer.from(await fs().readFile(path)).equals(content), 'and reads back the same');
    });

    test('the listing of the root shows the file written', async () => {
      const listing = new Map(await fs().readDirectory(running().server.root));
      assert.deepEqual(listing.get('hello.txt'), { kind: 'file', symlink: false });
    });
  });
}
