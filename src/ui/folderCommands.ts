import * as vscode from 'vscode';

import type { ConnectionManager } from '../core/connection/connectionManager';
import type { CommandRegistry } from './commands';
import type { ConnectionFailureNotices } from './connectionFailures';
import type { HostCatalog } from './hostCatalog';
import type { RecentFolders } from './recentFolders';
import { pickRemoteFolder } from './remoteFolderPicker';
import type { HostArgument } from './targets';

/** Open Remote Folder (this window) and Add Remote Folder to Workspace. */
export function registerFolderCommands(
  commands: CommandRegistry,
  notices: ConnectionFailureNotices,
  connections: ConnectionManager,
  catalog: HostCatalog,
  recent: RecentFolders,
): vscode.Disposable {
  const hostOf = (argument: unknown): string | undefined =>
    typeof (argument as HostArgument | undefined)?.authority === 'string'
      ? (argument as HostArgument).authority
      : undefined;
  /** Asks for a host and a folder (the host given when run from the hosts view) and remembers it. */
  const pickFolder = async (title: string, argument: unknown): Promise<vscode.Uri | undefined> => {
    const uri = await pickRemoteFolder(connections, notices, catalog, recent, title, hostOf(argument));
    if (uri !== undefined) {
      await recent.add(uri);
    }
    return uri;
  };
  return vscode.Disposable.from(
    commands.register('sftpfs.openFolder', async (argument: unknown) => {
      const uri = await pickFolder(vscode.l10n.t('Open Remote Folder'), argument);
      if (uri !== undefined) {
        await vscode.commands.executeCommand('vscode.openFolder', uri);
      }
    }),
    commands.register('sftpfs.addFolderToWorkspace', async (argument: unknown) => {
      const uri = await pickFolder(vscode.l10n.t('Add Remote Folder to Workspace'), argument);
      if (uri !== undefined) {
        const count = vscode.workspace.workspaceFolders?.length ?? 0;
        vscode.workspace.updateWorkspaceFolders(count, 0, { uri });
      }
    }),
    commands.register('sftpfs.connect', async (argument: unknown) => {
      const authority = hostOf(argument);
      if (authority !== undefined) {
        await vscode.commands.executeCommand('sftpfs.reconnect', { authority });
      }
    }),
  );
}
