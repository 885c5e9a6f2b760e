import * as vscode from 'vscode';

import { SftpFileSystemProvider } from './adapter/fileSystemProvider';
import { OutputChannelLogger } from './adapter/logOutputChannel';
import { settings } from './adapter/settings';
import { SFTP_SCHEME } from './adapter/uri';
import { ConnectionManager } from './core/connection/connectionManager';
import { resolveHost } from './core/config/hostResolver';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The one place where the pieces are wired together. */
export function activate(context: vscode.ExtensionContext): void {
  const logger = new OutputChannelLogger('SFTP');
  context.subscriptions.push(logger);

  const connections = new ConnectionManager({
    logger,
    resolveHost: (authority) => {
      const extra = settings.sshConfigFile();
      const configFiles = [
        ...(extra === undefined ? [] : [extra]),
        join(homedir(), '.ssh', 'config'),
        '/etc/ssh/ssh_config',
      ];
      return resolveHost(authority, { configFiles });
    },
    fileSystem: {
      get maxReadFileBytes() {
        return settings.maxReadFileBytes();
      },
    },
  });
  context.subscriptions.push({ dispose: () => connections.dispose() });

  const provider = new SftpFileSystemProvider(connections);
  context.subscriptions.push(
    provider,
    vscode.workspace.registerFileSystemProvider(SFTP_SCHEME, provider, { isCaseSensitive: true }),
    vscode.commands.registerCommand('sftpfs.showLog', () => logger.channel.show()),
  );
  logger.info(`SFTP Remote Filesystem ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
