import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import { MAX_READ_LENGTH, type ReadSizeBasis } from '../../src/core/sftp/readSize';
import { startDropbear } from '../support/dropbear';
import { READER_THREAD_SCRIPT, RecordingLogger, patternBytes, rejectsWith } from '../support/harness';
import { readInThread, readies, savedInThread, warmedUp } from '../support/readerThreads';
import { startProftpd } from '../support/proftpd';
import type { SftpServerFixture } from '../support/sftpServerFixture';
import { startSshd } from '../support/sshd';

/**
 * The provider contract on every SFTP server the harness can start: OpenSSH's internal-sftp,
 * ProFTPD's mod_sftp, and Dropbear running OpenSSH's sftp-server. Each answers some requests its own
 * way (ProFTPD refuses to OPEN a folder with PERMISSION_DENIED, offers no limits@openssh.com); the
 * file system must give the same results on all. The other servers' packages come from
 * `bash scripts/other-servers.sh` (npm test runs it); without them the tests fail and say so.
 */
type Served = Pick<
  SftpServerFixture,
  'root' | 'alias' | 'resolve' | 'writeLocal' | 'mkdirLocal' | 'local' | 'stop'
>;
/**
 * Each server with what its missing extensions change, as the connection info says it, and what its
 * READ length rests on: stated in limits@openssh.com, or (ProFTPD) learned from its answers to long
 * READs, which it answers in full.
 */
const servers: Array<[string, (options: { alias: string }) => Promise<Served>, RegExp[], ReadSizeBasis]> = [
  ['OpenSSH internal-sftp', (options) => startSshd(options), [], 'fixed'],
  ['ProFTPD mod_sftp', startProftpd, [/limits@openssh.com/, /copy-data/], 'honoured'],
  ['Dropbear with sftp-server', startDropbear, [], 'fixed'],
];

