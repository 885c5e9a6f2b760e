import * as vscode from 'vscode';

import { remotePathOf, SFTP_SCHEME } from '../adapter/uri';
import type { ShownChange } from '../core/git/changeGroups';
import { findWorkTree, type RemoteGitRepository } from '../core/git/remoteGit';
import type { Logger } from '../core/common/logger';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { GitOriginalsProvider, GIT_ORIGINAL_SCHEME } from './gitOriginals';
import { GitSourceControl } from './gitSourceControl';
import { remoteWorkspaceFolders } from './targets';

/** Colors of the letters, the ones VS Code's own Git uses. */
const LETTER_COLORS: Readonly<Record<string, string>> = {
  M: 'gitDecoration.modifiedResourceForeground',
  T: 'gitDecoration.modifiedResourceForeground',
  A: 'gitDecoration.addedResourceForeground',
  D: 'gitDecoration.deletedResourceForeground',
  R: 'gitDecoration.renamedResourceForeground',
  C: 'gitDecoration.renamedResourceForeground',
  U: 'gitDecoration.untrackedResourceForeground',
  '!': 'gitDecoration.conflictingResourceForeground',
};

/**
 * Source Control for sftp:// workspace folders inside a Git work tree on the server: finds the work
 * trees (once per folder, again when a host whose lookup failed connects), keeps one GitSourceControl
 * per work tree, refreshes it on saves and on our provider's change events, and shows the letters.
 * An account without a shell or without git gets no view, and one line in the log.
 */
