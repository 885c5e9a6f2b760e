import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ConnectionManager } from '../../src/core/connection/connectionManager';

import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import type { RemoteChange } from '../../src/core/watch/pollingWatcher';
import { WatchService, type HostWatchNotice } from '../../src/core/watch/watchService';
import { RecordingLogger, useSshd } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

const h = useSshd();

/** VS Code's default `files.watcherExclude`, as the editor passes it to watch(). */
const VSCODE_WATCHER_EXCLUDES = [
  '**/.git/objects/**',
  '**/.git/subtree-cache/**',
  '**/.hg/store/**',
  '**/node_modules/*/**',
];

/** Polling every minute: anything seen within a few seconds came from inotifywait. */
function inotifyService() {
  const service = new WatchService(h.manager, h.logger, {
    intervalMs: () => 60_000,
    maxEntries: () => 10_000,
    useInotify: () => true,
  });
  const seen: RemoteChange[] = [];
  service.onDidChange(({ changes }) => seen.push(...changes));
  // Generous: on a busy machine the first command of a connection can take seconds to start.
  const waitFor = async (what: string, predicate: () => boolean, ms = 20_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!predicate() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(
      predicate(),
      `${what}; seen: ${JSON.stringify(seen)}; log: ${h.logger.lines.slice(-5).join(' | ')}`,
    );
  };
  return { service, seen, waitFor };
}

/** inotifywait processes on the server (this machine) watching `path`. */
function inotifywaitsFor(path: string): number {
  const result = spawnSync('pgrep', ['-f', `^inotifywait .*${path}`]);
  return result.stdout
    .toString()
    .split('\n')
    .filter((line) => line !== '').length;
}

/**
 * The folders the kernel watches for inotifywait processes watching `path`, read from their inotify
 * descriptors (/proc/<pid>/fdinfo has one `inotify wd:` line per watch, with the folder's inode).
 */
function watchedInodes(path: string): Set<number> {
  const pids = spawnSync('pgrep', ['-f', `^inotifywait .*${path}`])
    .stdout.toString()
    .split('\n')
    .filter((line) => line !== '');
  const inodes = new Set<number>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
      for (const match of readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').matchAll(
        /inotify wd:\S+ ino:([0-9a-f]+)/g,
      )) {
        inodes.add(parseInt(match[1] as string, 16));
      }
    }
  }
  return inodes;
}

const established = (path: string): number =>
  h.logger.lines.filter((line) => line.includes(`Watching ${path} with inotifywait`)).length;

