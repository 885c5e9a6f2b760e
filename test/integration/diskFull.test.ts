import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import { ensureSharedAccounts, sharedAccountsUnavailable, type SharedAccounts } from '../support/accounts';
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

let accounts: SharedAccounts;

describe('a full disk on the server', () => {
  before(() => {
    if (sharedAccountsUnavailable === undefined) {
      accounts = ensureSharedAccounts(); // before the first login, so the session has the group
    }
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

  test("a colleague's file saved in place that does not fit gets its original back: ENOSPC, same content, owner, group and mode, no copy left", async (t) => {
    if (mounted === undefined || sharedAccountsUnavailable !== undefined) {
      return t.skip(cannotMount ?? sharedAccountsUnavailable);
    }
    // A first save on the host teaches it who the user is: the colleague's file then goes straight to
    // the in-place plan instead of failing for space while its temporary is written.
    await h.fs.writeFile(h.sshd.writeLocal('own.txt', 'x'), Buffer.from('y'), {
      create: true,
      overwrite: true,
    });
    const original = patternBytes(300 * 1024, 55);
    const remote = h.sshd.writeLocal('small-disk/shared.bin', original, 0o664);
    chownSync(remote, accounts.colleagueUid, accounts.sharedGid);
    chmodSync(remote, 0o664);
    const error = await rejectsWith(
      h.fs.writeFile(remote, patternBytes(4 * MiB, 56), { create: true, overwrite: true }),
      'ENOSPC',
    );
    assert.match(error.message, /no space/i);
    assert.ok(readFileSync(remote).equals(original), 'the original is byte for byte back');
    const { uid, gid, mode } = statSync(remote);
    assert.deepEqual([uid, gid, mode & 0o7777], [accounts.colleagueUid, accounts.sharedGid, 0o664]);
    assert.deepEqual(temporaries(), []);
    assert.ok(
      h.logger.lines.some((line) => line.includes('Put the original content') && line.includes(remote)),
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
