import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { backupSiblingOf, temporarySiblingOf } from '../../src/core/fs/save/temporaries';
import type { RemoteChange, TruncationNotice, WatchedHost } from '../../src/core/watch/pollingWatcher';
import { PollingWatcher } from '../../src/core/watch/pollingWatcher';
import { WatchService } from '../../src/core/watch/watchService';
import { RecordingLogger, randomSource, useSshd } from '../support/harness';

const h = useSshd();

/** VS Code's default `files.watcherExclude`, as the editor passes it to watch(). */
const VSCODE_WATCHER_EXCLUDES = [
  '**/.git/objects/**',
  '**/.git/subtree-cache/**',
  '**/.hg/store/**',
  '**/node_modules/*/**',
];

/**
 * A watcher over the test server that polls only when asked, recording batches, notices and listed
 * folders. `replyDelayMs` holds each listing's answer back, to make replies arrive in another order.
 */
function manualWatcher(options: { maxEntries?: number; replyDelayMs?: () => number } = {}) {
  const batches: RemoteChange[][] = [];
  const notices: TruncationNotice[] = [];
  const listed: string[] = [];
  const logger = new RecordingLogger();
  const host: WatchedHost = {
    isConnected: () => true,
    stat: (path) => h.fs.stat(path, { fresh: true }),
    list: async (path) => {
      listed.push(path);
      const children = await h.fs.list(path);
      const delayMs = options.replyDelayMs?.() ?? 0;
      if (delayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      return children;
    },
  };
  const watcher = new PollingWatcher(
    host,
    { intervalMs: 0, maxEntries: options.maxEntries ?? 10_000, logger },
    (changes) => batches.push(changes),
    (notice) => notices.push(notice),
  );
  return { watcher, batches, notices, listed, logger };
}

function sorted(changes: readonly RemoteChange[] | undefined): string[] {
  return (changes ?? []).map((c) => `${c.kind} ${c.path}`).sort();
}

/** Modification times have whole seconds: content that differs in size is seen at once. */
function rewrite(relative: string, content: string): void {
  writeFileSync(h.path(relative), content);
}

describe('polling watcher', () => {
  test('a recursive watch reports files created, changed and deleted anywhere below, in one batch', async () => {
    h.sshd.mkdirLocal('w1/a/b');
    h.sshd.writeLocal('w1/a/b/deep.txt', 'one');
    h.sshd.writeLocal('w1/top.txt', 'one');
    h.sshd.writeLocal('w1/gone.txt', 'x');
    const { watcher, batches } = manualWatcher();
    watcher.watch(h.path('w1'), { recursive: true, excludes: [] });
    await watcher.pollNow();
    assert.equal(batches.length, 0, 'the first scan is the baseline');

    rewrite('w1/a/b/deep.txt', 'one and more');
    h.sshd.writeLocal('w1/a/new.txt', 'new');
    rmSync(h.path('w1/gone.txt'));
    await watcher.pollNow();
    assert.equal(batches.length, 1);
    assert.deepEqual(sorted(batches[0]), [
      `changed ${h.path('w1/a/b/deep.txt')}`,
      `created ${h.path('w1/a/new.txt')}`,
      `deleted ${h.path('w1/gone.txt')}`,
    ]);
    await watcher.pollNow();
    assert.equal(batches.length, 1, 'nothing changed, nothing reported');
    watcher.dispose();
  });

  test('temporaries and copies of ours that come and go between polls are never reported', async () => {
    h.sshd.mkdirLocal('w-ours');
    h.sshd.writeLocal('w-ours/page.html', 'one');
    const { watcher, batches } = manualWatcher();
    watcher.watch(h.path('w-ours'), { recursive: true, excludes: [] });
    await watcher.pollNow();
    // As a save caught mid-way would leave them: a temporary and a copy of the original beside it.
    const temporary = temporarySiblingOf(h.path('w-ours/page.html'));
    const copy = backupSiblingOf(h.path('w-ours/page.html'));
    writeFileSync(temporary, 'new');
    writeFileSync(copy, 'one');
    h.sshd.writeLocal('w-ours/real-change.txt', 'made by someone');
    await watcher.pollNow();
    rmSync(temporary);
    rmSync(copy);
    await watcher.pollNow();
    assert.deepEqual(
      batches.map((batch) => sorted(batch)),
      [[`created ${h.path('w-ours/real-change.txt')}`]],
    );
    watcher.dispose();
  });

  test('a deleted folder is one event, not one per file inside it', async () => {
    h.sshd.mkdirLocal('w2/doomed/inner');
    h.sshd.writeLocal('w2/doomed/inner/a.txt', 'a');
    h.sshd.writeLocal('w2/doomed/b.txt', 'b');
    const { watcher, batches } = manualWatcher();
    watcher.watch(h.path('w2'), { recursive: true, excludes: [] });
    await watcher.pollNow();
    rmSync(h.path('w2/doomed'), { recursive: true });
    await watcher.pollNow();
    assert.deepEqual(sorted(batches[0]), [`deleted ${h.path('w2/doomed')}`]);
    watcher.dispose();
  });

  test('excluded folders are neither listed nor reported', async () => {
    h.sshd.mkdirLocal('w3/node_modules/pkg');
    h.sshd.mkdirLocal('w3/.git/objects');
    h.sshd.writeLocal('w3/src.txt', 'x');
    const { watcher, batches, listed } = manualWatcher();
    watcher.watch(h.path('w3'), { recursive: true, excludes: ['**/node_modules', '**/.git/objects/**'] });
    await watcher.pollNow();
    h.sshd.writeLocal('w3/node_modules/pkg/index.js', 'x');
    h.sshd.writeLocal('w3/.git/objects/ab', 'x');
    h.sshd.writeLocal('w3/.git/HEAD', 'ref');
    await watcher.pollNow();
    assert.deepEqual(sorted(batches[0]), [`created ${h.path('w3/.git/HEAD')}`]);
    assert.ok(!listed.some((path) => path.includes('node_modules')), `listed: ${listed.join(', ')}`);
    watcher.dispose();
  });

  test('under VS Code default excludes, package folders and .git/objects are never listed, round after round', async () => {
    const root = 'w-web';
    for (const pkg of ['react', 'lodash', '@types/node']) {
      h.sshd.mkdirLocal(`${root}/node_modules/${pkg}/lib`);
      h.sshd.writeLocal(`${root}/node_modules/${pkg}/lib/index.js`, 'x');
    }
    h.sshd.mkdirLocal(`${root}/.git/objects/ab`);
    h.sshd.writeLocal(`${root}/.git/objects/ab/cdef`, 'blob');
    h.sshd.writeLocal(`${root}/.git/HEAD`, 'ref: refs/heads/main');
    h.sshd.mkdirLocal(`${root}/src`);
    h.sshd.writeLocal(`${root}/src/app.ts`, 'one');
    const { watcher, batches, listed } = manualWatcher();
    watcher.watch(h.path(root), { recursive: true, excludes: VSCODE_WATCHER_EXCLUDES });
    const roundsListed: string[][] = [];
    for (let round = 0; round < 3; round++) {
      listed.length = 0;
      await watcher.pollNow();
      roundsListed.push([...listed].sort());
    }
    const expected = [root, `${root}/.git`, `${root}/node_modules`, `${root}/src`]
      .map((p) => h.path(p))
      .sort();
    assert.deepEqual(
      roundsListed,
      [expected, expected, expected],
      'each round lists these four folders only',
    );

    rewrite(`${root}/src/app.ts`, 'one and two');
    h.sshd.writeLocal(`${root}/node_modules/react/lib/new.js`, 'x');
    h.sshd.mkdirLocal(`${root}/node_modules/vue`);
    h.sshd.writeLocal(`${root}/.git/objects/ab/0123`, 'blob');
    await watcher.pollNow();
    assert.deepEqual(batches.map(sorted), [[`changed ${h.path(`${root}/src/app.ts`)}`]]);
    watcher.dispose();
  });

  test('a folder whose whole content is excluded is reported but never opened', async () => {
    h.sshd.mkdirLocal('w-out/out/deep');
    h.sshd.writeLocal('w-out/out/deep/bundle.js', 'x');
    const { watcher, batches, listed } = manualWatcher();
    watcher.watch(h.path('w-out'), { recursive: true, excludes: ['out/**/*'] });
    await watcher.pollNow();
    h.sshd.writeLocal('w-out/out/deep/more.js', 'x');
    rmSync(h.path('w-out/out'), { recursive: true });
    await watcher.pollNow();
    assert.deepEqual(batches.map(sorted), [[`deleted ${h.path('w-out/out')}`]]);
    assert.deepEqual(listed, [h.path('w-out'), h.path('w-out')]);
    watcher.dispose();
  });

  test('a non-recursive folder watch sees its children but not deeper', async () => {
    h.sshd.mkdirLocal('w4/sub');
    const { watcher, batches, listed } = manualWatcher();
    watcher.watch(h.path('w4'), { recursive: false, excludes: [] });
    await watcher.pollNow();
    h.sshd.writeLocal('w4/child.txt', 'x');
    h.sshd.writeLocal('w4/sub/grandchild.txt', 'x');
    await watcher.pollNow();
    assert.deepEqual(sorted(batches[0]), [`created ${h.path('w4/child.txt')}`]);
    assert.ok(!listed.includes(h.path('w4/sub')));
    watcher.dispose();
  });

  test('a file watch reports a change, a deletion and the file coming back', async () => {
    h.sshd.writeLocal('w5.txt', 'v1');
    const { watcher, batches } = manualWatcher();
    watcher.watch(h.path('w5.txt'), { recursive: false, excludes: [] });
    await watcher.pollNow();
    rewrite('w5.txt', 'version 2');
    await watcher.pollNow();
    rmSync(h.path('w5.txt'));
    await watcher.pollNow();
    h.sshd.writeLocal('w5.txt', 'v3');
    await watcher.pollNow();
    assert.deepEqual(
      batches.map((batch) => sorted(batch)),
      [[`changed ${h.path('w5.txt')}`], [`deleted ${h.path('w5.txt')}`], [`created ${h.path('w5.txt')}`]],
    );
    watcher.dispose();
  });

  test('a watch stops at maxEntries and says so in the log', async () => {
    h.sshd.mkdirLocal('w6');
    for (let i = 0; i < 30; i++) {
      h.sshd.writeLocal(`w6/f${i}.txt`, 'x');
    }
    const { watcher, logger } = manualWatcher({ maxEntries: 10 });
    watcher.watch(h.path('w6'), { recursive: true, excludes: [] });
    await watcher.pollNow();
    assert.ok(logger.lines.some((line) => line.includes('Watching only the first 10 entries')));
    watcher.dispose();
  });

  test('past maxEntries the same part is watched every round, whatever order replies come in, and nothing unchanged is reported', async () => {
    // 1 root + 12 folders + 12 x 6 files = 85 entries, 30 watched: the root, the 12 folders, then
    // d00's and d01's files and five of d02's, breadth-first by name.
    for (let d = 0; d < 12; d++) {
      h.sshd.mkdirLocal(`w-cut/d${String(d).padStart(2, '0')}`);
      for (let f = 0; f < 6; f++) {
        h.sshd.writeLocal(`w-cut/d${String(d).padStart(2, '0')}/f${f}.txt`, 'x');
      }
    }
    const random = randomSource(17);
    const { watcher, batches, notices, logger } = manualWatcher({
      maxEntries: 30,
      replyDelayMs: () => random(40),
    });
    watcher.watch(h.path('w-cut'), { recursive: true, excludes: [] });
    for (let round = 0; round < 6; round++) {
      await watcher.pollNow();
    }
    assert.deepEqual(batches, [], 'nothing changed, nothing reported');

    // A new entry early in the order pushes the last watched one out of view: that is not a deletion.
    h.sshd.writeLocal('w-cut/d00/a-first.txt', 'x');
    rewrite('w-cut/d01/f0.txt', 'watched, and changed');
    rewrite('w-cut/d09/f0.txt', 'not watched, and changed');
    await watcher.pollNow();
    await watcher.pollNow();
    assert.deepEqual(batches.map(sorted), [
      [`changed ${h.path('w-cut/d01/f0.txt')}`, `created ${h.path('w-cut/d00/a-first.txt')}`],
    ]);

    assert.equal(notices.length, 1, 'told once');
    assert.deepEqual(notices[0], {
      path: h.path('w-cut'),
      reason: 'truncated',
      maxEntries: 30,
      unwatched: ['d02', 'd03', 'd04', 'd05', 'd06'],
      moreUnwatched: 5,
    });
    assert.equal(
      logger.lines.filter((line) => line.includes('Watching only the first 30 entries')).length,
      1,
    );
    watcher.dispose();
  });

  test('an unreadable folder does not make its content look deleted', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs the dedicated test account (root) for permissions to apply');
      return;
    }
    h.sshd.mkdirLocal('w7/locked');
    h.sshd.writeLocal('w7/locked/a.txt', 'x');
    const { watcher, batches } = manualWatcher();
    watcher.watch(h.path('w7'), { recursive: true, excludes: [] });
    await watcher.pollNow();
    chmodSync(h.path('w7/locked'), 0o000);
    try {
      await watcher.pollNow();
      assert.deepEqual(batches, []);
    } finally {
      chmodSync(h.path('w7/locked'), 0o755);
    }
    watcher.dispose();
  });
});

