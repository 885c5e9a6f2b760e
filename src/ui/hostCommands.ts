import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';

import type { ConfiguredHost } from '../core/config/hostResolver';
import {
  appendHostBlock,
  chooseAlias,
  hasHostSetting,
  hostLineIndex,
  hostSettingEntry,
  identityFileProblem,
  parseNewHost,
  renderHostBlock,
  userConfigFile,
  withoutHostSetting,
  type NewHost,
} from '../core/config/managedHosts';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { settings } from '../adapter/settings';
import type { CommandRegistry } from './commands';
import type { CatalogHost, HostCatalog } from './hostCatalog';
import type { RecentFolderItem } from './hostsView';
import type { RecentFolders } from './recentFolders';

export interface HostCommandsContext {
  readonly connections: ConnectionManager;
  readonly catalog: HostCatalog;
  readonly recent: RecentFolders;
  /** The configured aliases with the file each comes from (settings hosts have none). */
  readonly configuredHosts: () => ConfiguredHost[];
  /** The hosts view shows the change (an ssh_config file is not watched). */
  readonly refresh: () => void;
}

/**
 * Add Host, Edit Host, Remove Host and Remove from Recent Folders. Add Host appends a `Host` block to
 * the user's ssh_config (never rewriting it) or adds an entry to the sftpfs.hosts setting; Remove
 * changes only what the extension keeps (the setting, recent folders): an ssh_config host is opened
 * for the user to edit, never changed silently.
 */
export function registerHostCommands(
  commands: CommandRegistry,
  context: HostCommandsContext,
): vscode.Disposable {
  return vscode.Disposable.from(
    commands.register('sftpfs.addHost', (argument: unknown) => addHost(context, authorityOf(argument))),
    commands.register('sftpfs.editHost', async (argument: unknown) => {
      const host = await chosenHost(context, argument, vscode.l10n.t('Pick a host to edit'));
      if (host !== undefined) {
        await editHost(context, host);
      }
    }),
    commands.register('sftpfs.removeHost', async (argument: unknown) => {
      const host = await chosenHost(context, argument, vscode.l10n.t('Pick a host to remove'));
      if (host !== undefined) {
        await removeHost(context, host);
      }
    }),
    commands.register('sftpfs.removeRecentFolder', async (argument: unknown) => {
      const uri = isRecentFolderItem(argument)
        ? argument.uri
        : await vscode.window.showQuickPick(context.recent.list(), {
            placeHolder: vscode.l10n.t('Pick a recent folder to forget'),
          });
      if (uri !== undefined) {
        await context.recent.remove(uri);
      }
    }),
  );
}

function authorityOf(argument: unknown): string | undefined {
  const authority = (argument as { authority?: unknown } | undefined)?.authority;
  return typeof authority === 'string' ? authority : undefined;
}

function isRecentFolderItem(argument: unknown): argument is RecentFolderItem {
  const item = argument as Partial<RecentFolderItem> | undefined;
  return item?.kind === 'recentFolder' && typeof item.uri === 'string';
}

/** The host a command was run on, else one the user picks from the catalog. */
async function chosenHost(
  context: HostCommandsContext,
  argument: unknown,
  placeHolder: string,
): Promise<CatalogHost | undefined> {
  const authority = authorityOf(argument);
  if (authority !== undefined) {
    return context.catalog.host(authority);
  }
  const picked = await vscode.window.showQuickPick(
    context.catalog.hosts().map((host) => ({ label: host.authority, host })),
    { placeHolder },
  );
  return picked?.host;
}

function expandHome(path: string): string {
  return path === '~' ? homedir() : /^~[/\\]/.test(path) ? join(homedir(), path.slice(2)) : path;
}

