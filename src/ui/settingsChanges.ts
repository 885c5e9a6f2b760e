import * as vscode from 'vscode';

import type { Logger } from '../core/common/logger';

/** Tells the user, once per distinct list, which sftpfs.hosts entries were left out and why. */
export class HostSettingProblems {
  private shown = '';

  constructor(private readonly logger: Logger) {}

  report(problems: readonly string[]): void {
    const text = problems.join('\n');
    if (text === this.shown) {
      return;
    }
    this.shown = text;
    if (problems.length === 0) {
      return;
    }
    for (const problem of problems) {
      this.logger.warn(problem);
    }
    const open = vscode.l10n.t('Open Settings');
    void vscode.window
      .showWarningMessage(
        vscode.l10n.t('Some hosts in the setting sftpfs.hosts are ignored: {0}', problems.join('; ')),
        open,
      )
      .then((choice) => {
        if (choice === open) {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'sftpfs.hosts');
        }
      });
  }
}

/** What a changed setting needs besides being read afresh (settings are read when used). */
export function followSettingChanges(reactions: {
  readonly pollInterval: () => void;
  readonly hosts: () => void;
  readonly readerThread: () => void;
}): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((change) => {
    if (change.affectsConfiguration('sftpfs.watch.pollIntervalSeconds')) {
      reactions.pollInterval();
    }
    if (change.affectsConfiguration('sftpfs.hosts') || change.affectsConfiguration('sftpfs.sshConfigFile')) {
      reactions.hosts();
    }
    if (change.affectsConfiguration('sftpfs.readerThread')) {
      reactions.readerThread();
    }
  });
}
