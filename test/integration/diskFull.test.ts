import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import { patternBytes, rejectsWith, useSshd } from '../support/harness';

/**
 * A full disk on a real server: a 2 MiB tmpfs mounted inside the served folder. Mounting needs root
 * and a kernel that allows it; elsewhere these tests are skipped and say why (the hostile-server
 * tests inject the same status through an in-process server).
 */
const h = useSshd();
const MiB = 1024 * 1024;
let mounted: string | undefined;
let cannotMount: string | undefined;

const temporaries = (): string[] => readdirSync(mounted ?? '').filter((name) => name.includes(TEMP_MARKER));

describe('a full disk on the server', () => {
  before(() => {
    const folder = h.sshd.mkdirLocal('small-disk');
    try {
      execFileSync(
        'mount',
        ['-t', 'tmpfs', '-o', `size=2m,uid=${h.sshd.uid},gid=${h.sshd.gid},mode=0755`, 'tmpfs', folder],
        { stdio: 'pipe' },
      );
      mounted = folder;
    } catch (error) {
      cannotMount = `cannot mount a small tmpfs here: ${String(error).split('\n')[0]}`;
    }
  });
  after(() => {
    if (mounted !== undefined) {
      execFileSync('umount', [mounted]);
    }
  });

  test('a save that does not fit fails with ENOSPC saying "no space", and the original stays intact', async (t) => {
    if (mounted === undefined) {
      return t.skip(cannotMount);
    }
    const original = patternBytes(100 * 1024, 51);
    const remote = h.sshd.writeLocal('small-disk/notes.bin', original);
    const error = await rejectsWith(
      h.fs.writeFile(remote, patternBytes(4 * MiB, 52), { create: true, overwrite: true }),
      'ENOSPC',
    );
    assert.match(error.message, /no space/i);
    assert.equal(error.path, remote, 'the error names the file being saved, not our temporary');
    assert.ok(readFileSync(remote).equals(original), 'the original is byte for byte unchanged');
    assert.deepEqual(temporaries(), []);
  });

  test('a copy that does not fit fails with ENOSPC and leaves no partial file', async (t) => {
    if (mounted === undefined) {
      return t.skip(cannotMount);
    }
    const source = h.sshd.writeLocal('big-source.bin', patternBytes(3 * MiB, 53));
    const target = `${mounted}/copied.bin`;
    await rejectsWith(h.fs.copy(source, target, { overwrite: false }), 'ENOSPC');
    assert.deepEqual(
      readdirSync(mounted).filter((name) => name.startsWith('copied') || name.includes(TEMP_MARKER)),
      [],
    );
  });

  test('a save that fits still works on the nearly full disk', async (t) => {
    if (mounted === undefined) {
      return t.skip(cannotMount);
    }
    const remote = `${mounted}/fits.bin`;
    const content = patternBytes(512 * 1024, 54);
    await h.fs.writeFile(remote, content, { create: true, overwrite: true });
    assert.ok(readFileSync(remote).equals(content));
  });
});
