import * as vscode from 'vscode';

import type { ConnectionManager } from '../core/connection/connectionManager';
import { remoteWorkspaceFolders } from './targets';

/**
 * `sftpfs.hasRemoteFolder` and `sftpfs.hasConnection`, which the `when` clauses in package.json use
 * to show remote-only commands in the palette only where they can do something, and
 * `sftpfs.remoteWorkspace` (every workspace folder is remote), which gives Ctrl+P and Ctrl+Shift+F to
 * the searches on the server: VS Code's own cannot search an sftp:// folder, and local windows keep theirs.
 */
export function maintainContextKeys(connections: ConnectionManager): vscode.Disposable {
  const update = (): void => {
    void vscode.commands.executeCommand(
      'setContext',
      'sftpfs.hasRemoteFolder',
      remoteWorkspaceFolders().length > 0,
    );
    const folders = vscode.workspace.workspaceFolders ?? [];
    void vscode.commands.executeCommand(
      'setContext',
      'sftpfs.remoteWorkspace',
      folders.length > 0 && remoteWorkspaceFolders().length === folders.length,
    );
    void vscode.commands.executeCommand(
      'setContext',
      'sftpfs.hasConnection',
      connections.knownHosts().some((host) => host.state !== 'disconnected' && host.state !== 'failed'),
    );
  };
  update();
  return vscode.Disposable.from(
    connections.onDidChangeState(update),
    vscode.workspace.onDidChangeWorkspaceFolders(update),
  );
}
