import * as vscode from 'vscode';

import { errorMessage } from '../core/common/errors';
import { joinRemote, normalizeRemotePath, parentOf } from '../core/common/remotePath';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { sftpUri } from '../adapter/uri';
import type { HostCatalog } from './hostCatalog';
import type { RecentFolders } from './recentFolders';

interface Destination {
  readonly authority: string;
  /** A folder to open directly (a recent folder, or a path typed after the host). */
  readonly path?: string;
}

type HostItem = vscode.QuickPickItem & { destination?: Destination };
type FolderItem = vscode.QuickPickItem & { open?: true; path?: string };

/**
 * Open Remote Folder and Add Remote Folder to Workspace: a host (configured, recent, or typed as
 * `user@host[:port][/path]`), then a folder chosen by browsing the server. Answers the folder's URI.
 */
export async function pickRemoteFolder(
  connections: ConnectionManager,
  catalog: HostCatalog,
  recent: RecentFolders,
  title: string,
  preselectedAuthority?: string,
): Promise<vscode.Uri | undefined> {
  const destination =
    preselectedAuthority === undefined
      ? await pickHost(connections, catalog, recent, title)
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

function pickHost(
  connections: ConnectionManager,
  catalog: HostCatalog,
  recent: RecentFolders,
  title: string,
): Promise<Destination | undefined> {
  const pick = vscode.window.createQuickPick<HostItem>();
  pick.title = title;
  // Two steps with the network in between: a click elsewhere (or a page opening) must not lose them.
  pick.ignoreFocusOut = true;
  pick.placeholder = vscode.l10n.t('Pick a host or a recent folder, or type user@host[:port][/path]');
  pick.matchOnDescription = true;
  const fixed: HostItem[] = [];
  const recentFolders = recent.list().flatMap((text) => {
    const uri = vscode.Uri.parse(text);
    return uri.authority === '' ? [] : [{ uri, label: `$(history) ${uri.authority}${uri.path}` }];
  });
  if (recentFolders.length > 0) {
    fixed.push({ label: vscode.l10n.t('Recent folders'), kind: vscode.QuickPickItemKind.Separator });
    fixed.push(
      ...recentFolders.map(({ uri, label }) => ({
        label,
        destination: { authority: uri.authority, path: uri.path },
      })),
    );
  }
  fixed.push({ label: vscode.l10n.t('Hosts'), kind: vscode.QuickPickItemKind.Separator });
  fixed.push(
    ...catalog.hosts().map((host) => ({
      label: `$(${host.state === 'connected' ? 'vm-active' : 'vm'}) ${host.authority}`,
      description: host.state === 'connected' ? vscode.l10n.t('connected') : '',
      destination: { authority: host.authority },
    })),
  );
  pick.items = fixed;
  return new Promise((resolve) => {
    const typed = (value: string): HostItem | undefined => {
      const text = value.trim();
      if (text === '' || /\s/.test(text)) {
        return undefined;
      }
      const slash = text.indexOf('/');
      const authority = slash === -1 ? text : text.slice(0, slash);
      try {
        connections.keyOf(authority);
      } catch {
        return undefined;
      }
      return {
        label: `$(plug) ${text}`,
        description: vscode.l10n.t('connect to this host'),
        alwaysShow: true,
        destination: slash === -1 ? { authority } : { authority, path: text.slice(slash) },
      };
    };
    pick.onDidChangeValue((value) => {
      const item = typed(value);
      pick.items = item === undefined ? fixed : [item, ...fixed];
    });
    pick.onDidAccept(() => {
      const chosen = pick.selectedItems[0]?.destination;
      if (chosen !== undefined) {
        resolve(chosen);
        pick.hide();
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
  const show = async (typedPath: string): Promise<void> => {
    pick.busy = true;
    pick.enabled = false;
    try {
      // A typed path may be relative or hold a NUL: that fails here, as a message, like a listing error.
      const path = normalizeRemotePath(typedPath);
      const entries = await fs.readDirectory(path);
      current = path;
      pick.value = '';
      pick.title = `${title}: ${authority}${path}`;
      const folders = entries
        .filter(([, type]) => type.kind === 'directory')
        .map(([name]) => name)
        .sort((a, b) => a.localeCompare(b));
      pick.items = [
        { label: `$(check) ${vscode.l10n.t('Open {0}', path)}`, open: true, alwaysShow: true },
        ...(path === '/' ? [] : [{ label: '$(arrow-up) ..', path: parentOf(path), alwaysShow: true }]),
        ...folders.map((name) => ({ label: `$(folder) ${name}`, path: joinRemote(path, name) })),
      ];
    } catch (error) {
      void vscode.window.showErrorMessage(
        vscode.l10n.t('Cannot list {0}: {1}', typedPath, errorMessage(error)),
      );
    } finally {
      pick.busy = false;
      pick.enabled = true;
    }
  };
  // Handlers first: the user may close the picker while the first listing is still on its way.
  const chosen = new Promise<string | undefined>((resolve) => {
    pick.onDidAccept(() => {
      const typed = pick.value.trim();
      const selected = pick.selectedItems[0];
      if (typed.startsWith('/') && selected?.label.includes(typed) !== true) {
        void show(typed);
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
  try {
    await show(await fs.homeFolder());
    if (pick.items.length === 0) {
      await show('/');
    }
  } catch (error) {
    pick.hide();
    void vscode.window.showErrorMessage(
      vscode.l10n.t('Cannot connect to {0}: {1}', authority, errorMessage(error)),
    );
  }
  return chosen;
}
