import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A workspace of the shape real ones have, built on the bench server for issue 17's rows: a `.git`
 * whose `objects/xx/` folders hold loose objects (binary, as git's zlib streams are), a
 * `node_modules` of package folders (some under `@scope/`), and source folders. Synthetic but with
 * that shape, since a real tree (Debian's linux-source) needs the network. No symbolic links: `find
 * -type f` and the SFTP walk would count them differently.
 */
export interface TreeShape {
  /** Loose objects in each of the 256 `.git/objects/xx` folders. */
  readonly objectsPerFolder: number;
  /** Package folders under `node_modules`; every tenth under a scope. */
  readonly packages: number;
  /** Folders under `src`, each with 10 subfolders of 30 files. */
  readonly sourceModules: number;
}

/** Over 100,000 entries: about 31,000 under `.git`, 60,000 under `node_modules`, 12,500 sources. */
export const FULL_TREE: TreeShape = { objectsPerFolder: 120, packages: 1200, sourceModules: 40 };
/** About 10,000 entries of the same shape, for `--quick`. */
export const QUICK_TREE: TreeShape = { objectsPerFolder: 12, packages: 120, sourceModules: 4 };

/** The word Find in Files looks for: in one source file of 7 and in every package's main file. */
export const NEEDLE = 'treeBenchNeedle';

export interface BuiltTree {
  readonly root: string;
  /** Files and folders below the root. */
  readonly entries: number;
  readonly files: number;
  /** Source folders (absolute), where the latency samples write. */
  readonly sourceFolders: readonly string[];
  readonly buildMs: number;
}

/** Builds the tree under `root` (written by this process, then handed to the SFTP account). */
export function buildTree(root: string, shape: TreeShape, owner: { uid: number; gid: number }): BuiltTree {
  const started = Date.now();
  const folder = (path: string): string => {
    mkdirSync(path, { recursive: true });
    return path;
  };
  const file = (path: string, content: string | Buffer): void => writeFileSync(path, content);
  mkdirSync(root, { recursive: true });
  let seed = 1;
  /** Deterministic bytes with NULs, as a zlib stream has: grep -I skips them as binary. */
  const binary = (length: number): Buffer => {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      bytes[i] = i % 17 === 3 ? 0 : seed >> 16;
    }
    return bytes;
  };
  const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

  // .git: the usual files, refs, hooks, and loose objects in objects/00 ... objects/ff.
  const git = folder(join(root, '.git'));
  file(join(git, 'HEAD'), 'ref: refs/heads/main\n');
  file(join(git, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = false\n');
  file(join(git, 'description'), 'Unnamed repository\n');
  file(join(git, 'index'), binary(4096));
  for (const sub of ['refs/heads', 'refs/tags', 'refs/remotes/origin', 'logs/refs/heads', 'info', 'hooks']) {
    folder(join(git, sub));
  }
  file(join(git, 'refs/heads/main'), `${hex(1, 40)}\n`);
  file(join(git, 'refs/remotes/origin/main'), `${hex(1, 40)}\n`);
  file(join(git, 'logs/refs/heads/main'), `${hex(0, 40)} ${hex(1, 40)} bench <bench@localhost> 0 +0000\n`);
  file(join(git, 'info/exclude'), '# git ls-files --others --exclude-from=.git/info/exclude\n');
  for (const hook of ['pre-commit', 'pre-push', 'commit-msg', 'post-update', 'pre-rebase', 'update']) {
    file(join(git, 'hooks', `${hook}.sample`), '#!/bin/sh\nexit 0\n');
  }
  const objects = folder(join(git, 'objects'));
  folder(join(objects, 'info'));
  const pack = folder(join(objects, 'pack'));
  file(join(pack, `pack-${hex(7, 40)}.pack`), binary(8192));
  file(join(pack, `pack-${hex(7, 40)}.idx`), binary(2048));
  for (let prefix = 0; prefix < 256; prefix++) {
    const objectFolder = folder(join(objects, hex(prefix, 2)));
    for (let i = 0; i < shape.objectsPerFolder; i++) {
      file(join(objectFolder, hex(prefix * 100_003 + i * 7919, 38)), binary(64 + ((prefix + i) % 7) * 32));
    }
  }

  // node_modules: package folders with lib/, lib/util/, dist/ and types/.
  const modules = folder(join(root, 'node_modules'));
  const bin = folder(join(modules, '.bin'));
  for (let i = 0; i < 20; i++) {
    file(join(bin, `tool-${i}`), '#!/usr/bin/env node\nrequire("../tool/index.js");\n');
  }
  for (let p = 0; p < shape.packages; p++) {
    const name = `package-${String(p).padStart(4, '0')}`;
    const scope = p % 10 === 0 ? join(modules, `@scope-${p % 30}`) : modules;
    mkdirSync(scope, { recursive: true });
    const pkg = folder(join(scope, name));
    file(join(pkg, 'package.json'), `{ "name": "${name}", "version": "1.${p}.0", "main": "index.js" }\n`);
    file(join(pkg, 'README.md'), `# ${name}\n\nA package of the bench tree.\n`);
    file(join(pkg, 'LICENSE'), 'MIT License\n');
    file(join(pkg, 'index.js'), `// ${NEEDLE}\nmodule.exports = require('./lib/f0.js');\n`);
    const lib = folder(join(pkg, 'lib'));
    const util = folder(join(lib, 'util'));
    const dist = folder(join(pkg, 'dist'));
    const types = folder(join(pkg, 'types'));
    for (let i = 0; i < 20; i++) {
      file(join(lib, `f${i}.js`), `'use strict';\nexports.value${i} = ${p * i};\n`);
    }
    for (let i = 0; i < 10; i++) {
      file(join(util, `u${i}.js`), `exports.u${i} = () => ${i};\n`);
      file(join(dist, `bundle${i}.min.js`), `!function(){var a=${p},b=${i};return a+b}();\n`);
    }
    file(join(types, 'index.d.ts'), `export declare const value: number;\n`);
  }

  // Sources: src/module-m/part-n/file-k.ts, and the workspace's own top-level files.
  const sourceFolders: string[] = [];
  const src = folder(join(root, 'src'));
  for (let m = 0; m < shape.sourceModules; m++) {
    const module = folder(join(src, `module-${m}`));
    for (let n = 0; n < 10; n++) {
      const part = folder(join(module, `part-${n}`));
      sourceFolders.push(part);
      for (let k = 0; k < 30; k++) {
        const index = (m * 10 + n) * 30 + k;
        const note = index % 7 === 0 ? `// TODO ${NEEDLE}: look again\n` : '';
        file(
          join(part, k === 0 ? 'index.ts' : `file-${k}.ts`),
          `import { x } from '../part-0';\n${note}export const value${k} = ${index};\n`,
        );
      }
    }
  }
  for (const [name, content] of [
    ['package.json', '{ "name": "bench-workspace", "private": true }\n'],
    ['README.md', '# A workspace of the bench\n'],
    ['tsconfig.json', '{ "compilerOptions": { "strict": true } }\n'],
    ['.gitignore', 'node_modules\n'],
  ] as const) {
    file(join(root, name), content);
  }
  // One process to hand everything to the SFTP account: a chown per file would double the build time.
  execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, root]);
  const buildMs = Date.now() - started;
  const count = (...filter: string[]): number =>
    execFileSync('find', [root, '-mindepth', '1', ...filter, '-printf', '.'], { maxBuffer: 1 << 24 }).length;
  return {
    root,
    entries: count(),
    files: count('-type', 'f'),
    sourceFolders,
    buildMs,
  };
}
