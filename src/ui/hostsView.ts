import * as vscode from 'vscode';

import type { ConnectionManager, ConnectionState } from '../core/connection/connectionManager';
import type { CatalogHost, HostCatalog } from './hostCatalog';

const STATE_ICONS: Readonly<Record<ConnectionState, vscode.ThemeIcon>> = {
  connected: new vscode.ThemeIcon('vm-active', new vscode.ThemeColor('testing.iconPassed')),
  connecting: new vscode.ThemeIcon('sync~spin'),
  reconnecting: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('list.warningForeground')),
  disconnected: new vscode.ThemeIcon('vm-outline'),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground')),
};

/**
 * The Hosts view in the SFTP activity-bar container: every host the catalog knows with its connection
 * state; inline actions (open a folder, connect, disconnect) are declared in package.json by the
 * item's contextValue (`host.connected` / `host.disconnected`).
 */
export class HostsView implements vscode.TreeDataProvider<CatalogHost>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly catalog: HostCatalog,
    connections: ConnectionManager,
  ) {
    this.subscription = connections.onDidChangeState(() => this.refresh());
  }

  refresh(): void {
    this.changed.fire();
  }

  getChildren(element?: CatalogHost): CatalogHost[] {
    return element === undefined ? this.catalog.hosts() : [];
  }

  getTreeItem(host: CatalogHost): vscode.TreeItem {
    const item = new vscode.TreeItem(host.authority, vscode.TreeItemCollapsibleState.None);
    item.iconPath = STATE_ICONS[host.state];
    item.description = stateLabel(host.state);
    item.tooltip = `${host.authority}: ${stateLabel(host.state)}`;
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
    this.subscription.dispose();
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