export class GitRepositories implements vscode.Disposable, vscode.FileDecorationProvider {
  private readonly views = new Map<string, GitSourceControl>();
  /** Workspace folders looked at (`authority` + path), and the view each one found. */
  private readonly looked = new Map<string, string | undefined>();
  /** Folders whose lookup failed for want of a connection: looked at again when their host connects. */
  private readonly retry = new Set<string>();
  private readonly decorationsChanged = new vscode.EventEmitter<vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.decorationsChanged.event;
  private readonly originals: GitOriginalsProvider;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly connections: ConnectionManager,
    private readonly logger: Logger,
    /** Our provider's change events. */
    onDidChangeFile: vscode.Event<vscode.FileChangeEvent[]>,
  ) {
    this.originals = new GitOriginalsProvider((authority, path) => this.viewOf(authority, path)?.repository);
    this.disposables.push(
      this.originals,
      this.decorationsChanged,
      vscode.workspace.registerTextDocumentContentProvider(GIT_ORIGINAL_SCHEME, this.originals),
      vscode.window.registerFileDecorationProvider(this),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.lookAtFolders()),
      vscode.workspace.onDidSaveTextDocument((document) => this.changed([document.uri])),
      onDidChangeFile((events) => this.changed(events.map((event) => event.uri))),
      connections.onDidChangeState((change) => {
        if (change.state === 'connected') {
          void this.lookAgain(change.authority);
        }
      }),
    );
    void this.lookAtFolders();
  }

  /** The views, for commands run from the palette. */
  all(): GitSourceControl[] {
    return [...this.views.values()];
  }

  /** The view whose work tree holds `path` of `authority`. */
  viewOf(authority: string, path: string): GitSourceControl | undefined {
    const uri = vscode.Uri.from({ scheme: SFTP_SCHEME, authority, path });
    return this.all().find((view) => view.contains(uri));
  }

  /** The view of a SourceControl VS Code passes to a title-bar command. */
  viewOfSourceControl(sourceControl: unknown): GitSourceControl | undefined {
    return this.all().find((view) => view.sourceControl === sourceControl);
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== SFTP_SCHEME) {
      return undefined;
    }
    const view = this.viewOf(uri.authority, remotePathOf(uri));
    const relative = view?.repository.relative(remotePathOf(uri));
    const shown: ShownChange | undefined = relative === undefined ? undefined : view?.changeAt(relative);
    if (shown === undefined) {
      return undefined;
    }
    const color = LETTER_COLORS[shown.letter];
    return new vscode.FileDecoration(
      shown.letter,
      shown.tooltip,
      color === undefined ? undefined : new vscode.ThemeColor(color),
    );
  }

  dispose(): void {
    for (const view of this.views.values()) {
      view.dispose();
    }
    this.views.clear();
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }

  private changed(uris: readonly vscode.Uri[]): void {
    for (const view of this.views.values()) {
      if (uris.some((uri) => view.contains(uri) && !this.isGitInternals(view.repository, uri))) {
        view.requestRefresh();
      }
    }
  }

  /**
   * Inside the git folder only the index, HEAD and refs tell of a change worth a status (a commit or a
   * checkout in a terminal); the rest (objects, logs, lock files) comes with those or means nothing.
   */
  private isGitInternals(repository: RemoteGitRepository, uri: vscode.Uri): boolean {
    const path = remotePathOf(uri);
    const gitDir = repository.gitDir;
    if (path !== gitDir && !path.startsWith(`${gitDir}/`)) {
      return false;
    }
    const inside = path.slice(gitDir.length + 1);
    return !(inside === 'index' || inside === 'HEAD' || inside.startsWith('refs/'));
  }

  private async lookAtFolders(): Promise<void> {
    const folders = remoteWorkspaceFolders();
    const present = new Set(folders.map((folder) => folderKey(folder.uri)));
    for (const [key, viewKey] of this.looked) {
      if (!present.has(key)) {
        this.looked.delete(key);
        this.retry.delete(key);
        if (viewKey !== undefined && ![...this.looked.values()].includes(viewKey)) {
          this.views.get(viewKey)?.dispose();
          this.views.delete(viewKey);
        }
      }
    }
    await Promise.all(
      folders
        .filter((folder) => !this.looked.has(folderKey(folder.uri)))
        .map((folder) => this.lookAt(folder.uri)),
    );
    this.updateContextKey();
  }

  private async lookAgain(hostKey: string): Promise<void> {
    const again = remoteWorkspaceFolders().filter(
      (folder) => this.retry.has(folderKey(folder.uri)) && this.sameHost(folder.uri.authority, hostKey),
    );
    await Promise.all(again.map((folder) => this.lookAt(folder.uri)));
    this.updateContextKey();
  }

  private async lookAt(folder: vscode.Uri): Promise<void> {
    const key = folderKey(folder);
    this.looked.set(key, undefined);
    this.retry.delete(key);
    const authority = folder.authority;
    const path = remotePathOf(folder);
    try {
      const found = await findWorkTree(
        { connection: () => this.connections.sshConnection(authority), logger: this.logger },
        path,
      );
      if (found.kind === 'unavailable') {
        this.logger.info(`Source Control: none for ${authority}:${path}: ${found.detail}`);
        if (found.reason === 'no-answer') {
          this.retry.add(key);
        }
        return;
      }
      const viewKey = `${authority}\0${found.repository.root}`;
      if (!this.looked.has(key)) {
        return; // the folder was removed meanwhile
      }
      this.looked.set(key, viewKey);
      if (!this.views.has(viewKey)) {
        const view = new GitSourceControl(authority, found.repository, this.logger, (changed) =>
          this.viewChanged(changed),
        );
        this.views.set(viewKey, view);
        this.logger.info(`Source Control: ${authority}:${found.repository.root} is a Git work tree`);
        await view.refreshNow();
      }
    } catch (error) {
      this.retry.add(key);
      this.logger.info(`Source Control: ${authority}:${path} not looked at yet: ${String(error)}`);
    }
  }

  private viewChanged(view: GitSourceControl): void {
    this.originals.repositoryChanged(view.authority, view.repository);
    this.decorationsChanged.fire(undefined);
  }

  private sameHost(authority: string, hostKey: string): boolean {
    try {
      return this.connections.keyOf(authority) === hostKey;
    } catch {
      return false;
    }
  }

  private updateContextKey(): void {
    void vscode.commands.executeCommand('setContext', 'sftpfs.hasGitRepository', this.views.size > 0);
  }
}

function folderKey(uri: vscode.Uri): string {
  return `${uri.authority}\0${remotePathOf(uri)}`;
}
