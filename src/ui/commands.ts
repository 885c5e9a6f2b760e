import * as vscode from 'vscode';

import { errorMessage, isRemoteFsError } from '../core/common/errors';
import type { Logger } from '../core/common/logger';
import { showErrorWithLog } from './connectionFailures';

/**
 * Registers commands with one error policy, so that a failure inside a command becomes a message in
 * words with Show Log, never VS Code's modal "Command … resulted in an error": the error is logged,
 * a cancelled operation says nothing, and a connection failure already shown is not shown twice.
 */
export class CommandRegistry {
  constructor(
    private readonly logger: Logger,
    private readonly showLog: () => void,
    /** True when this text was just shown (a connection failure): it is then only logged. */
    private readonly alreadyShown: (message: string) => boolean,
  ) {}

  register(id: string, handler: (...args: never[]) => unknown): vscode.Disposable {
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await (handler as (...args: unknown[]) => unknown)(...args);
      } catch (error) {
        this.report(id, error);
        return undefined;
      }
    });
  }

  /** What a command's failure shows: also for work a command started without awaiting it. */
  report(id: string, error: unknown): void {
    if (isRemoteFsError(error, 'ECANCELED')) {
      return;
    }
    const message = errorMessage(error);
    this.logger.error(`${id} failed: ${message}`);
    if (!this.alreadyShown(message)) {
      showErrorWithLog(message, this.showLog);
    }
  }
}
