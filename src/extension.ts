import { homedir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';

import { VsCodeCredentialPrompts } from './adapter/credentialPrompts';
import { SftpFileSystemProvider } from './adapter/fileSystemProvider';
import { OutputChannelLogger } from './adapter/logOutputChannel';
import { settings } from './adapter/settings';
import { SFTP_SCHEME } from './adapter/uri';
import { resolveHost } from './core/config/hostResolver';
import { hostsToConfig } from './core/config/settingsHosts';
import { ConnectionManager } from './core/connection/connectionManager';
import { showConnectionFailures } from './ui/connectionFailures';
import { showSaveNotices } from './ui/saveNotices';

/** The one place where the pieces are wired together. */
export function activate(context: vscode.ExtensionContext): void {
  const logger = new OutputChannelLogger('SFTP');
  context.subscriptions.push(logger);
  const prompts = new VsCodeCredentialPrompts(context.secrets, context.globalState, logger);

  const connections = new ConnectionManager({
    logger,
    prompts,
    resolveHost: (authority) => {
      const extra = settings.sshConfigFile();
      return resolveHost(authority, {
        configFiles: [
          ...(extra === undefined ? [] : [extra]),
          join(homedir(), '.ssh', 'config'),
          '/etc/ssh/ssh_config',
        ],
        leadingConfig: hostsToConfig(settings.hosts()),
        allowMatchExec: settings.allowMatchExec(),
      });
    },
    fileSystem: {
      get maxReadFileBytes() {
        return settings.maxReadFileBytes();
      },
    },
    session: {
      get stallTimeoutMs() {
        return settings.stallTimeoutMs();
      },
    },
    lifecycle: { idleTimeoutMs: settings.idleTimeoutMs() },
  });
  context.subscriptions.push({ dispose: () => connections.dispose() });
  connections.onDidChangeState((change) =>
    logger.info(
      `${change.authority}: ${change.state}${change.error === undefined ? '' : ` (${change.error})`}`,
    ),
  );

  const provider = new SftpFileSystemProvider(connections);
  context.subscriptions.push(
    provider,
    vscode.workspace.registerFileSystemProvider(SFTP_SCHEME, provider, { isCaseSensitive: true }),
    vscode.commands.registerCommand('sftpfs.showLog', () => logger.channel.show()),
    showConnectionFailures(connections, () => logger.channel.show()),
    showSaveNotices(connections),
    vscode.commands.registerCommand('sftpfs.forgetCredentials', async () => {
      const count = await prompts.forgetAll();
      void vscode.window.showInformationMessage(
        vscode.l10n.t('Forgot {0} saved password(s) and passphrase(s).', count),
      );
    }),
  );
  logger.info(`SFTP Remote Filesystem ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
