import * as vscode from 'vscode';

import type { HostWatchNotice, WatchService } from '../core/watch/watchService';

/**
 * Tells the user, once per watched folder in this window, when a watch covers only part of a big
 * tree: changes elsewhere are not seen, and the Explorer would otherwise look up to date when it is not.
 */
export function showWatchNotices(watches: WatchService): vscode.Disposable {
  const shown = new Set<string>();
  const subscription = watches.onDidNotice((notice) => {
    const key = `${notice.authority}\n${notice.path}\n${notice.reason}`;
    if (shown.has(key)) {
      return;
    }
    shown.add(key);
    const openSettings = vscode.l10n.t('Open Settings');
    void vscode.window.showWarningMessage(describe(notice), openSettings).then((choice) => {
      if (choice === openSettings) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'sftpfs.watch.maxEntries');
      }
    });
  });
  return new vscode.Disposable(() => subscription.dispose());
}

function describe(notice: HostWatchNotice): string {
  const folder = `${notice.authority}:${notice.path}`;
  const unwatched = notice.unwatched.join(', ');
  switch (notice.reason) {
    case 'truncated':
      return notice.moreUnwatched > 0
        ? vscode.l10n.t(
            'Only the first {0} files and folders of {1} are watched for changes made on the server; changes in {2} and {3} more folders are not seen. Exclude big folders with files.watcherExclude, or raise sftpfs.watch.maxEntries.',
            notice.maxEntries,
            folder,
            unwatched,
            notice.moreUnwatched,
          )
        : vscode.l10n.t(
            'Only the first {0} files and folders of {1} are watched for changes made on the server; changes in {2} are not seen. Exclude big folders with files.watcherExclude, or raise sftpfs.watch.maxEntries.',
            notice.maxEntries,
            folder,
            unwatched,
          );
  }
}
