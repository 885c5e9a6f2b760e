import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { findInFiles, type SearchTarget } from '../../src/core/search/remoteSearch';
import { loginShellIn } from '../../src/core/ssh/remoteCommand';
import type { RemoteChange } from '../../src/core/watch/pollingWatcher';
import { WatchService } from '../../src/core/watch/watchService';
import { RecordingLogger, patternBytes } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * A server allows only so many channels per connection (OpenSSH's MaxSessions, 10 by default). Large
 * transfers are striped over extra SFTP channels; a terminal, an inotify watch and a search each need
 * a channel of their own. Those come first: lanes fit in what is left, are fewer when the server
 * refuses some, and idle ones are given back when a command needs the room.
 */
const MiB = 1024 * 1024;

function managerFor(sshd: SshdFixture, logger: RecordingLogger): ConnectionManager {
  return new ConnectionManager({
    resolveHost: (authority) => sshd.resolve(authority),
    logger,
    fileSystem: { maxReadFileBytes: 64 * MiB },
    lifecycle: { idleTimeoutMs: 0 },
  });
}

/** A terminal, an inotify watch and a Find in Files on `alias`, all at once; resolves when all three worked. */
async function terminalWatchAndSearch(
  manager: ConnectionManager,
  sshd: SshdFixture,
  logger: RecordingLogger,
): Promise<void> {
  const folder = sshd.mkdirLocal(`busy-${Date.now()}`);
  sshd.writeLocal(`${folder.slice(sshd.root.length + 1)}/haystack.txt`, 'a needle\n');
  const connection = await manager.sshConnection(sshd.alias);
  const terminal = await connection.exec(loginShellIn(folder), { term: 'dumb', cols: 80, rows: 24 });
  const service = new WatchService(manager, logger, {
    intervalMs: () => 60_000,
    maxEntries: () => 1000,
    useInotify: () => true,
  });
  const seen: RemoteChange[] = [];
  service.onDidChange(({ changes }) => seen.push(...changes));
  const watch = service.watch(sshd.alias, folder, { recursive: true, excludes: [] });
  try {
    for (
      let waited = 0;
      !logger.lines.some((line) => line.includes(`Watching ${folder} with inotifywait`));
      waited += 25
    ) {
      assert.ok(
        waited < 20_000,
        `inotifywait started: ${logger.lines
          .filter((l) => !l.startsWith('trace'))
          .slice(-15)
          .join(' | ')}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const fs = manager.fileSystem(sshd.alias);
    const target: SearchTarget = {
      connection: () => manager.sshConnection(sshd.alias),
      list: (path) => fs.list(path),
      readFile: (path) => fs.readFile(path),
      logger,
    };
    const found = await findInFiles(
      target,
      { pattern: 'needle', isRegExp: false, caseSensitive: true, maxFileBytes: MiB },
      { root: folder, excludes: [], maxResults: 10 },
    );
    assert.equal(found.method, 'shell', 'the search ran on the server');
    assert.equal(found.results.length, 1);
    let output = '';
    terminal.on('data', (chunk: Buffer) => (output += chunk.toString()));
    terminal.write('echo terminal-alive; exit\n');
    await new Promise((resolve) => terminal.on('close', resolve));
    assert.match(output, /terminal-alive/);
  } finally {
    watch.dispose();
    service.dispose();
  }
}

for (const maxSessions of [3, 5, 10]) {
  describe(`a server with MaxSessions ${maxSessions}`, () => {
    const state = {} as { sshd: SshdFixture };
    before(async () => {
      state.sshd = await startSshd({
        alias: `sessions-${maxSessions}`,
        config: [`MaxSessions ${maxSessions}`],
      });
    });
    after(async () => {
      await state.sshd?.stop();
    });

    test('a striped transfer, then a terminal, an inotify watch and Find in Files while another transfer runs: all work', async () => {
      const logger = new RecordingLogger();
      const manager = managerFor(state.sshd, logger);
      try {
        const fs = manager.fileSystem(state.sshd.alias);
        const first = patternBytes(16 * MiB, maxSessions);
        await fs.writeFile(state.sshd.local('first.bin'), first, { create: true, overwrite: true });
        assert.ok(readFileSync(state.sshd.local('first.bin')).equals(first));
        const second = patternBytes(48 * MiB, maxSessions + 1);
        const transfer = fs.writeFile(state.sshd.local('second.bin'), second, {
          create: true,
          overwrite: true,
        });
        await terminalWatchAndSearch(manager, state.sshd, logger);
        if (maxSessions === 3) {
          // Main channel, terminal and watch fill the server: the search got the watch's channel.
          assert.ok(
            logger.lines.some((line) => line.includes('its channel was needed for a command')),
            'the inotify watch gave its channel to the search',
          );
        }
        await transfer;
        assert.ok(readFileSync(state.sshd.local('second.bin')).equals(second), 'the transfer is whole');
      } finally {
        manager.dispose();
      }
    });
  });
}
