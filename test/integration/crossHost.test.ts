import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { TEMP_MARKER } from '../../src/core/fs/save/temporaries';
import { RecordingLogger, patternBytes, rejectsWith } from '../support/harness';
import { startSshd, type SshdFixture } from '../support/sshd';

/**
 * Copies and moves between two real sshd hosts with different data folders, as VS Code asks for them
 * when a window holds folders of two hosts: both directions, files and folders, overwrite, cancel, and
 * a connection cut on either side. The source is never harmed; the destination ends as it was (or
 * absent) or whole, never partial.
 */
const MiB = 1024 * 1024;
const state = {} as { a: SshdFixture; b: SshdFixture; manager: ConnectionManager };
const fsOf = (host: SshdFixture): RemoteFileSystem => state.manager.fileSystem(host.alias);

before(async () => {
  const [a, b] = await Promise.all([startSshd({ alias: 'cross-a' }), startSshd({ alias: 'cross-b' })]);
  state.a = a;
  state.b = b;
  state.manager = new ConnectionManager({
    resolveHost: (authority) => (authority.host === a.alias ? a : b).resolve(authority),
    logger: new RecordingLogger(),
    fileSystem: { maxReadFileBytes: 64 * MiB },
    lifecycle: { idleTimeoutMs: 0, reconnectDelaysMs: [20, 50], maxReconnectAttempts: 3 },
  });
});
after(async () => {
  state.manager?.dispose();
  await state.a?.stop();
  await state.b?.stop();
});

/** Temporaries and copies of ours anywhere below `folder`. */
function leftovers(folder: string): string[] {
  if (!existsSync(folder)) {
    return [];
  }
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) =>
    name.includes(TEMP_MARKER),
  );
}

/** Files, links and folders below `folder`, with what identifies each: content, link target, mode. */
function treeOf(folder: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(folder, name);
    const stat = lstatSync(path);
    const mode = (stat.mode & 0o777).toString(8);
    result[name] = stat.isSymbolicLink()
      ? `link -> ${readlinkSync(path)}`
      : stat.isDirectory()
        ? `folder ${mode}`
        : `file ${mode} ${readFileSync(path).toString('base64').slice(0, 64)} ${stat.size}`;
  }
  return result;
}

function makeTree(host: SshdFixture, name: string, files = 12): string {
  const root = host.mkdirLocal(name);
  host.mkdirLocal(`${name}/src/lib`);
  host.mkdirLocal(`${name}/empty`, 0o700);
  for (let i = 0; i < files; i++) {
    host.writeLocal(`${name}/src/lib/f-${i}.ts`, patternBytes(1000 + i, i), i % 2 === 0 ? 0o644 : 0o600);
  }
  host.writeLocal(`${name}/src/big.bin`, patternBytes(3 * MiB + 5, 99), 0o640);
  symlinkSync('lib/f-1.ts', join(root, 'src/link-to-f1'));
  return root;
}