describe('polling schedule', () => {
  test('a slow tree is scanned less often, while a file open in it is checked at the interval and reported once', async () => {
    h.sshd.mkdirLocal('w-slow/sub');
    h.sshd.writeLocal('w-slow/sub/open.txt', 'one');
    h.sshd.writeLocal('w-slow/other.txt', 'x');
    const root = h.path('w-slow');
    const open = h.path('w-slow/sub/open.txt');
    const scans: number[] = [];
    const openChecks: number[] = [];
    const batches: Array<{ at: number; changes: RemoteChange[] }> = [];
    // Every listing takes 150 ms, so a scan (two levels) takes 300 ms or more: 2.7 s between scans.
    const host: WatchedHost = {
      isConnected: () => true,
      stat: (path) => {
        (path === root ? scans : path === open ? openChecks : []).push(Date.now());
        return h.fs.stat(path, { fresh: true });
      },
      list: async (path) => {
        const children = await h.fs.list(path);
        await new Promise((resolve) => setTimeout(resolve, 150));
        return children;
      },
    };
    const watcher = new PollingWatcher(
      host,
      { intervalMs: 100, maxEntries: 10_000, logger: new RecordingLogger() },
      (changes) => batches.push({ at: Date.now(), changes }),
    );
    watcher.watch(root, { recursive: true, excludes: [] });
    watcher.setOpenFiles([open]);
    const started = Date.now();
    while (scans.length < 1 || Date.now() - started < 800) {
      await new Promise((r) => setTimeout(r, 50));
    }
    rewrite('w-slow/sub/open.txt', 'one and two');
    const changedAt = Date.now();
    while (Date.now() - started < 4000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    watcher.dispose();

    assert.ok(
      scans.length <= 2,
      `the tree was scanned ${scans.length} times in 4 s (every 100 ms would be ~10)`,
    );
    assert.ok(openChecks.length >= 5, `the open file was checked ${openChecks.length} times in 4 s`);
    assert.deepEqual(
      batches.map(({ changes }) => sorted(changes)),
      [[`changed ${open}`]],
      'reported once: the tree scan after the check does not report it again',
    );
    const reported = batches[0]?.at ?? Infinity;
    assert.ok(
      scans.every((at) => at < changedAt || at > reported),
      'seen by the open-file check, before the tree was scanned again',
    );
  });
});

describe('watch service', () => {
  test('polls on its own interval and batches what one round found', async () => {
    h.sshd.mkdirLocal('s1');
    const service = new WatchService(h.manager, h.logger, {
      intervalMs: () => 200,
      maxEntries: () => 10_000,
    });
    const batches: RemoteChange[][] = [];
    service.onDidChange(({ changes }) => batches.push([...changes]));
    await h.fs.stat(h.path('s1')); // connected: polling only runs on a live connection
    const registration = service.watch(h.sshd.alias, h.path('s1'), { recursive: true, excludes: [] });
    await new Promise((r) => setTimeout(r, 500));
    h.sshd.writeLocal('s1/a.txt', 'a');
    h.sshd.writeLocal('s1/b.txt', 'b');
    const deadline = Date.now() + 5000;
    while (batches.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(sorted(batches[0]), [`created ${h.path('s1/a.txt')}`, `created ${h.path('s1/b.txt')}`]);
    registration.dispose();
    service.dispose();
  });

  test('polling turned on in the settings starts on watches already running, without a reload', async () => {
    h.sshd.mkdirLocal('s-setting');
    let intervalMs = 0; // the setting: off
    const service = new WatchService(h.manager, h.logger, {
      intervalMs: () => intervalMs,
      maxEntries: () => 10_000,
    });
    const batches: RemoteChange[][] = [];
    service.onDidChange(({ changes }) => batches.push([...changes]));
    await h.fs.stat(h.path('s-setting'));
    const registration = service.watch(h.sshd.alias, h.path('s-setting'), { recursive: true, excludes: [] });
    await service.pollNow(h.sshd.alias); // the baseline
    h.sshd.writeLocal('s-setting/while-off.txt', 'x');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(batches.length, 0, 'nothing polls while the setting is off');
    intervalMs = 100;
    service.intervalChanged();
    const deadline = Date.now() + 5000;
    while (batches.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.deepEqual(sorted(batches[0]), [`created ${h.path('s-setting/while-off.txt')}`]);
    registration.dispose();
    service.dispose();
  });

  test('while disconnected it polls nothing and opens no connection; changes made meanwhile come after', async () => {
    h.sshd.mkdirLocal('s2');
    const service = new WatchService(h.manager, h.logger, { intervalMs: () => 0, maxEntries: () => 10_000 });
    const batches: RemoteChange[][] = [];
    service.onDidChange(({ changes }) => batches.push([...changes]));
    await h.fs.stat(h.path('s2'));
    const registration = service.watch(h.sshd.alias, h.path('s2'), { recursive: true, excludes: [] });
    await service.pollNow(h.sshd.alias);
    h.manager.disconnect(h.sshd.alias);
    h.sshd.writeLocal('s2/while-away.txt', 'x');
    await service.pollNow(h.sshd.alias);
    assert.equal(h.manager.state(h.sshd.alias), 'disconnected', 'polling must not reconnect');
    assert.deepEqual(batches, []);

    await h.fs.stat(h.path('s2')); // the user's next action reconnects
    await service.pollNow(h.sshd.alias);
    assert.deepEqual(sorted(batches[0]), [`created ${h.path('s2/while-away.txt')}`]);
    registration.dispose();
    service.dispose();
  });
});
