import * as vscode from 'vscode';

import { isRemoteFsError } from '../core/common/errors';
import type { ConnectionManager } from '../core/connection/connectionManager';
import type { EntryType } from '../core/fs/entryType';
import type { RemoteFileSystem, TreeOperationOptions } from '../core/fs/remoteFileSystem';
import type { ChangeKind } from '../core/watch/pollingWatcher';
import type { WatchService } from '../core/watch/watchService';
import { toFileSystemError } from './fileSystemErrors';
import { remotePathOf, sftpUri } from './uri';

/** Runs a recursive operation; the UI supplies one that shows progress with Cancel when it is slow. */
export type LongOperationRunner = <T>(
  title: string,
  run: (control: TreeOperationOptions) => Promise<T>,
) => Promise<T>;

/** The server refused to let the login read or write a file (EACCES): the UI may offer root. */
export interface AccessRefusal {
  readonly uri: vscode.Uri;
  readonly operation: 'read' | 'write';
}

/**
 * vscode.FileSystemProvider for `sftp://`, by delegation: the rules live in core/fs, this class only
 * turns URIs into paths, core results into VS Code types and core errors into FileSystemErrors.
 */
export class SftpFileSystemProvider implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changes.event;
  private readonly refusals = new vscode.EventEmitter<AccessRefusal>();
  /** A file could not be opened or saved for want of permission (see ui/rootEditing.ts). */
  readonly onDidRefuseAccess = this.refusals.event;

  private readonly remoteChanges: { dispose(): void };

  constructor(
    private readonly connections: ConnectionManager,
    private readonly watches: WatchService,
    /** Where recursive deletes and copies run, so a slow one can show progress and be cancelled. */
    private readonly runLong: LongOperationRunner = (_title, run) => run({}),
  ) {
    this.remoteChanges = watches.onDidChange(({ authority, changes }) =>
      this.fire(
        ...changes.map((change) => ({
          type: CHANGE_TYPES[change.kind],
          uri: sftpUri(authority, change.path),
        })),
      ),
    );
  }

  dispose(): void {
    this.remoteChanges.dispose();
    this.changes.dispose();
    this.refusals.dispose();
  }

  /** Remote changes by polling (core/watch); `excludes` come from files.watcherExclude. */
  watch(
    uri: vscode.Uri,
    options: { readonly recursive: boolean; readonly excludes: readonly string[] },
  ): vscode.Disposable {
    try {
      const registration = this.watches.watch(uri.authority, remotePathOf(uri), {
        recursive: options.recursive,
        excludes: options.excludes,
      });
      return new vscode.Disposable(() => registration.dispose());
    } catch (error) {
      throw toFileSystemError(error);
    }
  }

  stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    return this.run(uri, async (fs, path) => {
      const stat = await fs.stat(path);
      const fileStat = {
        type: toFileType(stat.type),
        size: stat.size,
        mtime: stat.mtimeMs,
        ctime: stat.ctimeMs,
      };
      // Readonly, not Locked: these are files the user cannot write at all, so the editor should not offer to.
      return stat.notWritable === true
        ? { ...fileStat, permissions: vscode.FilePermission.Readonly }
        : fileStat;
    });
  }

  readDirectory(uri: vscode.Uri): Promise<Array<[string, vscode.FileType]>> {
    return this.run(uri, async (fs, path) =>
      (await fs.readDirectory(path)).map(([name, type]): [string, vscode.FileType] => [
        name,
        toFileType(type),
      ]),
    );
  }

  readFile(uri: vscode.Uri): Promise<Uint8Array> {
    return this.run(uri, (fs, path) => fs.readFile(path), 'read');
  }

  async writeFile(
    uri: vscode.Uri,
    content: Uint8Array,
    options: { create: boolean; overwrite: boolean },
  ): Promise<void> {
    await this.run(
      uri,
      (fs, path) => fs.writeFile(path, content, { create: options.create, overwrite: options.overwrite }),
      'write',
    );
    this.fire({ type: vscode.FileChangeType.Changed, uri });
  }

  async createDirectory(uri: vscode.Uri): Promise<void> {
    await this.run(uri, (fs, path) => fs.createDirectory(path));
    this.fire({ type: vscode.FileChangeType.Created, uri });
  }

  async delete(uri: vscode.Uri, options: { recursive: boolean }): Promise<void> {
    await this.run(uri, (fs, path) =>
      options.recursive
        ? this.runLong(vscode.l10n.t('Deleting {0}', labelOf(uri)), (control) =>
            fs.delete(path, { recursive: true, ...control }),
          )
        : fs.delete(path, { recursive: false }),
    );
    this.fire({ type: vscode.FileChangeType.Deleted, uri });
  }

  async rename(oldUri: vscode.Uri, newUri: vscode.Uri, options: { overwrite: boolean }): Promise<void> {
    if (sameHost(oldUri, newUri)) {
      await this.run(oldUri, (fs, path) =>
        fs.rename(path, remotePathOf(newUri), { overwrite: options.overwrite }),
      );
    } else {
      // VS Code hands a move between two sftp hosts to this provider too: a verified copy, then a delete.
      await this.runAcross(
        oldUri,
        newUri,
        vscode.l10n.t('Moving {0}', labelOf(oldUri)),
        (origin, target, control) =>
          target.moveFrom(origin, remotePathOf(oldUri), remotePathOf(newUri), {
            overwrite: options.overwrite,
            ...control,
          }),
      );
    }
    this.fire(
      { type: vscode.FileChangeType.Deleted, uri: oldUri },
      { type: vscode.FileChangeType.Created, uri: newUri },
    );
  }

  async copy(source: vscode.Uri, destination: vscode.Uri, options: { overwrite: boolean }): Promise<void> {
    if (sameHost(source, destination)) {
      await this.run(source, (fs, path) =>
        this.runLong(vscode.l10n.t('Copying {0}', labelOf(source)), (control) =>
          fs.copy(path, remotePathOf(destination), { overwrite: options.overwrite, ...control }),
        ),
      );
    } else {
      await this.runAcross(
        source,
        destination,
        vscode.l10n.t('Copying {0}', labelOf(source)),
        (origin, target, control) =>
          target.copyFrom(origin, remotePathOf(source), remotePathOf(destination), {
            overwrite: options.overwrite,
            ...control,
          }),
      );
    }
    this.fire({ type: vscode.FileChangeType.Created, uri: destination });
  }

  /** Runs a copy or move from `from`'s host to `to`'s, with progress and Cancel when it is slow. */
  private async runAcross(
    from: vscode.Uri,
    to: vscode.Uri,
    title: string,
    operation: (
      origin: RemoteFileSystem,
      target: RemoteFileSystem,
      control: TreeOperationOptions,
    ) => Promise<void>,
  ): Promise<void> {
    try {
      const origin = this.connections.fileSystem(from.authority);
      const target = this.connections.fileSystem(to.authority);
      await this.runLong(title, (control) => operation(origin, target, control));
    } catch (error) {
      throw toFileSystemError(error);
    }
  }

  /** `access`: a refusal of this operation is told to onDidRefuseAccess. */
  private async run<T>(
    uri: vscode.Uri,
    operation: (fs: RemoteFileSystem, path: string) => Promise<T>,
    access?: AccessRefusal['operation'],
  ): Promise<T> {
    try {
      return await operation(this.connections.fileSystem(uri.authority), remotePathOf(uri));
    } catch (error) {
      if (access !== undefined && isRemoteFsError(error, 'EACCES')) {
        this.refusals.fire({ uri, operation: access });
      }
      throw toFileSystemError(error);
    }
  }

  private fire(...events: vscode.FileChangeEvent[]): void {
    this.changes.fire(events);
  }
}

function sameHost(a: vscode.Uri, b: vscode.Uri): boolean {
  return a.authority.toLowerCase() === b.authority.toLowerCase();
}

function labelOf(uri: vscode.Uri): string {
  return `${uri.authority}${uri.path}`;
}

const CHANGE_TYPES: Readonly<Record<ChangeKind, vscode.FileChangeType>> = {
  created: vscode.FileChangeType.Created,
  changed: vscode.FileChangeType.Changed,
  deleted: vscode.FileChangeType.Deleted,
};

function toFileType(type: EntryType): vscode.FileType {
  const base =
    type.kind === 'directory'
      ? vscode.FileType.Directory
      : type.kind === 'file'
        ? vscode.FileType.File
        : vscode.FileType.Unknown;
  return type.symlink ? base | vscode.FileType.SymbolicLink : base;
}
