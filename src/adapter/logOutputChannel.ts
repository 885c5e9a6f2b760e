import * as vscode from 'vscode';

import type { Logger } from '../core/common/logger';

/** The core's Logger over one LogOutputChannel, whose level the user controls. */
export class OutputChannelLogger implements Logger, vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor(name: string) {
    this.channel = vscode.window.createOutputChannel(name, { log: true });
  }

  trace(message: string): void {
    this.channel.trace(message);
  }
  debug(message: string): void {
    this.channel.debug(message);
  }
  info(message: string): void {
    this.channel.info(message);
  }
  warn(message: string): void {
    this.channel.warn(message);
  }
  error(message: string): void {
    this.channel.error(message);
  }

  isTraceEnabled(): boolean {
    return this.channel.logLevel === vscode.LogLevel.Trace;
  }

  dispose(): void {
    this.channel.dispose();
  }
}
