import assert from 'node:assert/strict';
import { promises as fsp, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  download,
  localTargetFor,
  upload,
  type LocalSide,
  type TransferProgress,
} from '../../src/core/transfer/treeTransfer';
import { POSIX_NAMES } from '../../src/core/transfer/localNames';
import { patternBytes, rejectsWith, useSshd } from '../support/harness';

const h = useSshd();
const scratch = mkdtempSync(join(tmpdir(), 'sftpfs-transfer-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** This machine's side through node:fs, as the editor's side goes through vscode.workspace.fs. */
const localFiles: LocalSide = {
  async kindOf(path) {
    try {
      const stat = await fsp.lstat(path);
      return stat.isDirectory() ? 'directory' : stat.isFile() ? 'file' : 'other';
    } catch {
      return undefined;
    }
  },
  async list(path) {
    return (await fsp.readdir(path, { withFileTypes: true })).map((entry) => ({
      name: entry.name,
      kind: entry.isDirectory() ? 'directory' : entry.isFile() ? 'file' : 'other',
    }));
  },
  size: async (path) => (await fsp.stat(path)).size,
  readFile: (path) => fsp.readFile(path),
  writeFile: (path, content) => fsp.writeFile(path, content),
  createDirectory: (path) => fsp.mkdir(path, { recursive: true }).then(() => undefined),
  join: (folder, relative) => join(folder, relative),
  names: POSIX_NAMES,
};

/** Every file below `root`, relative, with its content. */
function treeOf(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(path.slice(root.length + 1), readFileSync(path).toString('base64'));
    }
  }
  return files;
}

describe('download and upload', () => {
  test('a remote folder comes down byte for byte, links to folders not followed, progress adding up', async () => {
    h.sshd.mkdirLocal('t1/deep/er');
    h.sshd.mkdirLocal('t1/empty');
    h.sshd.writeLocal('t1/a.txt', 'alpha');
    h.sshd.writeLocal('t1/deep/big.bin', patternBytes(3 * 1024 * 1024 + 7));
    h.sshd.writeLocal('t1/deep/er/name with spaces.txt', 'spaces');
    symlinkSync(h.path('t1/deep'), h.path('t1/link-to-deep'));
    const progress: TransferProgress[] = [];
    const target = join(scratch, 'down');
    await download(h.fs, h.path('t1'), localFiles, target, { onProgress: (p) => progress.push(p) });

    const expected = treeOf(h.path('t1'));
    for (const key of [...expected.keys()].filter((k) => k.startsWith('link-to-deep'))) {
      expected.delete(key);
    }
    assert.deepEqual(treeOf(target), expected);
    assert.deepEqual(readdirSync(join(target, 'empty')), []);
    assert.ok(!readdirSync(target).includes('link-to-deep'), 'a link to a folder was followed');
    const last = progress.at(-1);
    assert.equal(last?.doneFiles, 3);
    assert.equal(last?.doneBytes, 5 + 3 * 1024 * 1024 + 7 + 6);
    assert.equal(last?.doneBytes, last?.totalBytes);
  });

  test('a single remote file comes down as that file', async () => {
    h.sshd.writeLocal('t2.txt', 'just one');
    await download(h.fs, h.path('t2.txt'), localFiles, join(scratch, 'one.txt'));
    assert.equal(readFileSync(join(scratch, 'one.txt'), 'utf8'), 'just one');
  });

  test('a local folder goes up byte for byte, into folders that may already exist', async () => {
    const source = join(scratch, 'up');
    await fsp.mkdir(join(source, 'src/lib'), { recursive: true });
    await fsp.writeFile(join(source, 'src/lib/code.ts'), 'export {};\n');
    await fsp.writeFile(join(source, 'data.bin'), patternBytes(1024 * 1024 + 3));
    h.sshd.mkdirLocal('t3/src'); // already there: merged into, not an error
    await upload(localFiles, source, h.fs, h.path('t3'));
    assert.deepEqual(treeOf(h.path('t3')), treeOf(source));
  });

  test('cancelling stops between files with ECANCELED; what was copied stays whole', async () => {
    h.sshd.mkdirLocal('t4');
    for (let i = 0; i < 10; i++) {
      h.sshd.writeLocal(`t4/f${i}.txt`, `file ${i}`);
    }
    const controller = new AbortController();
    const target = join(scratch, 'cancelled');
    await rejectsWith(
      download(h.fs, h.path('t4'), localFiles, target, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.doneFiles === 4) {
            controller.abort();
          }
        },
      }),
      'ECANCELED',
    );
    const copied = readdirSync(target);
    assert.equal(copied.length, 4);
    for (const name of copied) {
      assert.equal(readFileSync(join(target, name), 'utf8'), readFileSync(h.path(`t4/${name}`), 'utf8'));
    }
  });
});

