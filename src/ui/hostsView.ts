import * as vscode from 'vscode';

import type { ConnectionManager, ConnectionState } from '../core/connection/connectionManager';
import type { CatalogHost, HostCatalog } from './hostCatalog';
import type { RecentFolders } from './recentFolders';

/**
 * A recent folder, shown under its host. Its authority and path make it an argument the folder and
 * connection commands understand (Add Remote Folder to Workspace adds this folder).
 */
export interface RecentFolderItem {
  readonly kind: 'recentFolder';
  /** The folder's URI text, as RecentFolders keeps it. */
  readonly uri: string;
  readonly authority: string;
  readonly path: string;
}
type HostsViewItem = CatalogHost | RecentFolderItem;

function isRecentFolder(item: HostsViewItem): item is RecentFolderItem {
  return 'kind' in item && item.kind === 'recentFolder';
}

const STATE_ICONS: Readonly<Record<ConnectionState, vscode.ThemeIcon>> = {
  connected: new vscode.ThemeIcon('vm-active', new vscode.ThemeColor('testing.iconPassed')),
  connecting: new vscode.ThemeIcon('sync~spin'),
  reconnecting: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('list.warningForeground')),
  disconnected: new vscode.ThemeIcon('vm-outline'),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground')),
};

/**
 * The Hosts view in the SFTP activity-bar container: every host the catalog knows with its connection
 * state, and under it its recent folders; inline actions (open a folder, connect, disconnect) are
 * declared in package.json by the item's contextValue (`host.connected` / `host.disconnected`,
 * `recentFolder`).
 */
export class HostsView implements vscode.TreeDataProvider<HostsViewItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: Array<{ dispose(): void }>;

  constructor(
    private readonly catalog: HostCatalog,
    connections: ConnectionManager,
    recent: RecentFolders,
  ) {
    this.subscriptions = [
      connections.onDidChangeState(() => this.refresh()),
      recent.onDidChange(() => this.refresh()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
    ];
  }

  refresh(): void {
    this.changed.fire();
  }

  getChildren(element?: HostsViewItem): HostsViewItem[] {
    if (element === undefined) {
      return this.catalog.hosts();
    }
    return isRecentFolder(element)
      ? []
      : element.recentFolders.map((text): RecentFolderItem => {
          const uri = vscode.Uri.parse(text);
          return { kind: 'recentFolder', uri: text, authority: element.authority, path: uri.path || '/' };
        });
  }

  getTreeItem(element: HostsViewItem): vscode.TreeItem {
    return isRecentFolder(element) ? this.folderItem(element) : this.hostItem(element);
  }

  private folderItem(folder: RecentFolderItem): vscode.TreeItem {
    const item = new vscode.TreeItem(folder.path, vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon('history');
    item.tooltip = vscode.l10n.t('{0} on {1}', folder.path, folder.authority);
    item.contextValue = 'recentFolder';
    item.command = {
      command: 'sftpfs.openFolder',
      title: vscode.l10n.t('Open Remote Folder'),
      arguments: [{ authority: folder.authority, path: folder.path }],
    };
    return item;
  }

  private hostItem(host: CatalogHost): vscode.TreeItem {
    const item = new vscode.TreeItem(
      host.authority,
      host.recentFolders.length > 0
        ? vscode.TreeItemCollapsibleState.Collapsed
        : vscode.TreeItemCollapsibleState.None,
    );
    item.iconPath = STATE_ICONS[host.state];
    item.description = stateLabel(host.state);
    item.tooltip = `${host.authority}: ${stateLabel(host.state)} (${originLabel(host)})`;
    item.contextValue =
      host.state === 'connected' || host.state === 'reconnecting' ? 'host.connected' : 'host.disconnected';
    item.command = {
      command: 'sftpfs.openFolder',
      title: vscode.l10n.t('Open Remote Folder'),
      arguments: [{ authority: host.authority }],
    };
    return item;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
    this.changed.dispose();
  }
}

export function stateLabel(state: ConnectionState): string {
  switch (state) {
    case 'connected':
      return vscode.l10n.t('connected');
    case 'connecting':
      return vscode.l10n.t('connecting…');
    case 'reconnecting':
      return vscode.l10n.t('reconnecting…');
    case 'disconnected':
      return vscode.l10n.t('disconnected');
    case 'failed':
      return vscode.l10n.t('failed');
  }
}

function originLabel(host: CatalogHost): string {
  switch (host.origin) {
    case 'settings':
      return vscode.l10n.t('from the setting sftpfs.hosts');
    case 'sshConfig':
      return vscode.l10n.t('from {0}', host.configFile ?? 'ssh_config');
    case 'recent':
      return vscode.l10n.t('a recent folder');
    case 'open':
      return vscode.l10n.t('in use');
  }
}
