import * as vscode from 'vscode';

import { sftpUri } from '../adapter/uri';
import { groupChanges, type ChangeGroup, type ShownChange } from '../core/git/changeGroups';
import type { GitStatus } from '../core/git/porcelainStatus';
import { RefreshQueue } from '../core/git/refreshQueue';
import type { RemoteGitRepository } from '../core/git/remoteGit';
import type { Logger } from '../core/common/logger';
import { isInRepository, originalUri } from './gitOriginals';

/** Saves and watched changes come in bursts: one status per this long. */
const REFRESH_DELAY_MS = 300;

/** A row of the Source Control view: the change it shows and the view it belongs to. */
export interface GitResourceState extends vscode.SourceControlResourceState {
  readonly shown: ShownChange;
  readonly owner: GitSourceControl;
}

/**
 * One Git work tree on a server in the Source Control view: Merge Changes, Staged Changes and Changes,
 * the commit message box, the branch in the status bar, and the quick diff against the index.
 */
export class GitSourceControl implements vscode.Disposable {
  readonly sourceControl: vscode.SourceControl;
  private readonly groups: Record<ChangeGroup, vscode.SourceControlResourceGroup>;
  private readonly queue: RefreshQueue;
  private lastRaw: Buffer | undefined;
  private byPath = new Map<string, ShownChange>();
  private status: GitStatus | undefined;
  private disposed = false;

  constructor(
    readonly authority: string,
    readonly repository: RemoteGitRepository,
    private readonly logger: Logger,
    /** Called after a refresh found something different: originals and decorations are stale. */
    private readonly onDidChange: (source: GitSourceControl) => void,
  ) {
    const rootUri = sftpUri(authority, repository.root);
    this.sourceControl = vscode.scm.createSourceControl('sftpfs-git', vscode.l10n.t('Git (SSH)'), rootUri);
    this.sourceControl.quickDiffProvider = {
      provideOriginalResource: (uri) => (this.contains(uri) ? originalUri(uri, 'index') : undefined),
    };
    this.sourceControl.acceptInputCommand = {
      command: 'sftpfs.git.commit',
      title: vscode.l10n.t('Commit'),
      arguments: [this.sourceControl],
    };
    this.groups = {
      merge: this.sourceControl.createResourceGroup('merge', vscode.l10n.t('Merge Changes')),
      index: this.sourceControl.createResourceGroup('index', vscode.l10n.t('Staged Changes')),
      workTree: this.sourceControl.createResourceGroup('workTree', vscode.l10n.t('Changes')),
    };
    this.groups.merge.hideWhenEmpty = true;
    this.groups.index.hideWhenEmpty = true;
    this.queue = new RefreshQueue(
      () => this.readStatus(),
      REFRESH_DELAY_MS,
      (error) =>
        this.logger.warn(`Source Control ${authority}:${repository.root}: status failed: ${String(error)}`),
    );
    this.showBranch();
  }

  /** True for a file of this host inside this work tree. */
  contains(uri: vscode.Uri): boolean {
    return isInRepository(uri, this.authority, this.repository);
  }

  /** A status soon (after a save or a watched change); bursts make one. */
  requestRefresh(): void {
    this.queue.request();
  }

  /** A status now: Refresh, and after our own git commands. */
  refreshNow(): Promise<void> {
    return this.queue.now();
  }

  /** The change shown for a path relative to the root (Changes or Merge Changes first), for decorations. */
  changeAt(relative: string): ShownChange | undefined {
    return this.byPath.get(relative);
  }

  /** The file a row shows, on the server. */
  fileUri(relative: string): vscode.Uri {
    return sftpUri(this.authority, this.repository.absolute(relative));
  }

  /** The current branch's name, or undefined when detached or not known yet. */
  get branch(): string | undefined {
    return this.status?.branch.head;
  }

  dispose(): void {
    this.disposed = true;
    this.queue.dispose();
    this.sourceControl.dispose();
  }

  private async readStatus(): Promise<void> {
    const { status, raw } = await this.repository.status();
    if (this.disposed || this.lastRaw?.equals(raw) === true) {
      return; // gone, or nothing changed: the view is left as it is
    }
    this.lastRaw = raw;
    this.status = status;
    this.show(status);
    this.onDidChange(this);
  }

  private show(status: GitStatus): void {
    const shown = groupChanges(status.changes);
    const rows: Record<ChangeGroup, GitResourceState[]> = { merge: [], index: [], workTree: [] };
    const byPath = new Map<string, ShownChange>();
    for (const entry of shown) {
      rows[entry.group].push(this.row(entry));
      if (entry.group !== 'index' || !byPath.has(entry.change.path)) {
        byPath.set(entry.change.path, entry);
      }
    }
    for (const group of Object.keys(rows) as ChangeGroup[]) {
      this.groups[group].resourceStates = rows[group];
    }
    this.byPath = byPath;
    this.sourceControl.count = shown.length;
    this.showBranch();
  }

  private row(shown: ShownChange): GitResourceState {
    const resourceUri = this.fileUri(shown.change.path);
    return {
      shown,
      owner: this,
      resourceUri,
      contextValue: shown.change.kind,
      decorations: { strikeThrough: shown.deleted, tooltip: shown.tooltip },
      command: {
        command: 'sftpfs.git.openChange',
        title: vscode.l10n.t('Open Changes'),
        arguments: [{ shown, owner: this, resourceUri }],
      },
    };
  }

  private showBranch(): void {
    const branch = this.status?.branch;
    const name = branch === undefined ? '…' : (branch.head ?? branch.commit?.slice(0, 8) ?? '…');
    const ahead =
      branch === undefined || (branch.ahead === 0 && branch.behind === 0)
        ? ''
        : ` ${branch.behind}↓ ${branch.ahead}↑`;
    this.sourceControl.statusBarCommands = [
      {
        command: 'sftpfs.git.refresh',
        title: `$(git-branch) ${name}${ahead}`,
        tooltip: vscode.l10n.t('{0} on {1} (click to refresh)', name, this.authority),
        arguments: [this.sourceControl],
      },
    ];
    this.sourceControl.inputBox.placeholder =
      branch?.head === undefined
        ? vscode.l10n.t('Message (Ctrl+Enter to commit)')
        : vscode.l10n.t('Message (Ctrl+Enter to commit on "{0}")', branch.head);
  }
}
