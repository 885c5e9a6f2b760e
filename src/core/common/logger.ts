/**
 * What the core needs from a logger. The VS Code side implements it over a LogOutputChannel; tests
 * pass `nullLogger` or a recording logger. Messages are English and never contain secrets.
 */
export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** True when trace lines are shown: costly detail (the SSH protocol exchange) is only produced then. */
  isTraceEnabled?(): boolean;
}

export const nullLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Prefixes every message with a component tag, e.g. `[sftp alice@host]`. */
export function scopedLogger(logger: Logger, scope: string): Logger {
  const tag = `[${scope}] `;
  return {
    trace: (m) => logger.trace(tag + m),
    debug: (m) => logger.debug(tag + m),
    info: (m) => logger.info(tag + m),
    warn: (m) => logger.warn(tag + m),
    error: (m) => logger.error(tag + m),
    isTraceEnabled: () => logger.isTraceEnabled?.() ?? false,
  };
}
