import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { isRemoteFsError } from '../../src/core/common/errors';
import type { ConnectionManager } from '../../src/core/connection/connectionManager';
import { findFiles, findInFiles, type SearchTarget } from '../../src/core/search/remoteSearch';
import { hasShell } from '../../src/core/ssh/remoteCommand';
import { FaultProxy } from '../support/faultProxy';
import { managerThroughRelay, useSshd } from '../support/harness';

const h = useSshd();

const FOLDERS = 200;
const FILES_PER_FOLDER = 100;
const FILES = FOLDERS * FILES_PER_FOLDER;
const TEXT = { isRegExp: false, caseSensitive: true, maxFileBytes: 1024 * 1024 };

function targetOf(manager: ConnectionManager, counts?: { reads: number }): SearchTarget {
  const fs = manager.fileSystem(h.sshd.alias);
  return {
    connection: () => manager.sshConnection(h.sshd.alias),
    list: (path) => fs.list(path),
    readFile: (path) => {
      if (counts !== undefined) {
        counts.reads++;
      }
      return fs.readFile(path);
    },
    logger: h.logger,
  };
}

/** Processes (of this user: sshd runs as it) working in `folder`: the server side of a search there. */
function processesIn(folder: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === folder;
      } catch {
        return false; // gone meanwhile, or another user's
      }
    })
    .map(Number);
}

async function waitFor(condition: () => boolean, withinMs: number): Promise<boolean> {
  const until = performance.now() + withinMs;
  while (!condition()) {
    if (performance.now() > until) {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe('search over a tree of 20,000 files', () => {
  let root: string;
  before(() => {
    root = h.path('big');
    for (let folder = 0; folder < FOLDERS; folder++) {
      const dir = join(root, `d${String(folder).padStart(3, '0')}`);
      mkdirSync(dir, { recursive: true });
      for (let file = 0; file < FILES_PER_FOLDER; file++) {
        writeFileSync(join(dir, `f${file}.txt`), `line one\nneedle ${folder}/${file}\n`);
      }
    }
    // grep's output for this one is larger than any channel window: grep is still writing it when
    // a search for `haystack` is cancelled.
    writeFileSync(join(root, 'many.log'), 'haystack 000000\n'.repeat(600_000));
  });

  test('by walking, the first file found is passed on while the walk is still going', async () => {
    // The last folder's listing waits until a result has been passed on: a search that kept its
    // results to the end would never finish.
    let firstResult: () => void = () => undefined;
    const resultSeen = new Promise<void>((resolve) => (firstResult = resolve));
    const fs = h.manager.fileSystem(h.sshd.alias);
    const target: SearchTarget = {
      ...targetOf(h.manager),
      list: async (path) => {
        if (path.endsWith('/d199')) {
          await resultSeen;
        }
        return fs.list(path);
      },
    };
    let found = 0;
    const outcome = await findFiles(
      target,
      '*.txt',
      { root, excludes: [], maxResults: FILES, forceWalk: true },
      () => {
        found++;
        firstResult();
      },
    );
    assert.equal(outcome.method, 'walk');
    assert.equal(outcome.results.length, FILES);
    assert.equal(found, FILES);
  });

  test('by walking, a cancelled Find in Files stops at once and reads nothing more', async () => {
    const counts = { reads: 0 };
    const controller = new AbortController();
    let readsAtCancel = 0;
    let cancelledAt = 0;
    const search = findInFiles(
      targetOf(h.manager, counts),
      { ...TEXT, pattern: 'needle' },
      { root, excludes: [], maxResults: FILES, signal: controller.signal, forceWalk: true },
      () => {
        if (!controller.signal.aborted) {
          readsAtCancel = counts.reads;
          cancelledAt = performance.now();
          controller.abort();
        }
      },
    );
    await assert.rejects(search, (error) => isRemoteFsError(error, 'ECANCELED'));
    const tookMs = performance.now() - cancelledAt;
    assert.ok(tookMs < 1000, `ended ${Math.round(tookMs)} ms after the cancel`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(counts.reads, readsAtCancel, 'no file is read after the cancel');
  });

  describe('on a line of 4 Mbit/s with a 20 ms round trip', () => {
    let proxy: FaultProxy;
    let slow: ConnectionManager;
    before(async () => {
      proxy = await FaultProxy.start(h.sshd.port, { oneWayDelayMs: 10, bitsPerSecond: 4e6 });
      slow = managerThroughRelay(h.sshd, proxy.port, {
        fileSystem: { maxReadFileBytes: 1024 * 1024 },
      });
      await hasShell(await slow.sshConnection(h.sshd.alias)); // connected and asked before anything is timed
    });
    after(async () => {
      slow?.dispose();
      await proxy?.close();
    });

    for (const kind of ['Find File', 'Find in Files'] as const) {
      test(`${kind} with find/grep on the server passes the first result on long before the command ends`, async () => {
        const started = performance.now();
        let firstAt: number | undefined;
        const onFound = (): void => {
          firstAt ??= performance.now() - started;
        };
        const scope = { root, excludes: [], maxResults: FILES };
        const outcome =
          kind === 'Find File'
            ? await findFiles(targetOf(slow), '*.txt', scope, onFound)
            : await findInFiles(targetOf(slow), { ...TEXT, pattern: 'needle' }, scope, onFound);
        const endedAt = performance.now() - started;
        assert.equal(outcome.method, 'shell');
        assert.equal(outcome.results.length, FILES);
        // The target: the first result within 1 s; and here, before half the search is done.
        assert.ok(
          firstAt !== undefined && firstAt < 1000 && firstAt < endedAt / 2,
          `first after ${firstAt} ms, ended after ${endedAt} ms`,
        );
      });
    }

    test('a cancelled grep on the server ends the search at once and the server stops the command', async () => {
      const controller = new AbortController();
      let cancelledAt = 0;
      let runningAtCancel: number[] = [];
      const search = findInFiles(
        targetOf(slow),
        { ...TEXT, pattern: 'haystack' },
        { root, excludes: [], maxResults: 1_000_000, signal: controller.signal },
        () => {
          if (!controller.signal.aborted) {
            runningAtCancel = processesIn(root);
            cancelledAt = performance.now();
            controller.abort();
          }
        },
      );
      await assert.rejects(search, (error) => isRemoteFsError(error, 'ECANCELED'));
      const tookMs = performance.now() - cancelledAt;
      assert.ok(tookMs < 1000, `ended ${Math.round(tookMs)} ms after the cancel`);
      assert.ok(runningAtCancel.length > 0, 'grep was still running on the server when cancelled');
      assert.ok(
        await waitFor(() => processesIn(root).length === 0, 3000),
        `still running on the server: ${processesIn(root).join(', ')}`,
      );
    });
  });
});
