import * as vscode from 'vscode';

import { RemoteFsError } from '../core/common/errors';
import { remoteFolderName } from '../core/config/managedHosts';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { SFTP_SCHEME, sftpUri } from '../adapter/uri';
import type { CommandRegistry } from './commands';
import type { ConnectionFailureNotices } from './connectionFailures';
import type { HostCatalog } from './hostCatalog';
import type { RecentFolders } from './recentFolders';
import { pickRemoteFolder } from './remoteFolderPicker';

/** What a hosts-view item passes: its host, and for a recent folder its path. */
interface FolderArgument {
  readonly authority: string;
  readonly path?: string;
}

function folderArgument(argument: unknown): FolderArgument | undefined {
  const given = argument as Partial<FolderArgument> | undefined;
  if (typeof given?.authority !== 'string') {
    return undefined;
  }
  return typeof given.path === 'string'
    ? { authority: given.authority, path: given.path }
    : { authority: given.authority };
}

/**
 * Open Remote Folder (this window) and Add Remote Folder to Workspace. A picked folder becomes recent
 * once it is open and its host connected (recordOpenedFolders), not when it is picked.
 */
export function registerFolderCommands(
  commands: CommandRegistry,
  notices: ConnectionFailureNotices,
  connections: ConnectionManager,
  catalog: HostCatalog,
  recent: RecentFolders,
): vscode.Disposable {
  /** Asks for a host and a folder (the host given when run from the hosts view; a recent folder as is). */
  const pickFolder = async (title: string, argument: unknown): Promise<vscode.Uri | undefined> => {
    const given = folderArgument(argument);
    const uri =
      given?.path !== undefined
        ? await checkedFolder(connections, given.authority, given.path)
        : await pickRemoteFolder(connections, notices, catalog, recent, title, given?.authority);
    if (uri !== undefined) {
      await recent.picked(uri);
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
        addNamedWorkspaceFolder(uri);
      }
    }),
    commands.register('sftpfs.connect', async (argument: unknown) => {
      const authority = folderArgument(argument)?.authority;
      if (authority !== undefined) {
        await vscode.commands.executeCommand('sftpfs.reconnect', { authority });
      }
    }),
  );
}

/** A recent folder, checked before the window switches: connected, and still a folder. */
async function checkedFolder(
  connections: ConnectionManager,
  authority: string,
  path: string,
): Promise<vscode.Uri> {
  const stat = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Connecting to {0}…', authority) },
    () => connections.fileSystem(authority).stat(path),
  );
  if (stat.type.kind !== 'directory') {
    throw new RemoteFsError('ENOTDIR', vscode.l10n.t('{0} on {1} is not a folder', path, authority));
  }
  return sftpUri(authority, path);
}

/**
 * Adds a remote folder named `folder (host)`, so that roots of two hosts differ. Remote roots already
 * there under their bare folder name are renamed the same way in the same change (VS Code allows a
 * folder to be removed and added again with another name).
 */
function addNamedWorkspaceFolder(uri: vscode.Uri): void {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const named = (folder: vscode.Uri): { uri: vscode.Uri; name: string } => ({
    uri: folder,
    name: remoteFolderName(folder.authority, folder.path === '' ? '/' : folder.path),
  });
  const unnamedRemote = folders.findIndex(
    (folder) => folder.uri.scheme === SFTP_SCHEME && folder.name !== named(folder.uri).name,
  );
  if (unnamedRemote === -1) {
    vscode.workspace.updateWorkspaceFolders(folders.length, 0, named(uri));
    return;
  }
  const rest = folders
    .slice(unnamedRemote)
    .map((folder) =>
      folder.uri.scheme === SFTP_SCHEME ? named(folder.uri) : { uri: folder.uri, name: folder.name },
    );
  vscode.workspace.updateWorkspaceFolders(unnamedRemote, folders.length - unnamedRemote, ...rest, named(uri));
}
