import * as vscode from 'vscode';

import { errorMessage, isRemoteFsError } from '../core/common/errors';
import { joinRemote, normalizeRemotePath, parentOf } from '../core/common/remotePath';
import { parseTypedLocation } from '../core/config/typedLocation';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { sftpUri } from '../adapter/uri';
import type { ConnectionFailureNotices } from './connectionFailures';
import type { HostCatalog } from './hostCatalog';
import type { RecentFolders } from './recentFolders';

interface Destination {
  readonly authority: string;
  /** A folder to open directly (a recent folder, or a path typed after the host). */
  readonly path?: string;
}

/** An item that says what is wrong with what was typed or chosen; accepting it does nothing. */
interface ProblemItem extends vscode.QuickPickItem {
  problem: true;
}
type HostItem =
  (vscode.QuickPickItem & { destination?: Destination; problem?: false; recent?: string }) | ProblemItem;
type FolderItem = (vscode.QuickPickItem & { open?: true; path?: string; problem?: false }) | ProblemItem;

/**
 * Open Remote Folder and Add Remote Folder to Workspace: a host (configured, recent, or typed as an
 * sftp:// address, user@host:port/path, host:/path or an alias), then a folder chosen by browsing the
 * server. Nothing is answered until the connection works and the folder exists and is a folder: what is
 * wrong is said in the picker, where the user can fix it. Answers the folder's URI.
 */
export async function pickRemoteFolder(
  connections: ConnectionManager,
  notices: ConnectionFailureNotices,
  catalog: HostCatalog,
  recent: RecentFolders,
  title: string,
  preselectedAuthority?: string,
): Promise<vscode.Uri | undefined> {
  const destination =
    preselectedAuthority === undefined
      ? await pickHost(connections, notices, catalog, recent, title)
      : { authority: preselectedAuthority };
  if (destination === undefined) {
    return undefined;
  }
  if (destination.path !== undefined) {
    return sftpUri(destination.authority, destination.path);
  }
  const path = await browseFolders(connections, destination.authority, title);
  return path === undefined ? undefined : sftpUri(destination.authority, path);
}

function problemItem(text: string, showLog: boolean): ProblemItem {
  return {
    label: `$(error) ${text}`,
    alwaysShow: true,
    problem: true,
    ...(showLog
      ? { buttons: [{ iconPath: new vscode.ThemeIcon('output'), tooltip: vscode.l10n.t('Show Log') }] }
      : {}),
  };
}

/**
 * Connects (failures are shown here, not as a notification) and, when a path was given, checks that
 * it is a folder. Answers what is wrong, in words, or undefined when the destination can be opened.
 */
async function checkDestination(
  connections: ConnectionManager,
  notices: ConnectionFailureNotices,
  destination: Destination,
): Promise<string | undefined> {
  const { authority, path } = destination;
  try {
    return await notices.quietly(authority, async () => {
      if (path === undefined) {
        await connections.session(authority);
        return undefined;
      }
      const stat = await connections.fileSystem(authority).stat(path);
      return stat.type.kind === 'directory'
        ? undefined
        : vscode.l10n.t('{0} on {1} is a file, not a folder', path, authority);
    });
  } catch (error) {
    return folderProblem(error, authority, path ?? '/');
  }
}

/** Why a folder cannot be opened or listed, in words. */
function folderProblem(error: unknown, authority: string, path: string): string {
  if (isRemoteFsError(error, 'ENOENT')) {
    return vscode.l10n.t('{0} does not exist on {1}', path, authority);
  }
  if (isRemoteFsError(error, 'ENOTDIR')) {
    return vscode.l10n.t('{0} on {1} is not a folder (or a part of the path is a file)', path, authority);
  }
  if (isRemoteFsError(error, 'EACCES')) {
    return vscode.l10n.t('{0} on {1} cannot be read: permission denied', path, authority);
  }
  if (isRemoteFsError(error, 'EINVAL')) {
    return vscode.l10n.t('{0} is not a valid remote path: {1}', path, errorMessage(error));
  }
  return errorMessage(error);
}

