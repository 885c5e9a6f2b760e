import * as vscode from 'vscode';

import type { ConfiguredHost } from '../core/config/hostResolver';
import type { ConnectionManager, ConnectionState } from '../core/connection/connectionManager';
import type { RecentFolders } from './recentFolders';
import { remoteWorkspaceHosts } from './targets';

export interface CatalogHost {
  /** The URI authority: an ssh_config alias, or `user@host:port` as typed. */
  readonly authority: string;
  readonly state: ConnectionState;
  /**
   * Where the host came from: the sftpfs.hosts setting, an ssh_config file, a recent folder, or only
   * an open connection or workspace folder.
   */
  readonly origin: 'settings' | 'sshConfig' | 'recent' | 'open';
  /** The alias as configured (settings and ssh_config hosts). */
  readonly alias?: string;
  /** The ssh_config file whose `Host` line names it (ssh_config hosts). */
  readonly configFile?: string;
  /** This host's recent folders (their URI texts), newest first. */
  readonly recentFolders: readonly string[];
}

/**
 * Every host the user may mean: the concrete aliases of ssh_config and the hosts setting, those of
 * recent folders, and those in use (connected, or the host of a workspace folder). One list, so the
 * hosts view and the Open Remote Folder picker agree. A typed host that failed is in none of these,
 * so it is not listed.
 */
export class HostCatalog {
  constructor(
    private readonly connections: ConnectionManager,
    private readonly configuredHosts: () => ConfiguredHost[],
    private readonly recent: RecentFolders,
  ) {}

  hosts(): CatalogHost[] {
    const byKey = new Map<string, CatalogHost>();
    const recentByKey = new Map<string, string[]>();
    for (const folder of this.recent.list()) {
      const key = this.keyOf(vscode.Uri.parse(folder).authority);
      if (key !== undefined) {
        recentByKey.set(key, [...(recentByKey.get(key) ?? []), folder]);
      }
    }
    const add = (
      authority: string,
      origin: CatalogHost['origin'],
      source?: { alias: string; file: string | undefined },
    ): void => {
      const key = this.keyOf(authority);
      if (key === undefined || byKey.has(key)) {
        return; // not a valid authority (a stale entry), or listed already
      }
      byKey.set(key, {
        authority: key,
        state: this.connections.state(key),
        origin,
        ...(source === undefined ? {} : { alias: source.alias }),
        ...(source?.file === undefined ? {} : { configFile: source.file }),
        recentFolders: recentByKey.get(key) ?? [],
      });
    };
    for (const host of this.configuredHosts()) {
      add(host.alias, host.file === undefined ? 'settings' : 'sshConfig', host);
    }
    for (const key of recentByKey.keys()) {
      add(key, 'recent');
    }
    const inWorkspace = new Set(remoteWorkspaceHosts(this.connections));
    for (const known of this.connections.knownHosts()) {
      if (known.state === 'connected' || known.state === 'reconnecting' || inWorkspace.has(known.authority)) {
        add(known.authority, 'open');
      }
    }
    for (const key of inWorkspace) {
      add(key, 'open');
    }
    return [...byKey.values()];
  }

  /** The catalog's entry for a host (any spelling of its authority), if it lists it. */
  host(authority: string): CatalogHost | undefined {
    const key = this.keyOf(authority);
    return this.hosts().find((host) => host.authority === key);
  }

  private keyOf(authority: string): string | undefined {
    try {
      return this.connections.keyOf(authority);
    } catch {
      return undefined;
    }
  }
}