describe('watching with inotifywait', () => {
  test('changes on the server arrive within moments, not at the next poll; excluded folders stay silent', async () => {
    h.sshd.mkdirLocal('i1/sub');
    h.sshd.mkdirLocal('i1/node_modules');
    h.sshd.writeLocal('i1/sub/edit.txt', 'one');
    h.sshd.writeLocal('i1/gone.txt', 'x');
    await h.fs.stat(h.path('i1'));
    const { service, seen, waitFor } = inotifyService();
    const watch = service.watch(h.sshd.alias, h.path('i1'), {
      recursive: true,
      excludes: ['**/node_modules'],
    });
    await waitFor('inotifywait is running', () => established(h.path('i1')) === 1);

    const started = Date.now();
    writeFileSync(h.path('i1/sub/edit.txt'), 'two');
    h.sshd.writeLocal('i1/sub/new.txt', 'new');
    rmSync(h.path('i1/gone.txt'));
    h.sshd.writeLocal('i1/node_modules/dep.js', 'x');
    const has = (kind: string, relative: string): boolean =>
      seen.some((c) => c.kind === kind && c.path === h.path(relative));
    await waitFor(
      'all three changes',
      () =>
        has('changed', 'i1/sub/edit.txt') &&
        has('created', 'i1/sub/new.txt') &&
        has('deleted', 'i1/gone.txt'),
    );
    assert.ok(Date.now() - started < 30_000, 'seen only at a poll (every 60 s here)');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!seen.some((c) => c.path.includes('node_modules')), 'excluded folder reported');
    watch.dispose();
    service.dispose();
    await waitFor('inotifywait ended on the server', () => inotifywaitsFor(h.path('i1')) === 0);
  });

  test('under VS Code default excludes, no kernel watch is put on package folders or .git/objects', async () => {
    const root = 'i-web';
    for (const pkg of ['react/lib', 'lodash/fp', '@types/node']) {
      h.sshd.mkdirLocal(`${root}/node_modules/${pkg}`);
    }
    h.sshd.mkdirLocal(`${root}/.git/objects/ab`);
    h.sshd.mkdirLocal(`${root}/.git/refs`);
    h.sshd.mkdirLocal(`${root}/src/lib`);
    await h.fs.stat(h.path(root));
    const { service, seen, waitFor } = inotifyService();
    const watch = service.watch(h.sshd.alias, h.path(root), {
      recursive: true,
      excludes: VSCODE_WATCHER_EXCLUDES,
    });
    await waitFor('inotifywait is running', () => established(h.path(root)) === 1);
    const inode = (relative: string): number => statSync(h.path(relative)).ino;
    const expected = [
      root,
      `${root}/node_modules`,
      `${root}/.git`,
      `${root}/.git/refs`,
      `${root}/src`,
      `${root}/src/lib`,
    ];
    assert.deepEqual(
      [...watchedInodes(h.path(root))].sort(),
      expected.map(inode).sort(),
      'watched: the root, node_modules, .git, .git/refs, src, src/lib',
    );

    // A package installed later gets no watch either, and a change outside is still seen.
    h.sshd.mkdirLocal(`${root}/node_modules/vue/dist`);
    h.sshd.writeLocal(`${root}/node_modules/vue/dist/vue.js`, 'x');
    h.sshd.writeLocal(`${root}/src/lib/util.ts`, 'x');
    await waitFor('the change in src', () =>
      seen.some((c) => c.kind === 'created' && c.path === h.path(`${root}/src/lib/util.ts`)),
    );
    assert.deepEqual([...watchedInodes(h.path(root))].sort(), expected.map(inode).sort());
    assert.deepEqual(
      seen.filter((c) => c.path.includes('node_modules')),
      [],
      'nothing inside node_modules is reported',
    );
    watch.dispose();
    service.dispose();
    await waitFor('inotifywait ended on the server', () => inotifywaitsFor(h.path(root)) === 0);
  });

  test('after a reported change, a stat sees the new file, though its attributes were seen a moment ago', async () => {
    // Attributes kept a minute here (a second in the editor): only the report can make them stale.
    const manager = new ConnectionManager({
      resolveHost: (authority) => h.sshd.resolve(authority),
      logger: h.logger,
      fileSystem: { maxReadFileBytes: 1 << 20, attributeLifetimeMs: 60_000 },
    });
    const file = h.sshd.writeLocal('i-reload.txt', 'First version\n');
    const fs = manager.fileSystem(h.sshd.alias);
    const service = new WatchService(manager, h.logger, {
      intervalMs: () => 60_000,
      maxEntries: () => 10_000,
      useInotify: () => true,
    });
    const seen: RemoteChange[] = [];
    service.onDidChange(({ changes }) => seen.push(...changes));
    try {
      assert.equal((await fs.stat(file)).size, 14);
      const watch = service.watch(h.sshd.alias, file, { recursive: false, excludes: [] });
      const deadline = Date.now() + 20_000;
      while (established(file) === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      writeFileSync(file, 'Second version, written on the server\n');
      while (!seen.some((c) => c.path === file) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(
        seen.some((c) => c.path === file && c.kind === 'changed'),
        'the change was reported',
      );
      assert.equal((await fs.stat(file)).size, 38, 'the stat VS Code makes to reload the editor');
      watch.dispose();
    } finally {
      service.dispose();
      manager.dispose();
    }
  });

  test('saves by rename and in place report the saved files, never our temporaries or copies', async () => {
    h.sshd.mkdirLocal('i-saves');
    const renamed = h.sshd.writeLocal('i-saves/renamed.txt', 'old');
    const linked = h.sshd.writeLocal('i-saves/linked.txt', 'old');
    linkSync(linked, h.path('i-saves/other-name.txt')); // two links: saved in place, behind a copy
    await h.fs.stat(h.path('i-saves'));
    const { service, seen, waitFor } = inotifyService();
    const watch = service.watch(h.sshd.alias, h.path('i-saves'), { recursive: true, excludes: [] });
    await waitFor('inotifywait is running', () => established(h.path('i-saves')) === 1);

    for (let round = 0; round < 3; round++) {
      await h.fs.writeFile(renamed, Buffer.from(`new ${round}`), { create: true, overwrite: true });
      await h.fs.writeFile(linked, Buffer.from(`new ${round}`), { create: true, overwrite: true });
    }
    await waitFor(
      'both saved files reported',
      () => seen.some((c) => c.path === renamed) && seen.some((c) => c.path === linked),
    );
    await new Promise((r) => setTimeout(r, 500)); // anything later in the same batches
    const ours = seen.filter((c) => c.path.includes(TEMP_MARKER));
    assert.deepEqual(ours, [], 'temporaries or copies were reported as changes');
    assert.ok(
      h.logger.lines.some((line) => line.includes(`Saving ${linked} in place`)),
      'one of the files was saved in place, so a copy existed',
    );
    watch.dispose();
    service.dispose();
  });

  test('a watch made before the host is connected polls without connecting, then moves to inotifywait', async () => {
    h.sshd.mkdirLocal('i4');
    h.manager.disconnect(h.sshd.alias);
    const { service, seen, waitFor } = inotifyService();
    const watch = service.watch(h.sshd.alias, h.path('i4'), { recursive: true, excludes: [] });
    await waitFor('polling while not connected', () =>
      h.logger.lines.some((l) => l.includes(`Watching ${h.path('i4')} by polling: not connected yet`)),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.manager.state(h.sshd.alias), 'disconnected', 'the watch connected by itself');
    await h.fs.stat(h.path('i4')); // the user's next action connects
    await waitFor('inotifywait started once connected', () => established(h.path('i4')) === 1);
    h.sshd.writeLocal('i4/later.txt', 'x');
    await waitFor('a change seen by inotifywait', () =>
      seen.some((c) => c.kind === 'created' && c.path === h.path('i4/later.txt')),
    );
    watch.dispose();
    service.dispose();
  });

  test('an account without a shell is watched by polling instead', async () => {
    const alias = h.sshd.readOnlyAlias;
    h.sshd.mkdirLocal('i2');
    await h.manager.fileSystem(alias).stat(h.path('i2'));
    const { service, seen, waitFor } = inotifyService();
    const watch = service.watch(alias, h.path('i2'), { recursive: true, excludes: [] });
    await waitFor('the fallback is logged', () =>
      h.logger.lines.some((l) =>
        l.includes(`Watching ${h.path('i2')} by polling: the server cannot run inotifywait`),
      ),
    );
    await service.pollNow(alias); // the baseline
    h.sshd.writeLocal('i2/polled.txt', 'x');
    await service.pollNow(alias);
    assert.deepEqual(seen, [{ kind: 'created', path: h.path('i2/polled.txt') }]);
    watch.dispose();
    service.dispose();
  });

  test('when the connection drops, polling takes over, and inotifywait comes back with the connection', async () => {
    h.sshd.mkdirLocal('i3');
    await h.fs.stat(h.path('i3'));
    const { service, seen, waitFor } = inotifyService();
    const watch = service.watch(h.sshd.alias, h.path('i3'), { recursive: false, excludes: [] });
    await waitFor('inotifywait is running', () => established(h.path('i3')) === 1);
    h.sshd.dropConnections();
    await waitFor('polling took over', () =>
      h.logger.lines.some((l) => l.includes(`Watching ${h.path('i3')} by polling: inotifywait stopped`)),
    );
    await waitFor('reconnected and inotifywait started again', () => established(h.path('i3')) === 2);
    h.sshd.writeLocal('i3/after.txt', 'x');
    await waitFor('a change after the reconnect', () =>
      seen.some((c) => c.kind === 'created' && c.path === h.path('i3/after.txt')),
    );
    watch.dispose();
    service.dispose();
  });
});

/**
 * The server's inotify limit, without lowering fs.inotify.max_user_watches for the whole machine: a
 * server of its own whose sessions find, first on their PATH, an inotifywait that reports the limit as
 * inotify-tools does (at the start, or for a folder created later) for folders named so, and runs the
 * real one for the rest.
 */
describe('the server inotify limit', () => {
  const limited = {} as { sshd: SshdFixture; manager: ConnectionManager; logger: RecordingLogger };
  before(async () => {
    const bin = mkdtempSync(join(tmpdir(), 'sftpfs-fake-inotify-'));
    chmodSync(bin, 0o755);
    const fake = join(bin, 'inotifywait');
    writeFileSync(
      fake,
      [
        '#!/bin/sh',
        'for last; do :; done',
        'case "$last" in',
        '*limit-at-start*)',
        '  echo "Setting up watches.  Beware: since -r was given, this may take a while!" >&2',
        '  echo "Failed to watch $last; upper limit on inotify watches reached!" >&2',
        '  echo "Please increase the amount of inotify watches allowed per user via \\`/proc/sys/fs/inotify/max_user_watches\'." >&2',
        '  exit 1 ;;',
        '*limit-later*)',
        '  echo "Setting up watches.  Beware: since -r was given, this may take a while!" >&2',
        '  echo "Watches established." >&2',
        '  sleep 1',
        '  echo "Couldn\'t watch new directory $last/new: No space left on device" >&2',
        '  exec sleep 600 ;;',
        'esac',
        'exec /usr/bin/inotifywait "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(fake, 0o755);
    limited.sshd = await startSshd({ config: [`SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`] });
    limited.logger = new RecordingLogger();
    limited.manager = new ConnectionManager({
      resolveHost: (authority) => limited.sshd.resolve(authority),
      logger: limited.logger,
      fileSystem: { maxReadFileBytes: 1 << 20 },
    });
  });
  after(async () => {
    limited.manager?.dispose();
    await limited.sshd?.stop();
  });

  function limitedService() {
    const service = new WatchService(limited.manager, limited.logger, {
      intervalMs: () => 60_000,
      maxEntries: () => 10_000,
      useInotify: () => true,
    });
    const seen: RemoteChange[] = [];
    const notices: HostWatchNotice[] = [];
    service.onDidChange(({ changes }) => seen.push(...changes));
    service.onDidNotice((notice) => notices.push(notice));
    return { service, seen, notices };
  }

  const polledBecauseOfLimit = (path: string): boolean =>
    limited.logger.lines.some((line) =>
      line.includes(`Watching ${path} by polling: the server's inotify limit was reached`),
    );

  async function until(what: string, condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `${what}; log: ${limited.logger.lines.slice(-5).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test('watches that reach it at the start are polled instead, and the user is told once', async () => {
    const alias = limited.sshd.alias;
    const first = limited.sshd.mkdirLocal('limit-at-start-1');
    const second = limited.sshd.mkdirLocal('limit-at-start-2');
    await limited.manager.fileSystem(alias).stat(first);
    const { service, seen, notices } = limitedService();
    const watches = [first, second].map((path) =>
      service.watch(alias, path, { recursive: true, excludes: [] }),
    );
    await until('both polled', () => polledBecauseOfLimit(first) && polledBecauseOfLimit(second));
    assert.equal(notices.length, 1, 'told once for the host');
    assert.equal(notices[0]?.reason, 'inotifyLimit');
    assert.match(
      notices[0]?.reason === 'inotifyLimit' ? notices[0].detail : '',
      /upper limit on inotify watches/,
    );
    assert.equal(
      limited.logger.lines.filter((line) => line.includes("The server's inotify limit was reached")).length,
      1,
    );
    await service.pollNow(alias); // the baseline
    limited.sshd.writeLocal('limit-at-start-2/polled.txt', 'x');
    await service.pollNow(alias);
    assert.deepEqual(seen, [{ kind: 'created', path: limited.sshd.local('limit-at-start-2/polled.txt') }]);
    for (const watch of watches) {
      watch.dispose();
    }
    service.dispose();
  });

  test('a watch that reaches it for a folder created later is polled from then on', async () => {
    const alias = limited.sshd.alias;
    const folder = limited.sshd.mkdirLocal('limit-later');
    await limited.manager.fileSystem(alias).stat(folder);
    const { service, seen, notices } = limitedService();
    const watch = service.watch(alias, folder, { recursive: true, excludes: [] });
    await until('inotifywait running', () =>
      limited.logger.lines.some((line) => line.includes(`Watching ${folder} with inotifywait`)),
    );
    await until('polled after the limit', () => polledBecauseOfLimit(folder));
    assert.deepEqual(
      notices.map((notice) => notice.reason),
      ['inotifyLimit'],
    );
    await service.pollNow(alias); // the baseline
    limited.sshd.writeLocal('limit-later/polled.txt', 'x');
    await service.pollNow(alias);
    assert.deepEqual(seen, [{ kind: 'created', path: limited.sshd.local('limit-later/polled.txt') }]);
    watch.dispose();
    service.dispose();
  });
});
