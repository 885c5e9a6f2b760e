import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compileExcludeRules } from '../../src/core/common/excludeRules';
import { isRemoteFsError } from '../../src/core/common/errors';
import { walkTree, type ListedEntry, type TreeWalk, type WalkedKind } from '../../src/core/fs/treeWalker';

/** A tree in memory: a folder is an object, a file is 'file', a link is { link: target }. */
type Node = 'file' | { readonly link: string } | { readonly [name: string]: Node };

function kindOf(node: Node): WalkedKind {
  return node === 'file' ? 'file' : 'link' in node && typeof node.link === 'string' ? 'symlink' : 'directory';
}

/**
 * A listing function over `tree` that answers after `delayOf(folder)` ms and counts what a server
 * would see: listings, and the most in flight at once.
 */
function memoryHost(tree: Node, delayOf: (folder: string) => number = () => 0) {
  const seen = { listed: [] as string[], inFlight: 0, peak: 0 };
  const list = async (folder: string): Promise<Array<ListedEntry<null>>> => {
    seen.listed.push(folder);
    seen.peak = Math.max(seen.peak, ++seen.inFlight);
    await new Promise((resolve) => setTimeout(resolve, delayOf(folder)));
    seen.inFlight--;
    let node: Node = tree;
    for (const name of folder.split('/').filter((part) => part !== '')) {
      if (node === 'file' || kindOf(node) !== 'directory') {
        throw new Error(`ENOTDIR ${folder}`);
      }
      const child: Node | undefined = (node as Record<string, Node>)[name];
      if (child === undefined) {
        throw new Error(`ENOENT ${folder}`);
      }
      node = child;
    }
    if (node === 'file' || kindOf(node) !== 'directory') {
      throw new Error(`ENOTDIR ${folder}`);
    }
    return Object.entries(node).map(([name, child]) => ({ name, kind: kindOf(child), item: null }));
  };
  return { seen, list };
}

async function walkedPaths(walk: TreeWalk<null>): Promise<string[]> {
  const paths: string[] = [];
  await walkTree(walk, (entry) => {
    paths.push(entry.path);
  });
  return paths;
}

const sample: Node = {
  b: { 'y.txt': 'file', x: { deep: 'file' } },
  a: { 'z.txt': 'file' },
  'top.txt': 'file',
  loop: { link: '/srv' },
};

test('reports breadth-first, each folder by name, the same order however replies arrive', async () => {
  const expected = [
    '/srv/a',
    '/srv/b',
    '/srv/loop',
    '/srv/top.txt',
    '/srv/a/z.txt',
    '/srv/b/x',
    '/srv/b/y.txt',
    '/srv/b/x/deep',
  ];
  for (const delays of [
    { '/srv/a': 30, '/srv/b': 0 },
    { '/srv/a': 0, '/srv/b': 30 },
  ]) {
    const { list } = memoryHost({ srv: sample }, (folder) => (delays as Record<string, number>)[folder] ?? 1);
    assert.deepEqual(await walkedPaths({ root: '/srv', list }), expected);
  }
});

test('reports links as links and never lists through them', async () => {
  const { seen, list } = memoryHost({ srv: sample });
  const kinds = new Map<string, WalkedKind>();
  await walkTree({ root: '/srv', list }, (entry) => {
    kinds.set(entry.relative, entry.kind);
  });
  assert.equal(kinds.get('loop'), 'symlink');
  assert.ok(!seen.listed.includes('/srv/loop'));
});

test('leaves excluded entries out and does not open folders whose whole content is excluded', async () => {
  const tree: Node = {
    w: {
      node_modules: { react: { 'index.js': 'file' }, vue: { 'index.js': 'file' } },
      '.git': { objects: { ab: 'file' }, HEAD: 'file' },
      'keep.ts': 'file',
      'skip.log': 'file',
      out: { 'main.js': 'file' },
    },
  };
  const { seen, list } = memoryHost(tree);
  // VS Code's default watcher excludes, a file pattern, and one (out/**/*) that keeps its folder.
  const excludes = compileExcludeRules(['**/node_modules/*/**', '**/.git/objects/**', '*.log', 'out/**/*']);
  const paths = await walkedPaths({ root: '/w', list, excludes });
  assert.deepEqual(paths, ['/w/.git', '/w/keep.ts', '/w/node_modules', '/w/out', '/w/.git/HEAD']);
  assert.deepEqual(seen.listed.sort(), ['/w', '/w/.git', '/w/node_modules']);
});

test('refuses names that would reach outside the folder listed, and tells the caller', async () => {
  const list = async (folder: string): Promise<Array<ListedEntry<null>>> =>
    folder === '/r'
      ? ['.', '..', '../etc', 'a/b', 'ok', ''].map((name) => ({
          name,
          kind: 'directory' as const,
          item: null,
        }))
      : [];
  const refused: string[] = [];
  const paths = await walkedPaths({ root: '/r', list, onUnsafeName: (_folder, name) => refused.push(name) });
  assert.deepEqual(paths, ['/r/ok']);
  assert.deepEqual(refused.sort(), ['', '../etc', 'a/b']);
});

