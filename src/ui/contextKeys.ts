import * as vscode from 'vscode';

import type { ConnectionManager } from '../core/connection/connectionManager';
import { remoteWorkspaceFolders } from './targets';

/**
 * `sftpfs.hasRemoteFolder` and `sftpfs.hasConnection`, which the `when` clauses in package.json use
 * to show remote-only commands in the palette only where they can do something.
 */
export function maintainContextKeys(connections: ConnectionManager): vscode.Disposable {
  const update = (): void => {
    void vscode.commands.executeCommand(
      'setContext',
      'sftpfs.hasRemoteFolder',
      remoteWorkspaceFolders().length > 0,
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
