import * as vscode from 'vscode';

import type { ConnectionManager } from '../core/connection/connectionManager';
import { sftpUri } from '../adapter/uri';
import { remoteWorkspaceFolders } from './targets';

const KEY = 'sftpfs.recentFolders';
/** Folders picked through our commands whose window has not connected yet (shared by windows). */
const PENDING_KEY = 'sftpfs.pendingRecentFolders';
const KEEP = 20;

/**
 * Remote folders opened through our commands, newest first, kept across sessions (no secrets in
 * them). A picked folder is only pending until the window showing it has connected and found it to be
 * a folder (recordOpenedFolders): a mistyped host or path never becomes recent.
 */
export class RecentFolders implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  list(): string[] {
    return this.state.get<string[]>(KEY, []);
  }

  async add(uri: vscode.Uri): Promise<void> {
    const text = uri.toString();
    await this.update([text, ...this.list().filter((known) => known !== text)].slice(0, KEEP));
  }

  /** Remembers that `uri` was picked: it becomes recent once it is open and its host connected. */
  async picked(uri: vscode.Uri): Promise<void> {
    const text = uri.toString();
    const pending = this.state.get<string[]>(PENDING_KEY, []).filter((known) => known !== text);
    await this.state.update(PENDING_KEY, [text, ...pending].slice(0, KEEP));
  }

  /** Whether `uri` was picked and has not been recorded yet. */
  isPending(uri: vscode.Uri): boolean {
    return this.state.get<string[]>(PENDING_KEY, []).includes(uri.toString());
  }

  /** Records a picked folder that opened: it leaves the pending list and heads the recent folders. */
  async opened(uri: vscode.Uri): Promise<void> {
    const text = uri.toString();
    await this.state.update(
      PENDING_KEY,
      this.state.get<string[]>(PENDING_KEY, []).filter((known) => known !== text),
    );
    await this.add(uri);
  }

  /** Forgets one recent folder (its URI text as `list` gives it). */
  async remove(text: string): Promise<void> {
    await this.update(this.list().filter((known) => known !== text));
  }

  /** Forgets every recent folder whose host is `isHost`; answers how many were forgotten. */
  async removeHost(isHost: (authority: string) => boolean): Promise<number> {
    const before = this.list();
    const kept = before.filter((text) => !isHost(vscode.Uri.parse(text).authority));
    await this.update(kept);
    return before.length - kept.length;
  }

  dispose(): void {
    this.changed.dispose();
  }

  private async update(list: string[]): Promise<void> {
    await this.state.update(KEY, list);
    this.changed.fire();
  }
}

/**
 * Records the window's remote folders that were picked through our commands as recent once they are
 * open: when their host is connected and a stat finds a folder there (at start, when a host connects,
 * when folders are added). Folders opened otherwise (a URL, VS Code's own recent list) are left to
 * VS Code's recent list.
 */
export function recordOpenedFolders(
  connections: ConnectionManager,
  recent: RecentFolders,
): vscode.Disposable {
  const recorded = new Set<string>();
  const record = async (): Promise<void> => {
    for (const folder of remoteWorkspaceFolders()) {
      let key: string;
      try {
        key = connections.keyOf(folder.uri.authority);
      } catch {
        continue; // a malformed authority is reported when VS Code reads the folder
      }
      const uri = sftpUri(key, folder.uri.path === '' ? '/' : folder.uri.path);
      if (recorded.has(uri.toString()) || connections.state(key) !== 'connected' || !recent.isPending(uri)) {
        continue;
      }
      try {
        const stat = await connections.fileSystem(key).stat(uri.path);
        if (stat.type.kind === 'directory' && !recorded.has(uri.toString())) {
          recorded.add(uri.toString());
          await recent.opened(uri);
        }
      } catch {
        // not there or not readable: not a folder that opened
      }
    }
  };
  const soon = (): void => void record();
  soon();
  const states = connections.onDidChangeState((change) => {
    if (change.state === 'connected') {
      soon();
    }
  });
  return vscode.Disposable.from(vscode.workspace.onDidChangeWorkspaceFolders(soon), {
    dispose: () => states.dispose(),
  });
}
