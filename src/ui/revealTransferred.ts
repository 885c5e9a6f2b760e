import * as vscode from 'vscode';

/**
 * The Reveal of a "Downloaded …" or "Uploaded …" message: shows the result with what this VS Code
 * has. The system file manager only where there is one for this machine's files (desktop, extension
 * running locally: code-server and remote windows have no `revealFileInOS`, and the files would be
 * on another machine anyway); otherwise the Explorer when the result is in the workspace, else the
 * file in an editor, or a folder in the file dialog, from which its files can be opened.
 */
export async function revealTransferred(uri: vscode.Uri): Promise<void> {
  if (
    uri.scheme === 'file' &&
    vscode.env.uiKind === vscode.UIKind.Desktop &&
    vscode.env.remoteName === undefined
  ) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
    return;
  }
  if (vscode.workspace.getWorkspaceFolder(uri) !== undefined) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return;
  }
  if (((await vscode.workspace.fs.stat(uri)).type & vscode.FileType.Directory) === 0) {
    await vscode.commands.executeCommand('vscode.open', uri);
    return;
  }
  const picked = await vscode.window.showOpenDialog({
    defaultUri: uri,
    canSelectMany: true,
    openLabel: vscode.l10n.t('Open'),
  });
  for (const file of picked ?? []) {
    await vscode.commands.executeCommand('vscode.open', file);
  }
}
