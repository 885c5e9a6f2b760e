import * as vscode from 'vscode';

import type { ConnectionManager } from '../core/connection/connectionManager';

/** A connection made within this time shows no notification: it would only flash. */
const QUIET_MS = 700;

/**
 * While a connection is being made, a notification says so ("Connecting to host…", then
 * "Authenticating to host…" once the server asks for credentials), so that a server that accepts but
 * never answers is not 20 s of a thin busy bar without a word. It ends with the attempt.
 */
export function showConnectionProgress(connections: ConnectionManager): vscode.Disposable {
  const running = new Map<string, { report: (message: string) => void; end: () => void }>();
  const start = (authority: string): void => {
    if (running.has(authority)) {
      return;
    }
    let message = vscode.l10n.t('Connecting to {0}…', authority);
    let report: ((text: string) => void) | undefined;
    let finish: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    const timer = setTimeout(() => {
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification }, (progress) => {
        report = (text) => progress.report({ message: text });
        report(message);
        return ended;
      });
    }, QUIET_MS);
    running.set(authority, {
      report: (text) => {
        message = text;
        report?.(text);
      },
      end: () => {
        clearTimeout(timer);
        finish();
      },
    });
  };
  const end = (authority: string): void => {
    running.get(authority)?.end();
    running.delete(authority);
  };
  const states = connections.onDidChangeState((change) => {
    if (change.state === 'connecting') {
      start(change.authority);
    } else {
      end(change.authority);
    }
  });
  const steps = connections.onDidProgress((progress) => {
    running.get(progress.authority)?.report(vscode.l10n.t('Authenticating to {0}…', progress.authority));
  });
  return new vscode.Disposable(() => {
    states.dispose();
    steps.dispose();
    for (const authority of [...running.keys()]) {
      end(authority);
    }
  });
}
