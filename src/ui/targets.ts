import * as vscode from 'vscode';

import { SFTP_SCHEME } from '../adapter/uri';
import type { ConnectionManager } from '../core/connection/connectionManager';

/** A hosts-view item, as passed to a command run from it. */
export interface HostArgument {
  readonly authority: string;
}

/**
 * The remote resource a command is about: the Explorer item it was run on, else the active editor's
 * file, else the only remote workspace folder. Undefined when nothing remote is in view.
 */
export function targetResource(argument: unknown): vscode.Uri | undefined {
  if (argument instanceof vscode.Uri) {
    return argument.scheme === SFTP_SCHEME ? argument : undefined;
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === SFTP_SCHEME) {
    return active;
  }
  const remoteFolders = remoteWorkspaceFolders();
  return remoteFolders.length === 1 ? remoteFolders[0]?.uri : undefined;
}

/** The distinct hosts of the remote workspace folders (a folder with a malformed authority is skipped). */
export function remoteWorkspaceHosts(connections: ConnectionManager): string[] {
  const hosts = new Set<string>();
  for (const folder of remoteWorkspaceFolders()) {
    try {
      hosts.add(connections.keyOf(folder.uri.authority));
    } catch {
      // the provider reports the bad authority when VS Code reads the folder
    }
  }
  return [...hosts];
}

export function remoteWorkspaceFolders(): vscode.WorkspaceFolder[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((folder) => folder.uri.scheme === SFTP_SCHEME);
}

/**
 * The host a command is about: the hosts-view item or resource it was run on, the host of what is in
 * view, else one picked from `candidates` (asked only when there is more than one).
 */
export async function targetHost(
  argument: unknown,
  connections: ConnectionManager,
  candidates: () => string[],
  placeholder: string,
): Promise<string | undefined> {
  if (isHostArgument(argument)) {
    return argument.authority;
  }
  const resource = targetResource(argument);
  if (resource !== undefined) {
    return connections.keyOf(resource.authority);
  }
  const choices = candidates();
  if (choices.length <= 1) {
    return choices[0];
  }
  return vscode.window.showQuickPick(choices, { placeHolder: placeholder });
}

function isHostArgument(value: unknown): value is HostArgument {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof vscode.Uri) &&
    typeof (value as { authority?: unknown }).authority === 'string'
  );
}
