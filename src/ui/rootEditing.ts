import { posix } from 'node:path';
import * as vscode from 'vscode';

import type { AccessRefusal } from '../adapter/fileSystemProvider';
import { SFTP_SCHEME } from '../adapter/uri';
import type { Logger } from '../core/common/logger';
import { asRootAuthority, isRootAuthority } from '../core/config/rootAuthority';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { hasShell } from '../core/ssh/remoteCommand';
import type { CommandRegistry } from './commands';
import { remoteWorkspaceFolders, targetResource } from './targets';

/** The same file or folder as root, through sudo on the same connection (see rootAuthority.ts). */
export function asRootUri(uri: vscode.Uri): vscode.Uri {
  return uri.with({ authority: asRootAuthority(uri.authority) });
}

/**
 * Editing as root: when the server refuses to let the login open or save a file and the account has a
 * shell (sudo needs one), the error offers Retry as Root; Reopen File as Root and Open Folder as Root
 * do the same on request. A file reopened as root keeps the unsaved changes of the editor it
 * replaces, which is then reverted and closed (its changes live on in the root editor).
 */
export function registerRootEditing(
  commands: CommandRegistry,
  connections: ConnectionManager,
  onDidRefuseAccess: vscode.Event<AccessRefusal>,
  logger: Logger,
): vscode.Disposable {
  /** Files whose offer is on screen: VS Code may read a file twice while it opens it. */
  const offered = new Set<string>();

  const offer = async ({ uri, operation }: AccessRefusal): Promise<void> => {
    const key = uri.toString();
    if (uri.scheme !== SFTP_SCHEME || isRootAuthority(uri.authority) || offered.has(key)) {
      return;
    }
    offered.add(key);
    try {
      if ((await hasShell(await connections.sshConnection(uri.authority))) !== true) {
        logger.debug(`Not offering root for ${key}: the account has no shell, so sudo cannot run`);
        return;
      }
      const user = connections.info(uri.authority)?.user ?? uri.authority;
      const name = posix.basename(uri.path);
      const retry = vscode.l10n.t('Retry as Root');
      const choice = await vscode.window.showErrorMessage(
        operation === 'write'
          ? vscode.l10n.t('{0} could not be saved: {1} may not write it.', name, user)
          : vscode.l10n.t('{0} could not be opened: {1} may not read it.', name, user),
        retry,
      );
      if (choice === retry) {
        await reopenAsRoot(uri, { save: operation === 'write' });
      }
    } catch (error) {
      commands.report('sftpfs.retryAsRoot', error);
    } finally {
      offered.delete(key);
    }
  };

  return vscode.Disposable.from(
    onDidRefuseAccess((refusal) => void offer(refusal)),
    commands.register('sftpfs.reopenAsRoot', async (argument: unknown) => {
      const uri = targetResource(argument);
      if (uri === undefined || isRootAuthority(uri.authority)) {
        return;
      }
      await reopenAsRoot(uri, { save: false });
    }),
    commands.register('sftpfs.openFolderAsRoot', async (argument: unknown) => {
      const folder = await folderOf(argument);
      if (folder === undefined) {
        void vscode.window.showInformationMessage(
          vscode.l10n.t('Run this on a remote folder in the Explorer, or open a remote folder first.'),
        );
        return;
      }
      await vscode.commands.executeCommand('vscode.openFolder', asRootUri(folder));
    }),
  );
}

/**
 * Opens `uri` as root where its editor is. An editor with unsaved changes hands them over (and with
 * `save`, the root editor saves them at once: the save the login was refused); it is then reverted
 * and closed, as is an editor that could not open the file at all.
 */
async function reopenAsRoot(uri: vscode.Uri, options: { save: boolean }): Promise<void> {
  const rootUri = asRootUri(uri);
  const document = vscode.workspace.textDocuments.find((open) => open.uri.toString() === uri.toString());
  const viewColumn =
    tabOf(uri)?.group.viewColumn ?? vscode.window.activeTextEditor?.viewColumn ?? vscode.ViewColumn.Active;
  if (document === undefined || !document.isDirty) {
    await vscode.commands.executeCommand('vscode.open', rootUri, { viewColumn, preview: false });
    const failed = tabOf(uri);
    if (failed !== undefined) {
      await vscode.window.tabGroups.close(failed, true);
    }
    return;
  }
  // Reading as root asks for the sudo password when needed.
  const rootDocument = await vscode.workspace.openTextDocument(rootUri);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(
    rootUri,
    rootDocument.validateRange(new vscode.Range(0, 0, Number.MAX_SAFE_INTEGER, 0)),
    document.getText(),
  );
  if (!(await vscode.workspace.applyEdit(edit))) {
    throw new Error(
      vscode.l10n.t(
        'The changes to {0} could not be moved to the editor opened as root.',
        posix.basename(uri.path),
      ),
    );
  }
  if (options.save && !(await rootDocument.save())) {
    throw new Error(vscode.l10n.t('{0} could not be saved as root.', posix.basename(uri.path)));
  }
  // The login's editor still holds the changes: reverted, not saved, then closed.
  await vscode.window.showTextDocument(document, { viewColumn, preview: false });
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  await vscode.window.showTextDocument(rootDocument, { viewColumn, preview: false });
}

function tabOf(uri: vscode.Uri): vscode.Tab | undefined {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .find((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === uri.toString());
}

/**
 * The folder Open Folder as Root is about: the Explorer item it was run on (a file's folder), else the
 * workspace folder of the active editor's file, else the only remote workspace folder.
 */
async function folderOf(argument: unknown): Promise<vscode.Uri | undefined> {
  if (argument instanceof vscode.Uri && argument.scheme === SFTP_SCHEME) {
    const stat = await vscode.workspace.fs.stat(argument);
    return (stat.type & vscode.FileType.Directory) !== 0
      ? argument
      : argument.with({ path: posix.dirname(argument.path) });
  }
  const active = targetResource(undefined);
  const folder = active === undefined ? undefined : vscode.workspace.getWorkspaceFolder(active);
  if (folder !== undefined && folder.uri.scheme === SFTP_SCHEME) {
    return folder.uri;
  }
  const remote = remoteWorkspaceFolders();
  return remote.length === 1 ? remote[0]?.uri : undefined;
}
