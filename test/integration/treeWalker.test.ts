import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import type { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { WALK_CONCURRENCY, walkTree, walkingListedChildren } from '../../src/core/fs/treeWalker';
import { FaultProxy } from '../support/faultProxy';
import { managerThroughRelay, useSshd } from '../support/harness';

const h = useSshd();

const OUTER = 40;
const INNER = 50;
/** The root, 40 folders, and 50 folders in each: 2,041 listings. */
const FOLDERS = 1 + OUTER + OUTER * INNER;

describe('the tree walker on a line with a 50 ms round trip', () => {
  let proxy: FaultProxy;
  let slow: ConnectionManager;
  let fs: RemoteFileSystem;
  before(async () => {
    for (let outer = 0; outer < OUTER; outer++) {
      for (let inner = 0; inner < INNER; inner++) {
        mkdirSync(h.path(`wide/o${outer}/i${inner}`), { recursive: true });
      }
      writeFileSync(h.path(`wide/o${outer}/file.txt`), 'x');
    }
    proxy = await FaultProxy.start(h.sshd.port, { oneWayDelayMs: 25 });
    slow = managerThroughRelay(h.sshd, proxy.port, {
      fileSystem: { maxReadFileBytes: 1024 * 1024 },
    });
    fs = slow.fileSystem(h.sshd.alias);
    await fs.stat(h.path('wide')); // connected before anything is timed
  });
  after(async () => {
    slow?.dispose();
    await proxy?.close();
  });

  test('walks 2,000 folders at least 10 times faster than listing them one after another', async (t) => {
    // What one listing costs when nothing else is in flight (OPEN, READDIR until the end, CLOSE).
    const sample = Array.from({ length: 12 }, (_, index) => h.path(`wide/o${index}/i${index}`));
    const sequentialStart = performance.now();
    for (const folder of sample) {
      await fs.list(folder);
    }
    const perListingMs = (performance.now() - sequentialStart) / sample.length;
    assert.ok(perListingMs >= 50, `a listing took ${perListingMs} ms: the line's delay is not in place`);

    let entries = 0;
    const walkStart = performance.now();
    const outcome = await walkTree(
      { root: h.path('wide'), list: walkingListedChildren((folder) => fs.list(folder)) },
      () => {
        entries++;
      },
    );
    const walkMs = performance.now() - walkStart;
    assert.equal(outcome.listings, FOLDERS);
    assert.equal(entries, FOLDERS - 1 + OUTER);
    const sequentialMs = perListingMs * FOLDERS;
    // Sequential waits the walk cost, counted in listings: about FOLDERS / WALK_CONCURRENCY.
    const waits = walkMs / perListingMs;
    const figures =
      `walk ${Math.round(walkMs)} ms = ${Math.round(waits)} listings' time for ${FOLDERS} folders ` +
      `(${WALK_CONCURRENCY} in flight); one after another: ~${Math.round(sequentialMs)} ms`;
    t.diagnostic(figures);
    assert.ok(sequentialMs / walkMs >= 10, figures);
  });
});