/** `~/…` for a path in the home folder, for showing. */
function shortPath(path: string): string {
  const home = homedir();
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

async function addHost(context: HostCommandsContext, prefill: string | undefined): Promise<void> {
  const title = vscode.l10n.t('Add Host');
  const typed = await vscode.window.showInputBox({
    title: `${title} (1/3)`,
    prompt: vscode.l10n.t('The server: host, user@host or user@host:port'),
    placeHolder: 'user@example.com:22',
    ignoreFocusOut: true,
    ...(prefill === undefined ? {} : { value: prefill }),
    validateInput: (value) => {
      if (value.trim() === '') {
        return undefined;
      }
      const parsed = parseNewHost(value);
      return parsed.ok ? undefined : parsed.problem;
    },
  });
  const server = typed === undefined || typed.trim() === '' ? undefined : parseNewHost(typed);
  if (server === undefined || !server.ok) {
    return;
  }
  const keyFile = await vscode.window.showInputBox({
    title: `${title} (2/3)`,
    prompt: vscode.l10n.t(
      'A private key file to log in with (optional: leave empty to use the SSH agent and the default keys)',
    ),
    placeHolder: '~/.ssh/id_ed25519',
    ignoreFocusOut: true,
    validateInput: (value) => {
      const path = value.trim();
      if (path === '') {
        return undefined;
      }
      const problem = identityFileProblem(path);
      if (problem !== undefined) {
        return problem;
      }
      const local = expandHome(path);
      return isAbsolute(local) && !existsSync(local)
        ? {
            message: vscode.l10n.t('There is no file at {0} on this machine (yet)', path),
            severity: vscode.InputBoxValidationSeverity.Warning,
          }
        : undefined;
    },
  });
  if (keyFile === undefined) {
    return;
  }
  const host: NewHost = {
    host: server.host,
    user: server.user,
    port: server.port,
    identityFile: keyFile.trim() === '' ? undefined : keyFile.trim(),
  };
  const configFile = userConfigFile(settings.sshConfigFile(), homedir());
  const where = await vscode.window.showQuickPick(
    [
      {
        label: `$(file) ${vscode.l10n.t('SSH config file')}`,
        description: shortPath(configFile),
        detail: vscode.l10n.t('A Host block is added at the end of the file; ssh and other tools see it too'),
        target: 'sshConfig' as const,
      },
      {
        label: `$(settings-gear) ${vscode.l10n.t('Settings')}`,
        description: 'sftpfs.hosts',
        detail: vscode.l10n.t('An entry in your user settings; only this extension sees it'),
        target: 'settings' as const,
      },
    ],
    { title: `${title} (3/3)`, placeHolder: vscode.l10n.t('Where to keep the host'), ignoreFocusOut: true },
  );
  if (where === undefined) {
    return;
  }
  const hostsSetting = globalHosts();
  const names = hostsSetting.flatMap((entry) => {
    const name = (entry as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? [name] : [];
  });
  const alias = chooseAlias(host.host, [...context.configuredHosts().map((known) => known.alias), ...names]);
  let place: string;
  if (where.target === 'sshConfig') {
    appendHostBlock(configFile, renderHostBlock(alias, host));
    place = shortPath(configFile);
  } else {
    await vscode.workspace
      .getConfiguration('sftpfs')
      .update('hosts', [...hostsSetting, hostSettingEntry(alias, host)], vscode.ConfigurationTarget.Global);
    place = vscode.l10n.t('the setting sftpfs.hosts');
  }
  context.refresh();
  const open = vscode.l10n.t('Open Remote Folder');
  void vscode.window
    .showInformationMessage(vscode.l10n.t('Added the host {0} to {1}.', alias, place), open)
    .then((choice) => {
      if (choice === open) {
        void vscode.commands.executeCommand('sftpfs.openFolder', { authority: alias });
      }
    });
}

/** The setting's entries as the user's settings have them (not merged with defaults). */
function globalHosts(): unknown[] {
  const value = vscode.workspace.getConfiguration('sftpfs').inspect<unknown>('hosts')?.globalValue;
  return Array.isArray(value) ? value : [];
}

async function editHost(context: HostCommandsContext, host: CatalogHost): Promise<void> {
  if (host.origin === 'sshConfig' && host.configFile !== undefined) {
    await openConfigAt(host.configFile, host.alias ?? host.authority);
    return;
  }
  if (host.origin === 'settings') {
    await vscode.commands.executeCommand('workbench.action.openSettingsJson');
    const editor = vscode.window.activeTextEditor;
    if (editor !== undefined) {
      const text = editor.document.getText();
      const name = JSON.stringify(host.alias ?? host.authority);
      const at = [new RegExp(`"name"\\s*:\\s*${escapeRegExp(name)}`), /"sftpfs\.hosts"/]
        .map((pattern) => pattern.exec(text)?.index)
        .find((index) => index !== undefined);
      if (at !== undefined) {
        const position = editor.document.positionAt(at);
        editor.selection = new vscode.Selection(position, position);
        editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenter);
      }
    }
    return;
  }
  const add = vscode.l10n.t('Add Host');
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t(
      '{0} was typed, not configured: there is nothing to edit. Add Host keeps it in your SSH config or the settings.',
      host.authority,
    ),
    add,
  );
  if (choice === add) {
    await addHost(context, host.authority);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function openConfigAt(file: string, alias: string): Promise<void> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const line = hostLineIndex(document.getText(), alias) ?? 0;
  const range = new vscode.Range(line, 0, line, document.lineAt(line).text.length);
  await vscode.window.showTextDocument(document, { selection: range });
}

async function removeHost(context: HostCommandsContext, host: CatalogHost): Promise<void> {
  const forgetRecent = (): Promise<number> =>
    context.recent.removeHost((authority) => {
      try {
        return context.connections.keyOf(authority) === host.authority;
      } catch {
        return false;
      }
    });
  if (host.origin === 'settings') {
    const alias = host.alias ?? host.authority;
    const remove = vscode.l10n.t('Remove');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('Remove the host {0} from the setting sftpfs.hosts?', alias),
      { modal: true, detail: vscode.l10n.t('Its recent folders are forgotten too.') },
      remove,
    );
    if (choice !== remove) {
      return;
    }
    const hosts = globalHosts();
    if (hasHostSetting(hosts, alias)) {
      await vscode.workspace
        .getConfiguration('sftpfs')
        .update('hosts', withoutHostSetting(hosts, alias), vscode.ConfigurationTarget.Global);
    }
    await forgetRecent();
    context.refresh();
    return;
  }
  const forgotten = await forgetRecent();
  context.refresh();
  if (
    host.origin === 'open' ||
    (host.origin === 'recent' && context.catalog.host(host.authority) !== undefined)
  ) {
    void vscode.window.showInformationMessage(
      forgotten === 0
        ? vscode.l10n.t(
            '{0} is not kept anywhere: it is listed while it is connected or in this workspace.',
            host.authority,
          )
        : vscode.l10n.t(
            'Forgot the recent folders of {0}; it is listed while it is connected or in this workspace.',
            host.authority,
          ),
    );
    return;
  }
  if (host.origin === 'sshConfig' && host.configFile !== undefined) {
    const file = host.configFile;
    const open = vscode.l10n.t('Open {0}', shortPath(file));
    const choice = await vscode.window.showInformationMessage(
      vscode.l10n.t(
        '{0} is defined in {1}, which this extension does not change: remove its Host block there to remove the host.',
        host.alias ?? host.authority,
        shortPath(file),
      ),
      open,
    );
    if (choice === open) {
      await openConfigAt(file, host.alias ?? host.authority);
    }
  }
}