function pickHost(
  connections: ConnectionManager,
  notices: ConnectionFailureNotices,
  catalog: HostCatalog,
  recent: RecentFolders,
  title: string,
): Promise<Destination | undefined> {
  const pick = vscode.window.createQuickPick<HostItem>();
  pick.title = title;
  // Two steps with the network in between: a click elsewhere (or a page opening) must not lose them.
  pick.ignoreFocusOut = true;
  pick.placeholder = vscode.l10n.t(
    'Pick a host or a recent folder, or type sftp://host/path, user@host:port/path or host:/path',
  );
  pick.matchOnDescription = true;
  let fixed: HostItem[] = [];
  const forget: vscode.QuickInputButton = {
    iconPath: new vscode.ThemeIcon('close'),
    tooltip: vscode.l10n.t('Remove from Recent Folders'),
  };
  const listed = (): HostItem[] => {
    const items: HostItem[] = [];
    const recentFolders = recent.list().flatMap((text) => {
      const uri = vscode.Uri.parse(text);
      return uri.authority === '' ? [] : [{ text, uri, label: `$(history) ${uri.authority}${uri.path}` }];
    });
    if (recentFolders.length > 0) {
      items.push({ label: vscode.l10n.t('Recent folders'), kind: vscode.QuickPickItemKind.Separator });
      items.push(
        ...recentFolders.map(({ text, uri, label }) => ({
          label,
          destination: { authority: uri.authority, path: uri.path },
          recent: text,
          buttons: [forget],
        })),
      );
    }
    items.push({ label: vscode.l10n.t('Hosts'), kind: vscode.QuickPickItemKind.Separator });
    items.push(
      ...catalog.hosts().map((host) => ({
        label: `$(${host.state === 'connected' ? 'vm-active' : 'vm'}) ${host.authority}`,
        description: host.state === 'connected' ? vscode.l10n.t('connected') : '',
        destination: { authority: host.authority },
      })),
    );
    return items;
  };
  fixed = listed();
  pick.items = fixed;
  /** What the typed text is: a destination to offer, or a problem to show; nothing when empty. */
  const typed = (value: string): HostItem | undefined => {
    if (value.trim() === '') {
      return undefined;
    }
    const location = parseTypedLocation(value);
    if (!location.ok) {
      return problemItem(location.problem, false);
    }
    return {
      label: `$(plug) ${location.authority}${location.path ?? ''}`,
      description: vscode.l10n.t('connect to this host'),
      alwaysShow: true,
      destination:
        location.path === undefined
          ? { authority: location.authority }
          : { authority: location.authority, path: location.path },
    };
  };
  return new Promise((resolve) => {
    let checking = false;
    const show = (first: HostItem | undefined): void => {
      pick.items = first === undefined ? fixed : [first, ...fixed];
    };
    pick.onDidChangeValue((value) => show(typed(value)));
    pick.onDidTriggerItemButton(async ({ item }) => {
      if (item.problem !== true && item.recent !== undefined) {
        await recent.remove(item.recent);
        fixed = listed();
        show(typed(pick.value));
        return;
      }
      notices.showLog();
    });
    pick.onDidAccept(async () => {
      // Enter may come before the items caught up with the typing: what was typed is then used.
      const selected = pick.selectedItems[0] ?? typed(pick.value);
      if (selected?.problem === true) {
        show(selected);
      }
      if (checking || selected === undefined || selected.problem === true) {
        return;
      }
      const chosen = selected.destination;
      if (chosen === undefined) {
        return;
      }
      checking = true;
      pick.busy = true;
      pick.enabled = false;
      pick.title = vscode.l10n.t('{0}: connecting to {1}…', title, chosen.authority);
      const problem = await checkDestination(connections, notices, chosen);
      checking = false;
      pick.busy = false;
      pick.enabled = true;
      pick.title = title;
      if (problem === undefined) {
        resolve(chosen);
        pick.hide();
      } else {
        show(problemItem(problem, true));
      }
    });
    pick.onDidHide(() => {
      resolve(undefined);
      pick.dispose();
    });
    pick.show();
  });
}

/** A quick pick that walks the server's folders, starting in the account's home. */
async function browseFolders(
  connections: ConnectionManager,
  authority: string,
  title: string,
): Promise<string | undefined> {
  const fs = connections.fileSystem(authority);
  const pick = vscode.window.createQuickPick<FolderItem>();
  pick.title = `${title}: ${authority}`;
  pick.ignoreFocusOut = true;
  pick.placeholder = vscode.l10n.t('Pick a folder to go into it, or type an absolute path');
  pick.busy = true;
  pick.show();
  let current = '/';
  let listed: FolderItem[] = [];
  const showProblem = (text: string): void => {
    pick.items = [problemItem(text, false), ...listed];
  };
  const show = async (typedPath: string, quietFailure = false): Promise<void> => {
    pick.busy = true;
    pick.enabled = false;
    try {
      const path = normalizeRemotePath(typedPath);
      const entries = await fs.readDirectory(path);
      current = path;
      pick.value = '';
      pick.title = `${title}: ${authority}${path}`;
      const folders = entries
        .filter(([, type]) => type.kind === 'directory')
        .map(([name]) => name)
        .sort((a, b) => a.localeCompare(b));
      listed = [
        { label: `$(check) ${vscode.l10n.t('Open {0}', path)}`, open: true, alwaysShow: true },
        ...(path === '/' ? [] : [{ label: '$(arrow-up) ..', path: parentOf(path), alwaysShow: true }]),
        ...folders.map((name) => ({ label: `$(folder) ${name}`, path: joinRemote(path, name) })),
      ];
      pick.items = listed;
    } catch (error) {
      if (quietFailure) {
        throw error;
      }
      showProblem(folderProblem(error, authority, typedPath));
    } finally {
      pick.busy = false;
      pick.enabled = true;
    }
  };
  // Handlers first: the user may close the picker while the first listing is still on its way.
  const chosen = new Promise<string | undefined>((resolve) => {
    pick.onDidChangeValue(() => {
      if (pick.items[0]?.problem === true) {
        pick.items = listed;
      }
    });
    pick.onDidAccept(() => {
      const typed = pick.value.trim();
      const selected = pick.selectedItems[0];
      if (selected?.problem === true) {
        return;
      }
      const selectedMatches = selected?.label.toLowerCase().includes(typed.toLowerCase()) === true;
      const isFolder = selected?.path !== undefined && selected.alwaysShow !== true;
      if (typed.startsWith('/') && !selectedMatches) {
        void show(typed);
      } else if (isFolder && selected.path !== undefined) {
        void show(selected.path);
      } else if (typed !== '' && !selectedMatches) {
        // Without this, Enter on a relative path would open the folder already shown.
        showProblem(
          vscode.l10n.t(
            '"{0}" is not an absolute path: type a path that starts with /, or pick a folder',
            typed,
          ),
        );
      } else if (selected?.open === true) {
        resolve(current);
        pick.hide();
      } else if (selected?.path !== undefined) {
        void show(selected.path);
      }
    });
    pick.onDidHide(() => {
      resolve(undefined);
      pick.dispose();
    });
  });
  let home: string;
  try {
    home = await fs.homeFolder();
  } catch {
    // A connection that fails here is reported once, by connectionFailures.ts.
    pick.hide();
    return chosen;
  }
  await show(home, true).catch(() => show('/'));
  return chosen;
}
