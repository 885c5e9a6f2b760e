import * as vscode from 'vscode';

import type { ConnectionManager } from '../core/connection/connectionManager';

/** The same failure for the same host is shown once in this window, not once per retried call. */
const REPEAT_AFTER_MS = 60_000;

/**
 * Tells the user why a connection failed (host key changed, authentication refused, host unreachable),
 * once per failure, in the words the core chose (core/ssh/connectFailures.ts), with Show Log. Without
 * it VS Code only reports that the folder "does not exist": the reason would be in the log only.
 * Failures that a picker shows where the user typed (`quietly`) are not shown again as a notification.
 */
export class ConnectionFailureNotices implements vscode.Disposable {
  private readonly lastShown = new Map<string, { message: string; at: number }>();
  private readonly quiet = new Map<string, number>();
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly connections: ConnectionManager,
    /** Opens the log (the Show Log button). */
    readonly showLog: () => void,
  ) {
    this.subscription = connections.onDidChangeState((change) => {
      if (change.state === 'connected') {
        this.lastShown.delete(change.authority);
        return;
      }
      if (change.state !== 'failed' || change.error === undefined || this.quiet.has(change.authority)) {
        return;
      }
      const last = this.lastShown.get(change.authority);
      if (last !== undefined && last.message === change.error && Date.now() - last.at < REPEAT_AFTER_MS) {
        return;
      }
      this.lastShown.set(change.authority, { message: change.error, at: Date.now() });
      showErrorWithLog(change.error, this.showLog);
    });
  }

  /** True when `message` was shown as a connection failure a moment ago: a caller need not repeat it. */
  wasShown(message: string): boolean {
    const now = Date.now();
    return [...this.lastShown.values()].some(
      (shown) => shown.message === message && now - shown.at < REPEAT_AFTER_MS,
    );
  }

  /** Runs `work` with failures of `authority` left to the caller, which shows them where the user is. */
  async quietly<T>(authority: string, work: () => Promise<T>): Promise<T> {
    const key = this.connections.keyOf(authority);
    this.quiet.set(key, (this.quiet.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.quiet.get(key) ?? 1) - 1;
      if (left === 0) {
        this.quiet.delete(key);
      } else {
        this.quiet.set(key, left);
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

/** An error notification with a Show Log button: every error the extension shows goes through here. */
export function showErrorWithLog(message: string, showLog: () => void): void {
  const action = vscode.l10n.t('Show Log');
  void vscode.window.showErrorMessage(message, action).then((answer) => {
    if (answer === action) {
      showLog();
    }
  });
}
