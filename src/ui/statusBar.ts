import * as vscode from 'vscode';

import type { ConnectionManager, ConnectionState } from '../core/connection/connectionManager';
import { stateLabel } from './hostsView';
import { remoteWorkspaceHosts } from './targets';

const ICONS: Readonly<Record<ConnectionState, string>> = {
  connected: '$(remote)',
  connecting: '$(sync~spin)',
  reconnecting: '$(sync~spin)',
  disconnected: '$(debug-disconnect)',
  failed: '$(error)',
};

/**
 * The state of the connections behind this workspace's remote folders, at the left of the status bar.
 * Reconnecting shows with a warning background, a failure with an error one; clicking shows the
 * connection's details, or reconnects when it is down.
 */
export function showConnectionStatus(connections: ConnectionManager): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('sftpfs.connection', vscode.StatusBarAlignment.Left, 100);
  item.name = vscode.l10n.t('SFTP Connection');
  const update = (): void => {
    const hosts = remoteWorkspaceHosts(connections);
    if (hosts.length === 0) {
      item.hide();
      return;
    }
    const states = hosts.map((host) => ({ host, state: connections.state(host) }));
    const worst = states.find((s) => s.state === 'failed') ??
      states.find((s) => s.state === 'reconnecting') ??
      states.find((s) => s.state === 'disconnected') ??
      states.find((s) => s.state === 'connecting') ?? {
        host: hosts[0] as string,
        state: 'connected' as const,
      };
    item.text = `${ICONS[worst.state]} ${hosts.length === 1 ? worst.host : `${hosts.length} hosts`}${
      worst.state === 'connected' ? '' : `: ${stateLabel(worst.state)}`
    }`;
    item.tooltip = states.map((s) => `SFTP ${s.host}: ${stateLabel(s.state)}`).join('\n');
    item.backgroundColor =
      worst.state === 'failed'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : worst.state === 'reconnecting' || worst.state === 'disconnected'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    item.command =
      worst.state === 'connected' || worst.state === 'connecting'
        ? { command: 'sftpfs.showConnectionInfo', title: '', arguments: [{ authority: worst.host }] }
        : { command: 'sftpfs.reconnect', title: '', arguments: [{ authority: worst.host }] };
    item.show();
  };
  update();
  return vscode.Disposable.from(
    item,
    connections.onDidChangeState(update),
    vscode.workspace.onDidChangeWorkspaceFolders(update),
  );
}
