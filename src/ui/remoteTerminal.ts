import type { ClientChannel } from 'ssh2';
import * as vscode from 'vscode';

import { remotePathOf } from '../adapter/uri';
import { errorMessage } from '../core/common/errors';
import type { Logger } from '../core/common/logger';
import { parentOf } from '../core/common/remotePath';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { hasShell, loginShellIn } from '../core/ssh/remoteCommand';
import type { SshConnection } from '../core/ssh/sshConnection';
import type { CommandRegistry } from './commands';
import { targetResource } from './targets';

/**
 * Open SSH Terminal Here: a login shell over the connection the files already use (no second login,
 * no second host-key check), started in the chosen folder, or the folder of the chosen file.
 */
export function registerTerminalCommand(
  commands: CommandRegistry,
  connections: ConnectionManager,
  logger: Logger,
): vscode.Disposable & { terminalsOn(authority: string): number } {
  const open = new Map<vscode.Terminal, string>();
  const closed = vscode.window.onDidCloseTerminal((terminal) => open.delete(terminal));
  const command = commands.register('sftpfs.openTerminal', async (argument: unknown) => {
    const resource = targetResource(argument);
    if (resource === undefined) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Open a remote folder or file first.'));
      return;
    }
    const authority = connections.keyOf(resource.authority);
    try {
      let folder = remotePathOf(resource);
      let stat = await connections.fileSystem(authority).stat(folder);
      if (stat.type.kind !== 'directory') {
        folder = parentOf(folder);
        stat = await connections.fileSystem(authority).stat(folder);
      }
      const connection = await connections.sshConnection(authority);
      const shell = await hasShell(connection);
      if (shell === undefined) {
        void vscode.window.showErrorMessage(
          vscode.l10n.t('{0} did not answer in time; try Open SSH Terminal Here again.', authority),
        );
        return;
      }
      if (!shell) {
        void vscode.window.showErrorMessage(
          stat.notWritable === true
            ? vscode.l10n.t(
                '{0} allows SFTP only: this account has no shell, so a terminal cannot be opened there. Files can still be opened; {1} is read-only for this account.',
                authority,
                folder,
              )
            : vscode.l10n.t(
                '{0} allows SFTP only: this account has no shell, so a terminal cannot be opened there. Files can still be opened and saved.',
                authority,
              ),
        );
        return;
      }
      const terminal = vscode.window.createTerminal({
        name: vscode.l10n.t('SSH: {0}', authority),
        iconPath: new vscode.ThemeIcon('remote'),
        pty: new SshPseudoterminal(connection, folder, logger),
      });
      open.set(terminal, authority);
      terminal.show();
    } catch (error) {
      void vscode.window.showErrorMessage(
        vscode.l10n.t('Cannot open a terminal on {0}: {1}', authority, errorMessage(error)),
      );
    }
  });
  return Object.assign(vscode.Disposable.from(command, closed), {
    terminalsOn: (authority: string): number =>
      [...open.values()].filter((host) => host === connections.keyOf(authority)).length,
  });
}

class SshPseudoterminal implements vscode.Pseudoterminal {
  private readonly output = new vscode.EventEmitter<string>();
  private readonly ended = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.output.event;
  readonly onDidClose = this.ended.event;
  private channel: ClientChannel | undefined;
  private closedByUser = false;

  constructor(
    private readonly connection: SshConnection,
    private readonly folder: string,
    private readonly logger: Logger,
  ) {}

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    this.connection
      .exec(loginShellIn(this.folder), {
        term: 'xterm-256color',
        cols: dimensions?.columns ?? 80,
        rows: dimensions?.rows ?? 24,
      })
      .then(
        (channel) => {
          if (this.closedByUser) {
            channel.close();
            return;
          }
          this.channel = channel;
          const decoder = new TextDecoder('utf-8');
          channel.on('data', (chunk: Buffer) => this.output.fire(decoder.decode(chunk, { stream: true })));
          channel.stderr.on('data', (chunk: Buffer) => this.output.fire(chunk.toString('utf8')));
          let exitCode: number | undefined;
          channel.on('exit', (code: number | null) => {
            exitCode = code ?? undefined;
          });
          channel.on('close', () => {
            this.logger.info(`Terminal in ${this.folder} ended (exit ${exitCode ?? 'unknown'})`);
            this.ended.fire(exitCode);
            this.disposeEmitters();
          });
        },
        (error: unknown) => {
          this.output.fire(`\r\n${vscode.l10n.t('Could not start a shell: {0}', errorMessage(error))}\r\n`);
          this.ended.fire(1);
          this.disposeEmitters();
        },
      );
  }

  handleInput(data: string): void {
    this.channel?.write(data);
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.channel?.setWindow(dimensions.rows, dimensions.columns, 0, 0);
  }

  close(): void {
    this.closedByUser = true;
    this.channel?.close();
  }

  private disposeEmitters(): void {
    this.output.dispose();
    this.ended.dispose();
  }
}
