import { homedir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';

import { VsCodeCredentialPrompts } from './adapter/credentialPrompts';
import { SftpFileSystemProvider } from './adapter/fileSystemProvider';
import { OutputChannelLogger } from './adapter/logOutputChannel';
import { settings } from './adapter/settings';
import { SFTP_SCHEME } from './adapter/uri';
import {
  defaultConfigFiles,
  listConfiguredHostSources,
  resolveHost,
  type HostResolverOptions,
} from './core/config/hostResolver';
import { userConfigFile } from './core/config/managedHosts';
import { usableHostsToConfig } from './core/config/settingsHosts';
import { ConnectionManager } from './core/connection/connectionManager';
import { WatchService } from './core/watch/watchService';
import { registerConnectionCommands } from './ui/connectionCommands';
import { maintainContextKeys } from './ui/contextKeys';
import { CommandRegistry } from './ui/commands';
import { ConnectionFailureNotices } from './ui/connectionFailures';
import { showConnectionProgress } from './ui/connectionProgress';
import { registerFolderCommands } from './ui/folderCommands';
import { registerGitCommands } from './ui/gitCommands';
import { GitRepositories } from './ui/gitRepositories';
import { HostCatalog } from './ui/hostCatalog';
import { registerHostCommands } from './ui/hostCommands';
import { HostsView } from './ui/hostsView';
import { showProgressWhenSlow } from './ui/longOperations';
import { RecentFolders, recordOpenedFolders } from './ui/recentFolders';
import { registerTerminalCommand } from './ui/remoteTerminal';
import { registerRootEditing } from './ui/rootEditing';
import { showRootIndicator } from './ui/rootIndicator';
import { showSaveNotices } from './ui/saveNotices';
import { showWatchNotices } from './ui/watchNotices';
import { followOpenEditors } from './ui/openEditors';
import { HostSettingProblems, followSettingChanges } from './ui/settingsChanges';
import { registerSearchCommands } from './ui/searchCommands';
import { showConnectionStatus } from './ui/statusBar';
import { registerTransferCommands } from './ui/transferCommands';

/** The one place where the pieces are wired together. */
export function activate(context: vscode.ExtensionContext): void {
  const logger = new OutputChannelLogger('SFTP');
  context.subscriptions.push(logger);
  const prompts = new VsCodeCredentialPrompts(context.secrets, context.globalState, logger);

  const hostProblems = new HostSettingProblems(logger);
  const sshConfig = (): HostResolverOptions => {
    const extra = settings.sshConfigFile();
    const fromSettings = usableHostsToConfig(settings.hosts());
    hostProblems.report(fromSettings.problems);
    return {
      // `~` expanded, as Add Host writes to the same file.
      configFiles: [
        ...(extra === undefined ? [] : [userConfigFile(extra, homedir())]),
        ...defaultConfigFiles(homedir()),
      ],
      leadingConfig: fromSettings.text,
      allowMatchExec: settings.allowMatchExec(),
    };
  };
  const connections = new ConnectionManager({
    logger,
    prompts,
    get readerThreadScript() {
      return settings.readerThread() ? join(context.extensionPath, 'dist', 'readerThread.js') : undefined;
    },
    resolveHost: (authority) => resolveHost(authority, sshConfig()),
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
    lifecycle: {
      get idleTimeoutMs() {
        return settings.idleTimeoutMs();
      },
    },
  });
  context.subscriptions.push({ dispose: () => connections.dispose() });
  connections.onDidChangeState((change) =>
    logger.info(
      `${change.authority}: ${change.state}${change.error === undefined ? '' : ` (${change.error})`}`,
    ),
  );

  const watches = new WatchService(connections, logger, {
    intervalMs: () => settings.watchIntervalMs(),
    maxEntries: () => settings.watchMaxEntries(),
    useInotify: () => settings.watchWithInotify(),
  });
  context.subscriptions.push({ dispose: () => watches.dispose() });
  const provider = new SftpFileSystemProvider(connections, watches, showProgressWhenSlow);
  const recent = new RecentFolders(context.globalState);
  const configuredHosts = () => listConfiguredHostSources(sshConfig());
  const catalog = new HostCatalog(connections, configuredHosts, recent);
  const hostsView = new HostsView(catalog, connections, recent);
  const showLog = (): void => logger.channel.show();
  const failures = new ConnectionFailureNotices(connections, showLog);
  // Every command goes through one error policy: a failure is a message with Show Log, never a modal.
  const commands = new CommandRegistry(logger, showLog, (message) => failures.wasShown(message));
  const terminals = registerTerminalCommand(commands, connections, logger);
  context.subscriptions.push(
    recent,
    failures,
    terminals,
    provider,
    hostsView,
    vscode.window.registerTreeDataProvider('sftpfs.hosts', hostsView),
    commands.register('sftpfs.refreshHosts', () => hostsView.refresh()),
    registerFolderCommands(commands, failures, connections, catalog, recent),
    recordOpenedFolders(connections, recent),
    registerHostCommands(commands, {
      connections,
      catalog,
      recent,
      configuredHosts,
      refresh: () => hostsView.refresh(),
    }),
    registerConnectionCommands(commands, connections, (authority) => terminals.terminalsOn(authority)),
    registerSearchCommands(commands, connections, logger),
    registerTransferCommands(commands, connections),
    showConnectionProgress(connections),
    showConnectionStatus(connections),
    maintainContextKeys(connections),
    vscode.workspace.registerFileSystemProvider(SFTP_SCHEME, provider, { isCaseSensitive: true }),
    commands.register('sftpfs.showLog', showLog),
    showSaveNotices(connections),
    registerRootEditing(commands, connections, provider.onDidRefuseAccess, logger),
    showRootIndicator(),
    showWatchNotices(watches),
    followOpenEditors(watches),
    followSettingChanges({
      pollInterval: () => watches.intervalChanged(),
      hosts: () => {
        hostsView.refresh();
        sshConfig(); // reports entries that are left out now
      },
      readerThread: () => {
        if (!settings.readerThread()) {
          connections.closeReaderThreads('the setting sftpfs.readerThread was turned off');
        }
      },
    }),
    commands.register('sftpfs.forgetCredentials', async () => {
      const count = await prompts.forgetAll();
      void vscode.window.showInformationMessage(
        vscode.l10n.t('Forgot {0} saved password(s) and passphrase(s).', count),
      );
    }),
  );
  // Source Control for folders inside a Git work tree on the server (git run there over exec channels).
  const gitRepositories = new GitRepositories(connections, logger, provider.onDidChangeFile);
  context.subscriptions.push(gitRepositories, registerGitCommands(commands, gitRepositories));
  logger.info(`SFTP Remote Filesystem ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
