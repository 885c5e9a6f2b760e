import * as vscode from 'vscode';

import type { ConnectionManager, ConnectionState } from '../core/connection/connectionManager';
import type { RecentFolders } from './recentFolders';

export interface CatalogHost {
  /** The URI authority: an ssh_config alias, or `user@host:port` as typed. */
  readonly authority: string;
  readonly state: ConnectionState;
  /** Where the host came from, shown next to it. */
  readonly origin: 'config' | 'recent' | 'open';
}

/**
 * Every host the user may mean: the concrete aliases of ssh_config and the hosts setting, those of
 * recent folders, and any the connection manager knows (a folder opened by URI). One list, so the
 * hosts view and the Open Remote Folder picker agree.
 */
export class HostCatalog {
  constructor(
    private readonly connections: ConnectionManager,
    private readonly configuredHosts: () => string[],
    private readonly recent: RecentFolders,
  ) {}

  hosts(): CatalogHost[] {
    const byKey = new Map<string, CatalogHost>();
    const add = (authority: string, origin: CatalogHost['origin']): void => {
      let key: string;
      try {
        key = this.connections.keyOf(authority);
      } catch {
        return; // not a valid authority (a stale entry): skip it
      }
      if (!byKey.has(key)) {
        byKey.set(key, { authority: key, state: this.connections.state(key), origin });
      }
    };
    for (const alias of this.configuredHosts()) {
      add(alias, 'config');
    }
    for (const folder of this.recent.list()) {
      add(vscode.Uri.parse(folder).authority, 'recent');
    }
    for (const known of this.connections.knownHosts()) {
      add(known.authority, 'open');
    }
    return [...byKey.values()];
  }
}
