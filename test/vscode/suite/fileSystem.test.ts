import * as assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as vscode from 'vscode';

/**
 * Black-box tests through VS Code's own API (workspace.fs, text documents) on sftp:// URIs, inside a
 * real VS Code, against the real sshd the runner started. The served folder is also on this
 * machine's disk (SFTPFS_TEST_ROOT), which is how the tests check what reached the server.
 */
const root = requiredEnv('SFTPFS_TEST_ROOT');
const alias = requiredEnv('SFTPFS_TEST_ALIAS');
const readOnlyAlias = requiredEnv('SFTPFS_TEST_READONLY_ALIAS');

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined) {
    throw new Error(`${name} is not set: run these tests through npm run test:vscode`);
  }
  return value;
}

const serverPort = Number(requiredEnv('SFTPFS_TEST_PORT'));

const owner = { uid: Number(requiredEnv('SFTPFS_TEST_UID')), gid: Number(requiredEnv('SFTPFS_TEST_GID')) };

// Fixtures are made on this machine's disk as the SFTP account would own them (the extension host
// may run as root while the SFTP account is unprivileged).
function writeLocal(relative: string, content: string): void {
  writeFileSync(local(relative), content);
  chownSync(local(relative), owner.uid, owner.gid);
}
function mkdirLocal(relative: string): void {
  mkdirSync(local(relative), { recursive: true });
  chownSync(local(relative), owner.uid, owner.gid);
}
function symlinkLocal(target: string, relative: string): void {
  symlinkSync(target, local(relative));
  lchownSync(local(relative), owner.uid, owner.gid);
}

const remote = (relative: string, host = alias): vscode.Uri =>
  vscode.Uri.from({ scheme: 'sftp', authority: host, path: `${root}/${relative}` });
const local = (relative: string): string => `${root}/${relative}`;

async function rejectsWithCode(promise: Thenable<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof vscode.FileSystemError, `expected a FileSystemError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

/** TCP connections this process (the extension host, its worker threads included) has open to `port`. */
function connectionsFromHereTo(port: number): number {
  const ownSockets = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (socket?.[1] !== undefined) {
        ownSockets.add(socket[1]);
      }
    } catch {
      // closed meanwhile
    }
  }
  const rows = ['/proc/self/net/tcp', '/proc/self/net/tcp6'].flatMap((table) =>
    existsSync(table) ? readFileSync(table, 'utf8').split('\n').slice(1) : [],
  );
  return rows.filter((row) => {
    const [, , remote, state, , , , , , inode] = row.trim().split(/\s+/);
    const remotePort = parseInt(remote?.split(':')[1] ?? '', 16);
    return remotePort === port && state === '01' && inode !== undefined && ownSockets.has(inode);
  }).length;
}

/** Bytes each thread of this process has written so far (to sockets and files alike), by thread id. */
function bytesWrittenByThread(): Map<number, number> {
  const written = new Map<number, number>();
  for (const thread of readdirSync('/proc/self/task')) {
    try {
      const wchar = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/self/task/${thread}/io`, 'utf8'))?.[1];
      if (wchar !== undefined) {
        written.set(Number(thread), Number(wchar));
      }
    } catch {
      // ended meanwhile
    }
  }
  return written;
}