test('fails past the depth limit by default, or reports the folder unopened when asked to skip', async () => {
  const tree: Node = { r: { one: { two: { three: { 'f.txt': 'file' } } } } };
  const { list } = memoryHost(tree);
  await assert.rejects(walkedPaths({ root: '/r', list, maxDepth: 2 }), (error) =>
    isRemoteFsError(error, 'EPROTO'),
  );
  assert.deepEqual(await walkedPaths({ root: '/r', list, maxDepth: 2, beyondMaxDepth: 'skip' }), [
    '/r/one',
    '/r/one/two',
    '/r/one/two/three',
  ]);
});

test('a cancelled walk throws ECANCELED and lists nothing more', async () => {
  const wide: Record<string, Node> = {};
  for (let index = 0; index < 200; index++) {
    wide[`d${index}`] = { 'f.txt': 'file' };
  }
  const { seen, list } = memoryHost({ r: wide }, () => 2);
  const controller = new AbortController();
  const walking = walkTree({ root: '/r', list, signal: controller.signal, concurrency: 4 }, (entry) => {
    if (entry.path === '/r/d10/f.txt') {
      controller.abort();
    }
  });
  await assert.rejects(walking, (error) => isRemoteFsError(error, 'ECANCELED'));
  const listedWhenCancelled = seen.listed.length;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(seen.listed.length, listedWhenCancelled);
  assert.ok(listedWhenCancelled < 30, `listed ${listedWhenCancelled} of 201 folders`);
});

test('visit answering false stops the walk', async () => {
  const { list } = memoryHost({ srv: sample });
  const paths: string[] = [];
  const outcome = await walkTree({ root: '/srv', list }, (entry) => {
    paths.push(entry.path);
    return paths.length < 3;
  });
  assert.equal(outcome.stopped, true);
  assert.deepEqual(paths, ['/srv/a', '/srv/b', '/srv/loop']);
});

test('keeps `concurrency` listings in flight across levels: a tree costs folders / concurrency waits', async () => {
  // 2 levels: 20 folders of 20 folders each; every listing takes one "round trip".
  const tree: Record<string, Node> = {};
  for (let outer = 0; outer < 20; outer++) {
    const inner: Record<string, Node> = {};
    for (let index = 0; index < 20; index++) {
      inner[`i${String(index).padStart(2, '0')}`] = {};
    }
    tree[`o${String(outer).padStart(2, '0')}`] = inner;
  }
  const roundTripMs = 20;
  const { seen, list } = memoryHost({ r: tree }, () => roundTripMs);
  const started = performance.now();
  const outcome = await walkTree({ root: '/r', list, concurrency: 16 }, () => undefined);
  const elapsed = performance.now() - started;
  assert.equal(outcome.listings, 421);
  assert.equal(seen.peak, 16);
  // Sequentially: 421 round trips. Pipelined: about 421 / 16 + a few for the levels.
  assert.ok(elapsed < (421 * roundTripMs) / 5, `took ${Math.round(elapsed)} ms`);
});

test('a folder that cannot be listed fails the walk, or is passed over when the caller says so', async () => {
  const list = async (folder: string): Promise<Array<ListedEntry<null>>> => {
    if (folder === '/r/locked') {
      throw new Error('EACCES');
    }
    return folder === '/r'
      ? [
          { name: 'locked', kind: 'directory', item: null },
          { name: 'open', kind: 'file', item: null },
        ]
      : [];
  };
  await assert.rejects(walkedPaths({ root: '/r', list }), /EACCES/);
  const passed: string[] = [];
  assert.deepEqual(await walkedPaths({ root: '/r', list, onListError: (folder) => passed.push(folder) }), [
    '/r/locked',
    '/r/open',
  ]);
  assert.deepEqual(passed, ['/r/locked']);
});

test('tells which folders a stopped walk did not finish, and which it listed completely', async () => {
  const { list } = memoryHost({ srv: sample });
  const listed: string[] = [];
  const outcome = await walkTree(
    { root: '/srv', list, onFolderListed: (folder) => listed.push(folder) },
    (entry) => entry.path !== '/srv/b/x',
  );
  assert.deepEqual(listed, ['/srv', '/srv/a']);
  assert.deepEqual(outcome.unfinished, ['/srv/b']);
  const early = await walkTree({ root: '/srv', list }, (entry) => entry.path !== '/srv/top.txt');
  assert.deepEqual(early.unfinished, ['/srv', '/srv/a', '/srv/b']);
});

test("the root's listing failure goes to onListError too, which decides", async () => {
  const refuse = (): Promise<Array<ListedEntry<null>>> => Promise.reject(new Error('ENOENT'));
  const seen: string[] = [];
  assert.deepEqual(
    await walkedPaths({ root: '/gone', list: refuse, onListError: (folder) => seen.push(folder) }),
    [],
  );
  assert.deepEqual(seen, ['/gone']);
  await assert.rejects(walkedPaths({ root: '/gone', list: refuse }), /ENOENT/);
});
