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

/** Most urgent first. */
const SEVERITY: readonly ConnectionState[] = [
  'failed',
  'reconnecting',
  'disconnected',
  'connecting',
  'connected',
];

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
    // The item shows the host that most needs attention.
    const worst = [...states].sort((a, b) => SEVERITY.indexOf(a.state) - SEVERITY.indexOf(b.state))[0] as {
      host: string;
      state: ConnectionState;
    };
    const what = hosts.length === 1 ? worst.host : vscode.l10n.t('{0} hosts', hosts.length);
    const how = worst.state === 'connected' ? '' : `: ${stateLabel(worst.state)}`;
    item.text = `${ICONS[worst.state]} ${what}${how}`;
    item.tooltip = states.map((s) => vscode.l10n.t('SFTP {0}: {1}', s.host, stateLabel(s.state))).join('\n');
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
