import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';

import { rejectsWith, useSshd } from '../support/harness';

const h = useSshd();

function makeTree(relative: string, folders: number, filesPerFolder: number): number {
  for (let f = 0; f < folders; f++) {
    h.sshd.mkdirLocal(`${relative}/d${f}`);
    for (let i = 0; i < filesPerFolder; i++) {
      h.sshd.writeLocal(`${relative}/d${f}/f${i}.txt`, `${f}/${i}`);
    }
  }
  return folders * (filesPerFolder + 1) + 1;
}

function countEntries(path: string): number {
  return readdirSync(path, { recursive: true }).length;
}

describe('cancelling recursive operations', () => {
  test('a recursive delete counts every entry it removes', async () => {
    const total = makeTree('c0', 5, 10);
    let entries = 0;
    await h.fs.delete(h.path('c0'), { recursive: true, onEntry: () => void entries++ });
    assert.equal(entries, total);
    assert.equal(existsSync(h.path('c0')), false);
  });

  test('a cancelled recursive delete stops between entries with ECANCELED, the rest left in place', async () => {
    makeTree('c1', 10, 30);
    const controller = new AbortController();
    let entries = 0;
    await rejectsWith(
      h.fs.delete(h.path('c1'), {
        recursive: true,
        signal: controller.signal,
        onEntry: () => {
          if (++entries === 50) {
            controller.abort();
          }
        },
      }),
      'ECANCELED',
    );
    const left = countEntries(h.path('c1'));
    assert.ok(left > 0 && left < 310, `${left} entries left`);
    // What is left is still a consistent tree that can be deleted afterwards.
    await h.fs.delete(h.path('c1'), { recursive: true });
    assert.equal(existsSync(h.path('c1')), false);
  });

  test('a cancelled folder copy leaves nothing behind: no target, no temporary', async () => {
    makeTree('c2', 10, 20);
    const controller = new AbortController();
    let entries = 0;
    await rejectsWith(
      h.fs.copy(h.path('c2'), h.path('c2-copy'), {
        overwrite: false,
        signal: controller.signal,
        onEntry: () => {
          if (++entries === 40) {
            controller.abort();
          }
        },
      }),
      'ECANCELED',
    );
    assert.equal(existsSync(h.path('c2-copy')), false);
    assert.deepEqual(
      readdirSync(h.sshd.root).filter((name) => name.includes('c2-copy')),
      [],
      'a temporary of the copy was left',
    );
    assert.equal(countEntries(h.path('c2')), 210, 'the source was touched');
  });
});