describe('a download to a Windows disk (simulated: Windows path and name rules on a recording local side)', () => {
  /** Records what would be written; paths are built with Windows' rules, as VS Code does there. */
  function windowsSide(): { side: LocalSide; written: string[] } {
    const written: string[] = [];
    const side: LocalSide = {
      kindOf: () => Promise.resolve(undefined),
      list: () => Promise.resolve([]),
      size: () => Promise.resolve(0),
      readFile: () => Promise.reject(new Error('not used')),
      writeFile: (path) => {
        written.push(path);
        return Promise.resolve();
      },
      createDirectory: (path) => {
        written.push(path);
        return Promise.resolve();
      },
      join: (folder, relative) => win32.join(folder, ...relative.split('/')),
      names: { windows: true, caseInsensitive: true },
    };
    return { side, written };
  }

  test('names Windows cannot hold refuse the whole download before anything is written, naming them', async () => {
    h.sshd.mkdirLocal('to-windows/src');
    h.sshd.writeLocal('to-windows/src/ok.txt', 'fine');
    h.sshd.writeLocal('to-windows/src/..\\..\\Startup\\run.bat', 'escape attempt');
    h.sshd.writeLocal('to-windows/CON.txt', 'a device');
    h.sshd.writeLocal('to-windows/notes. ', 'trailing');
    h.sshd.writeLocal('to-windows/README', 'one');
    h.sshd.writeLocal('to-windows/readme', 'two');
    const { side, written } = windowsSide();
    const error = await rejectsWith(
      download(h.fs, h.path('to-windows'), side, 'C:\\Users\\me\\Downloads\\to-windows'),
      'EINVAL',
    );
    assert.deepEqual(written, [], 'nothing was written');
    for (const named of ['Startup', 'CON.txt', 'notes. ', 'README']) {
      assert.ok(error.message.includes(named), `${named} in: ${error.message}`);
    }
  });

  test('the same tree without those names downloads; a single file named like a device is refused up front', async () => {
    h.sshd.mkdirLocal('to-windows-ok/sub');
    h.sshd.writeLocal('to-windows-ok/sub/a.txt', 'a');
    const { side, written } = windowsSide();
    await download(h.fs, h.path('to-windows-ok'), side, 'C:\\dl\\to-windows-ok');
    assert.deepEqual(written, [
      'C:\\dl\\to-windows-ok',
      'C:\\dl\\to-windows-ok\\sub',
      'C:\\dl\\to-windows-ok\\sub\\a.txt',
    ]);
    assert.throws(() => localTargetFor(side, 'C:\\dl', h.path('to-windows/CON.txt')), /device name/);
    assert.equal(localTargetFor(side, 'C:\\dl', h.path('to-windows-ok')), 'C:\\dl\\to-windows-ok');
  });

  test('on a POSIX disk the same odd names are fine', async () => {
    const target = join(scratch, 'odd-names');
    await download(h.fs, h.path('to-windows'), localFiles, target);
    assert.equal(readFileSync(join(target, 'src', '..\\..\\Startup\\run.bat'), 'utf8'), 'escape attempt');
    assert.deepEqual(readdirSync(target).sort(), ['CON.txt', 'README', 'notes. ', 'readme', 'src']);
  });
});
