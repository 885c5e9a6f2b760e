import * as vscode from 'vscode';

import type { ConnectionManager, HostNotice } from '../core/connection/connectionManager';

/**
 * Tells the user when a file had to be overwritten in place with no copy of the original to fall back
 * on (its folder is not writable and it is too large to keep in memory): a cut connection could then
 * have left it half written, which the user assumes never happens. Once per file in this window.
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
    case 'unprotected':
      return vscode.l10n.t(
        'Saved {0} by overwriting it in place without a copy of the original: its folder is not writable and the file is too large to keep a copy in memory. Had the connection dropped meanwhile, the file could have been left half written.',
        file,
      );
  }
}