for (const [name, start, gaps, readBasis] of servers) {
  describe(name, () => {
    const state = {} as { server?: Served; manager?: ConnectionManager; startError?: unknown };
    // A server that cannot start fails every test with its reason (a missing package names the
    // script that installs it) rather than cancelling them.
    const running = (): { server: Served; manager: ConnectionManager } => {
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
      const { maxReadLength, maxWriteLength, maxOpenHandles, stated } = session.limits;
      t.diagnostic(
        `limits (${stated ? 'stated' : "ssh2's defaults"}): read ${maxReadLength} B, write ${maxWriteLength} B, open handles ${maxOpenHandles}`,
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

    test('a file large enough to be striped over several channels is saved whole, new and over an existing one', async () => {
      // Above the striping threshold (8 MiB): the other channels open the temporary in the flight of
      // its creating OPEN, so a server that answers an OPEN of a file not there yet in its own words
      // would fail the save here.
      const path = running().server.local('striped-save.bin');
      const first = patternBytes(9 * 1024 * 1024 + 321, 7);
      await fs().writeFile(path, first, { create: true, overwrite: true });
      assert.ok(readFileSync(path).equals(first), 'the new file on disk is the one written');
      const second = patternBytes(10 * 1024 * 1024 + 5, 8);
      await fs().writeFile(path, second, { create: true, overwrite: true });
      assert.ok(readFileSync(path).equals(second), 'the replaced file on disk is the one written');
      assert.deepEqual(
        readdirSync(running().server.local('')).filter((entry) => entry.includes(TEMP_MARKER)),
        [],
        'no temporary left',
      );
    });

    test('a file of a few MiB reads back the same with 255 KiB READs, stated or learned', async () => {
      const content = patternBytes(3 * 1024 * 1024 + 123, 6);
      const path = running().server.writeLocal('several-mib.bin', content);
      assert.ok(Buffer.from(await fs().readFile(path)).equals(content));
      const session = await running().manager.session(running().server.alias);
      assert.equal(session.readLength, MAX_READ_LENGTH);
      assert.equal(session.readLengthBasis, readBasis);
    });

    /** A manager of its own whose reader thread logs in to this server the way the manager did. */
    const withReaderThread = (): {
      logger: RecordingLogger;
      server: Served;
      connections: ConnectionManager;
    } => {
      const logger = new RecordingLogger();
      const server = running().server;
      const connections = new ConnectionManager({
        resolveHost: (authority) => server.resolve(authority),
        logger,
        fileSystem: { maxReadFileBytes: 64 * 1024 * 1024 },
        readerThreadScript: READER_THREAD_SCRIPT,
      });
      return { logger, server, connections };
    };

    test('a large file is read byte for byte by a reader thread logged in to this server the same way', async () => {
      const { logger, server, connections } = withReaderThread();
      try {
        const content = patternBytes(12 * 1024 * 1024 + 77, 42);
        // The read that starts the thread, on a settled round trip; the thread is then ready.
        const { fs: files, path } = await warmedUp(server, connections, logger, 'thread-read.bin', content);
        assert.ok(readies(logger) >= 1, 'the thread logged in');
        assert.ok(Buffer.from(await files.readFile(path)).equals(content));
        assert.ok(readInThread(logger, path), 'the second read was made by the thread');
      } finally {
        connections.dispose();
      }
    });

    test('a large save made by a reader thread logged in to this server the same way lands whole, keeps the mode and leaves no temporary', async () => {
      const { logger, server, connections } = withReaderThread();
      try {
        const original = patternBytes(12 * 1024 * 1024 + 77, 43);
        const { fs: files, path } = await warmedUp(server, connections, logger, 'thread-save.bin', original);
        chmodSync(path, 0o640);
        const saved = patternBytes(12 * 1024 * 1024 + 4321, 44);
        await files.writeFile(path, saved, { create: true, overwrite: true });
        assert.ok(
          savedInThread(logger, path),
          `the save was made by the thread: ${logger.lines.join(' | ')}`,
        );
        assert.ok(readFileSync(path).equals(saved), 'the file on disk is the one saved');
        assert.equal(statSync(path).mode & 0o7777, 0o640, 'the mode is kept');
        assert.deepEqual(
          readdirSync(server.local('')).filter((entry) => entry.includes(TEMP_MARKER)),
          [],
          'no temporary left',
        );
      } finally {
        connections.dispose();
      }
    });

    test('the listing of the root shows the file written', async () => {
      const listing = new Map(await fs().readDirectory(running().server.root));
      assert.deepEqual(listing.get('hello.txt'), { kind: 'file', symlink: false });
    });

    test('what the server lacks is said in the connection info, and nothing else', async () => {
      await fs().stat(running().server.root);
      const said = running().manager.info(running().server.alias)?.featureGaps ?? ['no info'];
      assert.equal(said.length, gaps.length, said.join('\n'));
      gaps.forEach((gap, index) => assert.match(said[index] ?? '', gap));
    });

    test('stat and listing: files, folders, links to folders, broken links', async () => {
      const server = running().server;
      server.mkdirLocal('contract/folder');
      server.writeLocal('contract/file.txt', 'x');
      symlinkSync('folder', server.local('contract/to-folder'));
      symlinkSync('nowhere', server.local('contract/broken'));
      const listing = new Map(await fs().readDirectory(server.local('contract')));
      assert.deepEqual(listing.get('folder'), { kind: 'directory', symlink: false });
      assert.deepEqual(listing.get('file.txt'), { kind: 'file', symlink: false });
      assert.deepEqual(listing.get('to-folder'), { kind: 'directory', symlink: true });
      assert.deepEqual(listing.get('broken'), { kind: 'unknown', symlink: true });
      assert.equal((await fs().stat(server.local('contract/file.txt'))).size, 1);
      await rejectsWith(fs().stat(server.local('contract/missing')), 'ENOENT');
    });

    test('reading: a folder is EISDIR, a missing file ENOENT, an empty file empty', async () => {
      const server = running().server;
      server.mkdirLocal('reads/folder');
      server.writeLocal('reads/empty', '');
      await rejectsWith(fs().readFile(server.local('reads/folder')), 'EISDIR');
      await rejectsWith(fs().readFile(server.local('reads/missing')), 'ENOENT');
      assert.equal((await fs().readFile(server.local('reads/empty'))).length, 0);
    });

    test("writing honours VS Code's create and overwrite flags, and keeps an existing file's mode", async () => {
      const server = running().server;
      server.mkdirLocal('writes/folder');
      const existing = server.writeLocal('writes/existing.txt', 'old content, longer', 0o640);
      const write = (path: string, create: boolean, overwrite: boolean): Promise<void> =>
        fs().writeFile(path, Buffer.from('new'), { create, overwrite });
      await rejectsWith(write(server.local('writes/missing.txt'), false, true), 'ENOENT');
      await rejectsWith(write(existing, true, false), 'EEXIST');
      await rejectsWith(write(server.local('writes/folder'), true, true), 'EISDIR');
      await rejectsWith(write(server.local('writes/no-such-folder/a.txt'), true, true), 'ENOENT');
      await write(existing, false, true);
      assert.equal(readFileSync(existing, 'utf8'), 'new');
      assert.equal(statSync(existing).mode & 0o777, 0o640);
      await write(server.local('writes/created.txt'), true, false);
      assert.equal(readFileSync(server.local('writes/created.txt'), 'utf8'), 'new');
      assert.deepEqual(
        readdirSync(server.local('writes')).filter((name) => name.includes('.sftpfs-')),
        [],
      );
    });

    test('folders: create, EEXIST, missing parent ENOENT, non-recursive delete of a full folder refused, recursive delete', async () => {
      const server = running().server;
      const folder = server.local('folders/made');
      server.mkdirLocal('folders');
      await fs().createDirectory(folder);
      assert.ok(statSync(folder).isDirectory());
      await rejectsWith(fs().createDirectory(folder), 'EEXIST');
      await rejectsWith(fs().createDirectory(server.local('folders/none/deeper')), 'ENOENT');
      server.writeLocal('folders/made/inside.txt', 'x');
      await assert.rejects(fs().delete(folder, { recursive: false }));
      assert.ok(existsSync(server.local('folders/made/inside.txt')), 'nothing was removed');
      await fs().delete(folder, { recursive: true });
      assert.ok(!existsSync(folder));
    });

    test('rename: to a new name, onto an existing file only with overwrite; copy of a file and a folder', async () => {
      const server = running().server;
      server.mkdirLocal('moves/tree/sub');
      server.writeLocal('moves/tree/sub/leaf.txt', 'leaf');
      const a = server.writeLocal('moves/a.txt', 'a');
      const b = server.writeLocal('moves/b.txt', 'b');
      await rejectsWith(fs().rename(a, b, { overwrite: false }), 'EEXIST');
      assert.equal(readFileSync(b, 'utf8'), 'b');
      await fs().rename(a, b, { overwrite: true });
      assert.equal(readFileSync(b, 'utf8'), 'a');
      assert.ok(!existsSync(a));
      await fs().rename(b, server.local('moves/c.txt'), { overwrite: false });
      assert.equal(readFileSync(server.local('moves/c.txt'), 'utf8'), 'a');
      await fs().copy(server.local('moves/c.txt'), server.local('moves/d.txt'), { overwrite: false });
      assert.equal(readFileSync(server.local('moves/d.txt'), 'utf8'), 'a');
      await fs().copy(server.local('moves/tree'), server.local('moves/tree-copy'), { overwrite: false });
      assert.equal(readFileSync(server.local('moves/tree-copy/sub/leaf.txt'), 'utf8'), 'leaf');
    });
  });
}