describe('the sftp provider inside VS Code', () => {
  before(() => {
    mkdirLocal('vsc');
  });

  it('is registered as a writable file system for the sftp scheme', () => {
    assert.equal(vscode.workspace.fs.isWritableFileSystem('sftp'), true);
  });

  it('stats files, folders and links with VS Code file types', async () => {
    writeLocal('vsc/file.txt', 'hello');
    mkdirLocal('vsc/folder');
    symlinkLocal('folder', 'vsc/folder-link');
    const file = await vscode.workspace.fs.stat(remote('vsc/file.txt'));
    assert.equal(file.type, vscode.FileType.File);
    assert.equal(file.size, 5);
    assert.ok(file.mtime > 1e12);
    assert.equal((await vscode.workspace.fs.stat(remote('vsc/folder'))).type, vscode.FileType.Directory);
    assert.equal(
      (await vscode.workspace.fs.stat(remote('vsc/folder-link'))).type,
      vscode.FileType.Directory | vscode.FileType.SymbolicLink,
    );
  });

  it('lists a folder', async () => {
    const entries = new Map(await vscode.workspace.fs.readDirectory(remote('vsc')));
    assert.equal(entries.get('file.txt'), vscode.FileType.File);
    assert.equal(entries.get('folder'), vscode.FileType.Directory);
  });

  it('writes and reads back a file, byte for byte', async () => {
    const content = Buffer.alloc(3 * 1024 * 1024 + 11, 'abcdefghij');
    await vscode.workspace.fs.writeFile(remote('vsc/big.bin'), content);
    assert.ok(readFileSync(local('vsc/big.bin')).equals(content));
    assert.ok(Buffer.from(await vscode.workspace.fs.readFile(remote('vsc/big.bin'))).equals(content));
  });

  it('starts the reader thread, a second connection of its own, when VS Code stats a large file, and reads and saves through it byte for byte', async () => {
    const content = Buffer.alloc(12 * 1024 * 1024 + 5, 'klmnopqrstu');
    writeFileSync(local('vsc/large.bin'), content);
    chownSync(local('vsc/large.bin'), owner.uid, owner.gid);
    // Counted once the user's connection is up, before the stat that starts the thread.
    await vscode.workspace.fs.stat(remote('vsc'));
    const before = connectionsFromHereTo(serverPort);
    assert.ok(before >= 1, "the user's connection is one of this process");
    // VS Code stats a file before it opens it: a large one starts the thread, whose login is a
    // second connection from this process.
    await vscode.workspace.fs.stat(remote('vsc/large.bin'));
    for (let waited = 0; connectionsFromHereTo(serverPort) === before && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(connectionsFromHereTo(serverPort), before + 1, 'the reader thread logged in');
    assert.ok(Buffer.from(await vscode.workspace.fs.readFile(remote('vsc/large.bin'))).equals(content));
    assert.ok(Buffer.from(await vscode.workspace.fs.readFile(remote('vsc/large.bin'))).equals(content));

    // Large saves go there too (the bundled thread's save, with its content in shared memory): the
    // file is replaced whole, keeping its owner, group and mode.
    chmodSync(local('vsc/large.bin'), 0o640);
    const saved = Buffer.alloc(12 * 1024 * 1024 + 99, 'vwxyz');
    const writtenBefore = bytesWrittenByThread();
    await vscode.workspace.fs.writeFile(remote('vsc/large.bin'), saved);
    const writtenAfter = bytesWrittenByThread();
    const grew = (thread: number): number =>
      (writtenAfter.get(thread) ?? 0) - (writtenBefore.get(thread) ?? 0);
    // The extension host's main thread is the process itself: the bytes left through another one.
    const byWorkers = Math.max(...[...writtenAfter.keys()].filter((t) => t !== process.pid).map(grew));
    assert.ok(grew(process.pid) < saved.length / 4, `the main thread wrote ${grew(process.pid)} bytes`);
    assert.ok(byWorkers >= saved.length, `no other thread sent the file: at most ${byWorkers} bytes`);
    assert.ok(readFileSync(local('vsc/large.bin')).equals(saved));
    const after = statSync(local('vsc/large.bin'));
    assert.deepEqual([after.uid, after.gid, after.mode & 0o7777], [owner.uid, owner.gid, 0o640]);
    assert.ok(Buffer.from(await vscode.workspace.fs.readFile(remote('vsc/large.bin'))).equals(saved));
  });

  it('creates folders, copies, renames and deletes', async () => {
    await vscode.workspace.fs.createDirectory(remote('vsc/made/deeper'));
    await vscode.workspace.fs.writeFile(remote('vsc/made/deeper/a.txt'), Buffer.from('a'));
    await vscode.workspace.fs.copy(remote('vsc/made'), remote('vsc/made-copy'));
    assert.equal(readFileSync(local('vsc/made-copy/deeper/a.txt'), 'utf8'), 'a');
    await vscode.workspace.fs.rename(remote('vsc/made-copy'), remote('vsc/made-moved'));
    assert.equal(existsSync(local('vsc/made-copy')), false);
    assert.equal(readFileSync(local('vsc/made-moved/deeper/a.txt'), 'utf8'), 'a');
    await vscode.workspace.fs.delete(remote('vsc/made-moved'), { recursive: true });
    assert.equal(existsSync(local('vsc/made-moved')), false);
  });

  it('reports a missing file as FileNotFound', async () => {
    await rejectsWithCode(vscode.workspace.fs.readFile(remote('vsc/missing.txt')), 'FileNotFound');
  });

  it('refuses to replace a file on rename without overwrite', async () => {
    writeLocal('vsc/keep-a', 'a');
    writeLocal('vsc/keep-b', 'b');
    await assert.rejects(
      Promise.resolve(vscode.workspace.fs.rename(remote('vsc/keep-a'), remote('vsc/keep-b'))),
    );
    assert.equal(readFileSync(local('vsc/keep-b'), 'utf8'), 'b');
  });

  it('refuses a non-recursive delete of a non-empty folder and says why', async () => {
    mkdirLocal('vsc/full');
    writeLocal('vsc/full/x', 'x');
    await assert.rejects(
      Promise.resolve(vscode.workspace.fs.delete(remote('vsc/full'), { recursive: false })),
      /not empty/,
    );
    assert.equal(readFileSync(local('vsc/full/x'), 'utf8'), 'x');
  });

  it('reports writes to a read-only server as NoPermissions', async () => {
    writeLocal('vsc/ro.txt', 'ro');
    await rejectsWithCode(
      vscode.workspace.fs.writeFile(remote('vsc/ro.txt', readOnlyAlias), Buffer.from('new')),
      'NoPermissions',
    );
    assert.equal(readFileSync(local('vsc/ro.txt'), 'utf8'), 'ro');
  });

  it('marks files the user cannot write, and every file of a read-only server, as read-only', async () => {
    writeLocal('vsc/frozen.txt', 'frozen');
    chmodSync(local('vsc/frozen.txt'), 0o444);
    writeLocal('vsc/thawed.txt', 'thawed');
    const readonly = vscode.FilePermission.Readonly;
    assert.equal((await vscode.workspace.fs.stat(remote('vsc/frozen.txt'))).permissions, readonly);
    assert.equal((await vscode.workspace.fs.stat(remote('vsc/thawed.txt'))).permissions, undefined);
    assert.equal(
      (await vscode.workspace.fs.stat(remote('vsc/thawed.txt', readOnlyAlias))).permissions,
      readonly,
    );
  });

  it('copies and moves between two hosts, replacing what is at the destination', async () => {
    const second = requiredEnv('SFTPFS_TEST_SECOND_ALIAS');
    const secondRoot = requiredEnv('SFTPFS_TEST_SECOND_ROOT');
    const there = (relative: string): vscode.Uri =>
      vscode.Uri.from({ scheme: 'sftp', authority: second, path: `${secondRoot}/${relative}` });
    writeLocal('vsc/travels.txt', 'from the first host');
    writeFileSync(`${secondRoot}/travels.txt`, 'old content on the second host');
    chownSync(`${secondRoot}/travels.txt`, owner.uid, owner.gid);
    // VS Code deletes an existing destination itself before it asks the provider to copy.
    await vscode.workspace.fs.copy(remote('vsc/travels.txt'), there('travels.txt'), { overwrite: true });
    assert.equal(readFileSync(`${secondRoot}/travels.txt`, 'utf8'), 'from the first host');
    mkdirLocal('vsc/tree');
    mkdirLocal('vsc/tree/inner');
    writeLocal('vsc/tree/inner/leaf.txt', 'leaf');
    await vscode.workspace.fs.rename(remote('vsc/tree'), there('tree'));
    assert.equal(readFileSync(`${secondRoot}/tree/inner/leaf.txt`, 'utf8'), 'leaf');
    assert.equal(existsSync(local('vsc/tree')), false, 'a move removes the source');
  });

  it('reaches a host through a jump host defined only in ~/.ssh/config', async () => {
    writeLocal('vsc/via-jump.txt', 'through the bastion');
    const viaJump = remote('vsc/via-jump.txt', requiredEnv('SFTPFS_TEST_JUMP_ALIAS'));
    assert.equal(Buffer.from(await vscode.workspace.fs.readFile(viaJump)).toString(), 'through the bastion');
  });

  it('refuses a changed host key as Unavailable, naming the known_hosts line', async () => {
    const error = await rejectsWithCode(
      vscode.workspace.fs.stat(remote('vsc', requiredEnv('SFTPFS_TEST_CHANGED_KEY_ALIAS'))),
      'Unavailable',
    );
    assert.match(error.message, /has changed/);
    assert.ok(error.message.includes(`${requiredEnv('SFTPFS_TEST_CHANGED_KEY_FILE')}:2`), error.message);
  });

  it('edits and saves a text document', async () => {
    writeLocal('vsc/doc.txt', 'line one\n');
    const document = await vscode.workspace.openTextDocument(remote('vsc/doc.txt'));
    assert.equal(document.getText(), 'line one\n');
    const edit = new vscode.WorkspaceEdit();
    edit.insert(document.uri, new vscode.Position(1, 0), 'line two\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(await document.save());
    assert.equal(readFileSync(local('vsc/doc.txt'), 'utf8'), 'line one\nline two\n');
  });
});
