import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import { findFiles, findInFiles, type SearchTarget } from '../../src/core/search/remoteSearch';
import { hasShell, loginShellIn, runCommand } from '../../src/core/ssh/remoteCommand';
import type { RemoteChange } from '../../src/core/watch/pollingWatcher';
import { WatchService } from '../../src/core/watch/watchService';
import { useSshd } from '../support/harness';
import { canManageAccounts } from '../support/sshd';

/**
 * Remote commands, search, the inotify watch and the terminal for accounts whose login shell is not
 * sh: bash, dash, zsh, fish and tcsh, each with a startup file that prints a banner (as many real
 * accounts have). fish rejects `$?`, csh and tcsh read `>&2` as a file named `2`: commands must reach
 * a POSIX sh whatever the shell, and a banner must not pass for a command's output.
 */
const h = useSshd();

interface ShellAccount {
  readonly shell: string;
  readonly path: string;
  /** A startup file the shell reads for `ssh host command`, relative to the home folder, or none. */
  readonly startup?: string;
}

const SHELLS: readonly ShellAccount[] = [
  { shell: 'bash', path: '/bin/bash', startup: '.bashrc' },
  { shell: 'dash', path: '/bin/dash' },
  { shell: 'zsh', path: '/usr/bin/zsh', startup: '.zshenv' },
  { shell: 'fish', path: '/usr/bin/fish', startup: '.config/fish/config.fish' },
  { shell: 'tcsh', path: '/usr/bin/tcsh', startup: '.cshrc' },
];

const unavailable = canManageAccounts
  ? SHELLS.filter(({ path }) => !existsSync(path)).map(({ path }) => path)
  : ['root'];
const skip =
  unavailable.length === 0
    ? undefined
    : `needs ${unavailable.join(', ')} (npm test installs the shells as root)`;

/** As root: an account with this login shell and a banner in its startup file (made once). */
function ensureAccount({ shell, path, startup }: ShellAccount): string {
  const name = `sftpfs-sh-${shell}`;
  try {
    execFileSync('getent', ['passwd', name]);
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', path, name]);
  }
  execFileSync('usermod', ['--shell', path, name]);
  execFileSync('chpasswd', { input: `${name}:sftpfs-${shell}-Pa55word\n` }); // unlocks it for sshd
  const home = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[5] ?? '';
  if (startup !== undefined) {
    const file = join(home, startup);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, `echo "Welcome to ${shell}, have a nice day"\n`);
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
    for (let part = file; part.startsWith(`${home}/`); part = join(part, '..')) {
      chownSync(part, uid, gid);
    }
  }
  return name;
}

describe('every login shell', { skip }, () => {
  before(() => {
    h.sshd.mkdirLocal('shells/src');
    h.sshd.writeLocal('shells/src/app.ts', 'const needle = 1;\n');
    h.sshd.writeLocal('shells/README.md', 'no needle here? a needle\n');
  });

  for (const account of SHELLS) {
    test(`${account.shell}: commands, search, inotify and the terminal work, and nothing is left behind`, async () => {
      const user = ensureAccount(account);
      const authority = `${user}@${h.sshd.alias}`;
      const connection = await h.manager.sshConnection(authority);
      const folder = h.path('shells');

      assert.equal(await hasShell(connection), true, 'the shell probe sees a shell');
      const result = await runCommand(connection, 'echo one; echo two >&2; exit 3');
      assert.equal(result.stdout.toString(), 'one\n', 'the banner is not part of the output');
      assert.equal(result.exitCode, 3);
      assert.match(result.stderr, /two$/);

      const target: SearchTarget = {
        connection: () => h.manager.sshConnection(authority),
        list: (path) => h.manager.fileSystem(authority).list(path),
        readFile: (path) => h.manager.fileSystem(authority).readFile(path),
        logger: h.logger,
      };
      const scope = { root: folder, excludes: [], maxResults: 100 };
      const files = await findFiles(target, 'app', scope);
      assert.equal(files.method, 'shell');
      assert.deepEqual(files.results, [join(folder, 'src/app.ts')]);
      const lines = await findInFiles(
        target,
        { pattern: 'needle', isRegExp: false, caseSensitive: true, maxFileBytes: 1 << 20 },
        scope,
      );
      assert.equal(lines.method, 'shell');
      assert.deepEqual(lines.results.map((match) => match.path).sort(), [
        join(folder, 'README.md'),
        join(folder, 'src/app.ts'),
      ]);

      const service = new WatchService(h.manager, h.logger, {
        intervalMs: () => 60_000,
        maxEntries: () => 1000,
        useInotify: () => true,
      });
      const seen: RemoteChange[] = [];
      service.onDidChange(({ changes }) => seen.push(...changes));
      await h.manager.fileSystem(authority).stat(folder);
      const watch = service.watch(authority, folder, { recursive: true, excludes: [] });
      const until = async (what: string, condition: () => boolean): Promise<void> => {
        for (let waited = 0; !condition(); waited += 25) {
          assert.ok(waited < 20_000, what);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      };
      await until('inotifywait started', () =>
        h.logger.lines.some(
          (line) => line.includes(`Watching ${folder} with inotifywait`) && line.includes(user),
        ),
      );
      h.sshd.writeLocal(`shells/made-for-${account.shell}.txt`, 'x');
      await until('the change is reported', () =>
        seen.some((change) => change.path.endsWith(`made-for-${account.shell}.txt`)),
      );
      watch.dispose();
      service.dispose();

      const terminal = await connection.exec(loginShellIn(folder), { term: 'dumb', cols: 200, rows: 24 });
      let output = '';
      terminal.on('data', (chunk: Buffer) => (output += chunk.toString()));
      terminal.write('pwd; echo "shell is $SHELL"; exit\n');
      await new Promise((resolve) => terminal.on('close', resolve));
      assert.ok(output.includes(folder), `the terminal started in the folder: ${output}`);
      assert.ok(output.includes(`shell is ${account.path}`), `the user's own shell: ${output}`);

      assert.deepEqual(
        readdirSync(folder).filter((name) => name === '2'),
        [],
        'no stray file named 2 (csh reading >&2)',
      );
      h.manager.disconnect(authority);
    });
  }
});
