import * as vscode from 'vscode';

import type { HostWatchNotice, WatchService } from '../core/watch/watchService';

/**
 * Tells the user, once per watched folder in this window, when a watch covers only part of a big
 * tree (changes elsewhere are not seen, and the Explorer would otherwise look up to date when it is
 * not), or when the server's inotify limit sends watches back to polling.
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
    const setting = notice.reason === 'truncated' ? 'sftpfs.watch.maxEntries' : 'files.watcherExclude';
    void vscode.window.showWarningMessage(describe(notice), openSettings).then((choice) => {
      if (choice === openSettings) {
        void vscode.commands.executeCommand('workbench.action.openSettings', setting);
      }
    });
  });
  return new vscode.Disposable(() => subscription.dispose());
}

function describe(notice: HostWatchNotice): string {
  const folder = `${notice.authority}:${notice.path}`;
  switch (notice.reason) {
    case 'truncated':
      return notice.moreUnwatched > 0
        ? vscode.l10n.t(
            'Only the first {0} files and folders of {1} are watched for changes made on the server; changes in {2} and {3} more folders are not seen. Exclude big folders with files.watcherExclude, or raise sftpfs.watch.maxEntries.',
            notice.maxEntries,
            folder,
            notice.unwatched.join(', '),
            notice.moreUnwatched,
          )
        : vscode.l10n.t(
            'Only the first {0} files and folders of {1} are watched for changes made on the server; changes in {2} are not seen. Exclude big folders with files.watcherExclude, or raise sftpfs.watch.maxEntries.',
            notice.maxEntries,
            folder,
            notice.unwatched.join(', '),
          );
    case 'inotifyLimit':
      return vscode.l10n.t(
        "The server's inotify limit was reached watching {0} ({1}): it is checked for changes every few seconds instead. Raising fs.inotify.max_user_watches on the server, or excluding big folders with files.watcherExclude, brings instant change detection back.",
        folder,
        notice.detail,
      );
  }
}
