import { errorMessage, isRemoteFsError } from '../core/common/errors';

/**
 * What a command's failure does, kept free of vscode so that a unit test can hold it to its promise:
 * a command never throws back into VS Code (which would show its modal "Command … resulted in an
 * error" when run from the palette), a cancel says nothing, every other failure is logged and shown
 * once in words.
 */
export interface CommandFailureSink {
  /** A line for the log. */
  log(line: string): void;
  /** Shows the message to the user (a notification with Show Log). */
  show(message: string): void;
  /** True when this text was just shown (a connection failure): it is then only logged. */
  alreadyShown(message: string): boolean;
}

export function reportCommandFailure(id: string, error: unknown, sink: CommandFailureSink): void {
  if (isRemoteFsError(error, 'ECANCELED')) {
    return;
  }
  const message = errorMessage(error);
  sink.log(`${id} failed: ${message}`);
  if (!sink.alreadyShown(message)) {
    sink.show(message);
  }
}

/**
 * The handler as VS Code gets it: it answers what the handler answered, or undefined after a failure
 * (thrown at once or rejected later), which goes to `sink` instead of VS Code.
 */
export function guardCommand(
  id: string,
  handler: (...args: never[]) => unknown,
  sink: CommandFailureSink,
): (...args: unknown[]) => Promise<unknown> {
  return async (...args: unknown[]) => {
    try {
      return await (handler as (...args: unknown[]) => unknown)(...args);
    } catch (error) {
      reportCommandFailure(id, error, sink);
      return undefined;
    }
  };
}
