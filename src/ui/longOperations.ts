import * as vscode from 'vscode';

import type { LongOperationRunner } from '../adapter/fileSystemProvider';

/** Operations shorter than this show nothing beyond VS Code's own progress bar. */
const QUIET_MS = 1000;

/**
 * A recursive delete or folder copy that takes longer than a moment gets a notification counting the
 * entries done, with Cancel (which stops it between entries: a cancelled copy leaves nothing behind).
 */
export const showProgressWhenSlow: LongOperationRunner = async (title, run) => {
  const controller = new AbortController();
  let entries = 0;
  const operation = run({ signal: controller.signal, onEntry: () => void entries++ });
  const timer = setTimeout(() => {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const onCancel = token.onCancellationRequested(() => controller.abort());
        const ticker = setInterval(
          () => progress.report({ message: vscode.l10n.t('{0} items done', entries) }),
          250,
        );
        try {
          await operation.catch(() => undefined);
        } finally {
          clearInterval(ticker);
          onCancel.dispose();
        }
      },
    );
  }, QUIET_MS);
  try {
    return await operation;
  } finally {
    clearTimeout(timer);
  }
};
