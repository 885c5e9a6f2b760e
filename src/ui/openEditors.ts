import * as vscode from 'vscode';

import { SFTP_SCHEME, remotePathOf } from '../adapter/uri';
import type { WatchService } from '../core/watch/watchService';

/**
 * Tells the watch service which remote files are open in editor tabs, so polling checks them first
 * and on their own clock: VS Code watches the workspace folder as a whole and does not say which of
 * its files the user is looking at.
 */
export function followOpenEditors(watches: WatchService): vscode.Disposable {
  let hosts = new Set<string>();
  const update = (): void => {
    const byHost = new Map<string, string[]>();
    for (const uri of vscode.window.tabGroups.all.flatMap((group) => group.tabs).flatMap(tabUris)) {
      if (uri.scheme === SFTP_SCHEME) {
        byHost.set(uri.authority, [...(byHost.get(uri.authority) ?? []), remotePathOf(uri)]);
      }
    }
    for (const authority of hosts) {
      if (!byHost.has(authority)) {
        watches.setOpenFiles(authority, []);
      }
    }
    for (const [authority, paths] of byHost) {
      watches.setOpenFiles(authority, paths);
    }
    hosts = new Set(byHost.keys());
  };
  update();
  return vscode.window.tabGroups.onDidChangeTabs(update);
}

function tabUris(tab: vscode.Tab): vscode.Uri[] {
  const input = tab.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) {
    return [input.uri];
  }
  if (input instanceof vscode.TabInputTextDiff) {
    return [input.original, input.modified];
  }
  if (input instanceof vscode.TabInputNotebook) {
    return [input.uri];
  }
  return [];
}
