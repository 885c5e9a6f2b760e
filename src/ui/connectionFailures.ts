import * as vscode from 'vscode';

import type { ConnectionManager } from '../core/connection/connectionManager';

/** The same failure for the same host is shown once in this window, not once per retried call. */
const REPEAT_AFTER_MS = 60_000;

/**
 * Tells the user why a connection failed (host key changed, authentication refused, host unreachable).
 * Without it VS Code only reports that the folder "does not exist": the reason would be in the log only.
 */
export function showConnectionFailures(
  connections: ConnectionManager,
  showLog: () => void,
): vscode.Disposable {
  const lastShown = new Map<string, { message: string; at: number }>();
  return connections.onDidChangeState((change) => {
    if (change.state === 'connected') {
      lastShown.delete(change.authority);
      return;
    }
    if (change.state !== 'failed' || change.error === undefined) {
      return;
    }
    const last = lastShown.get(change.authority);
    if (last !== undefined && last.message === change.error && Date.now() - last.at < REPEAT_AFTER_MS) {
      return;
    }
    lastShown.set(change.authority, { message: change.error, at: Date.now() });
    const action = vscode.l10n.t('Show Log');
    void vscode.window
      .showErrorMessage(vscode.l10n.t('Cannot connect to {0}: {1}', change.authority, change.error), action)
      .then((answer) => {
        if (answer === action) {
          showLog();
        }
      });
  });
}