describe('copy between two hosts', () => {
  test('a file from a to b arrives whole with its mode', async () => {
    const content = patternBytes(2 * MiB + 17, 1);
    const from = state.a.writeLocal('one.bin', content, 0o640);
    const to = state.b.local('one-copy.bin');
    await fsOf(state.b).copyFrom(fsOf(state.a), from, to, { overwrite: false });
    assert.ok(readFileSync(to).equals(content));
    assert.equal(statSync(to).mode & 0o777, 0o640);
    assert.ok(readFileSync(from).equals(content), 'the source is untouched');
  });

  test('a file from b over an existing one on a keeps the destination mode and replaces its content', async () => {
    const from = state.b.writeLocal('settings.json', '{"new": true}', 0o644);
    const to = state.a.writeLocal('settings.json', '{"old": true, "longer": "than the new one"}', 0o600);
    await fsOf(state.a).copyFrom(fsOf(state.b), from, to, { overwrite: true });
    assert.equal(readFileSync(to, 'utf8'), '{"new": true}');
    assert.equal(statSync(to).mode & 0o777, 0o600);
    assert.deepEqual(leftovers(state.a.root), []);
  });

  test('an existing destination without overwrite fails with EEXIST and is left as it was', async () => {
    const from = state.a.writeLocal('clash.txt', 'from a');
    const to = state.b.writeLocal('clash.txt', 'already on b');
    await rejectsWith(fsOf(state.b).copyFrom(fsOf(state.a), from, to, { overwrite: false }), 'EEXIST');
    assert.equal(readFileSync(to, 'utf8'), 'already on b');
  });

  test('a folder from a to b arrives as the same tree: files, modes, a nested empty folder, links as links', async () => {
    const from = makeTree(state.a, 'project');
    const to = state.b.local('project-copy');
    let entries = 0;
    await fsOf(state.b).copyFrom(fsOf(state.a), from, to, { overwrite: false, onEntry: () => entries++ });
    assert.deepEqual(treeOf(to), treeOf(from));
    assert.ok(entries >= 16, `progress was reported per entry (${entries})`);
    assert.deepEqual(leftovers(state.b.root), []);
  });

  test('a cancelled folder copy leaves nothing at the destination and the source intact', async () => {
    const from = makeTree(state.b, 'to-cancel', 60);
    const sourceBefore = treeOf(from);
    const to = state.a.local('cancelled-copy');
    const controller = new AbortController();
    let entries = 0;
    await rejectsWith(
      fsOf(state.a).copyFrom(fsOf(state.b), from, to, {
        overwrite: false,
        signal: controller.signal,
        onEntry: () => {
          if (++entries === 10) {
            controller.abort();
          }
        },
      }),
      'ECANCELED',
    );
    assert.ok(!existsSync(to), 'no partial folder under the target name');
    assert.deepEqual(leftovers(state.a.root), []);
    assert.deepEqual(treeOf(from), sourceBefore);
  });
});

describe('move between two hosts', () => {
  test('a file moves from a to b: whole at the destination, gone from the source', async () => {
    const content = patternBytes(300_000, 3);
    const from = state.a.writeLocal('moving.bin', content);
    const to = state.b.local('moved.bin');
    await fsOf(state.b).moveFrom(fsOf(state.a), from, to, { overwrite: false });
    assert.ok(readFileSync(to).equals(content));
    assert.ok(!existsSync(from));
  });

  test('a folder moves from b to a: the same tree at the destination, gone from the source', async () => {
    const from = makeTree(state.b, 'moving-tree');
    const expected = treeOf(from);
    const to = state.a.local('moved-tree');
    await fsOf(state.a).moveFrom(fsOf(state.b), from, to, { overwrite: false });
    assert.deepEqual(treeOf(to), expected);
    assert.ok(!existsSync(from));
  });
});

describe('a connection cut during a copy between hosts', () => {
  for (const side of ['source', 'destination'] as const) {
    test(`cut on the ${side} side: the move fails, the source is intact, the destination keeps its old content and no temporary`, async () => {
      const sourceHost = state.a;
      const targetHost = state.b;
      const content = patternBytes(24 * MiB, 7);
      const from = sourceHost.writeLocal(`cut-${side}.bin`, content);
      const to = targetHost.writeLocal(`cut-${side}.bin`, 'old content on b');
      const moving = fsOf(targetHost).moveFrom(fsOf(sourceHost), from, to, { overwrite: true });
      // Cut once the new content is on its way into a temporary beside the destination.
      const started = Date.now();
      const temporaryGrowing = (): boolean =>
        readdirSync(targetHost.root).some(
          (name) => name.includes(TEMP_MARKER) && statSync(join(targetHost.root, name)).size > 1 * MiB,
        );
      while (!temporaryGrowing() && Date.now() - started < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      assert.ok(temporaryGrowing(), 'the copy was under way when the connection was cut');
      (side === 'source' ? sourceHost : targetHost).dropConnections();
      const error = await moving.then(
        () => assert.fail('the move reported success although a connection was cut'),
        (caught: unknown) => caught,
      );
      assert.ok(
        error instanceof RemoteFsError && ['ECONNLOST', 'ETIMEDOUT'].includes(error.code),
        String(error),
      );
      assert.match(error.message, /connection|answer/i);
      assert.ok(readFileSync(from).equals(content), 'the source is byte for byte intact');
      assert.equal(readFileSync(to, 'utf8'), 'old content on b');
      await fsOf(targetHost).stat(targetHost.root); // reconnects and removes what the cut left behind
      assert.deepEqual(leftovers(targetHost.root), []);
    });
  }
});
