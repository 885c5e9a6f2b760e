import * as vscode from 'vscode';

import { SFTP_SCHEME } from '../adapter/uri';
import { isRootAuthority, rootRouteOf } from '../core/config/rootAuthority';

function isOpenAsRoot(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return uri?.scheme === SFTP_SCHEME && isRootAuthority(uri.authority);
}

/**
 * Shows what is open as root, so nobody edits as root without knowing it: a `#` badge (the root
 * prompt) on such files in tabs and the Explorer, and a status bar item while such a file is the
 * active editor. (Menus tell root files by their URI: `;sudo@` in the authority.)
 */
export function showRootIndicator(): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('sftpfs.root', vscode.StatusBarAlignment.Left, 99);
  item.name = vscode.l10n.t('SFTP Open as Root');
  item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
  const update = (): void => {
    const uri = vscode.window.activeTextEditor?.document.uri;
    if (!isOpenAsRoot(uri)) {
      item.hide();
      return;
    }
    item.text = `$(shield) ${vscode.l10n.t('root')}`;
    item.tooltip = vscode.l10n.t(
      'This file is open as root, through sudo as {0}',
      rootRouteOf(uri.authority).login,
    );
    item.show();
  };
  update();
  const decorations: vscode.FileDecorationProvider = {
    provideFileDecoration: (uri) =>
      isOpenAsRoot(uri)
        ? {
            badge: '#',
            tooltip: vscode.l10n.t('Open as root'),
            color: new vscode.ThemeColor('list.warningForeground'),
          }
        : undefined,
  };
  return vscode.Disposable.from(
    item,
    vscode.window.onDidChangeActiveTextEditor(update),
    vscode.window.registerFileDecorationProvider(decorations),
  );
}
