import * as vscode from 'vscode';

import type { ConnectionManager, HostNotice } from '../core/connection/connectionManager';

/**
 * Tells the user when a save went through but not atomically (the folder is not writable, or the
 * server cannot replace a file in one rename): a reader could then have seen a partial file, which
 * the user assumes never happens. Once per file and reason in this window, not on every save.
 */
export function showSaveNotices(connections: ConnectionManager): vscode.Disposable {
  const shown = new Set<string>();
  return connections.onDidNotice((notice) => {
    const key = `${notice.authority}\n${notice.path}\n${notice.reason}`;
    if (shown.has(key)) {
      return;
    }
    shown.add(key);
    void vscode.window.showWarningMessage(describe(notice));
  });
}

function describe(notice: HostNotice): string {
  const file = `${notice.authority}:${notice.path}`;
  switch (notice.reason) {
    case 'folderNotWritable':
      return vscode.l10n.t(
        'Saved {0} by overwriting it in place: its folder is not writable, so the save could not be atomic. A program reading the file meanwhile may have seen it half written.',
        file,
      );
    case 'noPosixRename':
      return vscode.l10n.t(
        'Saved {0} in three steps: the server cannot replace a file in one rename (no posix-rename@openssh.com), so for a moment the file did not exist.',
        file,
      );
  }
}
