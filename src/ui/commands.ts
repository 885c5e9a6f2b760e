import * as vscode from 'vscode';

import type { Logger } from '../core/common/logger';
import { guardCommand, reportCommandFailure, type CommandFailureSink } from './commandErrorPolicy';
import { showErrorWithLog } from './connectionFailures';

/**
 * Registers commands with one error policy (commandErrorPolicy.ts), so that a failure inside a command
 * becomes a message in words with Show Log, never VS Code's modal "Command … resulted in an error":
 * the error is logged, a cancelled operation says nothing, and a connection failure already shown is
 * not shown twice.
 */
export class CommandRegistry {
  private readonly sink: CommandFailureSink;

  constructor(
    logger: Logger,
    showLog: () => void,
    /** True when this text was just shown (a connection failure): it is then only logged. */
    alreadyShown: (message: string) => boolean,
  ) {
    this.sink = {
      log: (line) => logger.error(line),
      show: (message) => showErrorWithLog(message, showLog),
      alreadyShown,
    };
  }

  register(id: string, handler: (...args: never[]) => unknown): vscode.Disposable {
    return vscode.commands.registerCommand(id, guardCommand(id, handler, this.sink));
  }

  /** What a command's failure shows: also for work a command started without awaiting it. */
  report(id: string, error: unknown): void {
    reportCommandFailure(id, error, this.sink);
  }
}
