import * as vscode from 'vscode';

import { remotePathOf } from '../adapter/uri';
import { errorMessage } from '../core/common/errors';
import type { ConnectionInfo, ConnectionManager } from '../core/connection/connectionManager';
import { targetHost, targetResource } from './targets';

/** Disconnect, Reconnect, Show Connection Info and Copy Remote Path. */
export function registerConnectionCommands(connections: ConnectionManager): vscode.Disposable {
  const connected = (): string[] =>
    connections
      .knownHosts()
      .filter((host) => host.state !== 'disconnected')
      .map((host) => host.authority);
  const known = (): string[] => connections.knownHosts().map((host) => host.authority);

  return vscode.Disposable.from(
    vscode.commands.registerCommand('sftpfs.disconnect', async (argument: unknown) => {
      const authority = await targetHost(
        argument,
        connections,
        connected,
        vscode.l10n.t('Host to disconnect'),
      );
      if (authority !== undefined) {
        connections.disconnect(authority);
      }
    }),
    vscode.commands.registerCommand('sftpfs.reconnect', async (argument: unknown) => {
      const authority = await targetHost(argument, connections, known, vscode.l10n.t('Host to reconnect'));
      if (authority === undefined) {
        return;
      }
      await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('Connecting to {0}…', authority),
        },
        async () => {
          try {
            await connections.reconnect(authority);
          } catch (error) {
            void vscode.window.showErrorMessage(
              vscode.l10n.t('Cannot connect to {0}: {1}', authority, errorMessage(error)),
            );
          }
        },
      );
    }),
    vscode.commands.registerCommand('sftpfs.showConnectionInfo', async (argument: unknown) => {
      const authority = await targetHost(argument, connections, connected, vscode.l10n.t('Host'));
      if (authority === undefined) {
        void vscode.window.showInformationMessage(vscode.l10n.t('No SFTP connection is open.'));
        return;
      }
      const info = connections.info(authority);
      if (info === undefined) {
        void vscode.window.showInformationMessage(
          vscode.l10n.t('{0} is {1}.', authority, connections.state(authority)),
        );
        return;
      }
      await vscode.window.showInformationMessage(vscode.l10n.t('SFTP connection to {0}', authority), {
        modal: true,
        detail: describeConnection(info),
      });
    }),
    vscode.commands.registerCommand('sftpfs.copyRemotePath', async (argument: unknown) => {
      const resource = targetResource(argument);
      if (resource === undefined) {
        void vscode.window.showInformationMessage(vscode.l10n.t('No remote file or folder is selected.'));
        return;
      }
      await vscode.env.clipboard.writeText(remotePathOf(resource));
      vscode.window.setStatusBarMessage(vscode.l10n.t('Copied {0}', remotePathOf(resource)), 3000);
    }),
  );
}

function describeConnection(info: ConnectionInfo): string {
  const lines = [
    vscode.l10n.t('Server: {0}', info.serverSoftware ?? vscode.l10n.t('(not announced)')),
    vscode.l10n.t('Address: {0}@{1}', info.user, info.address),
    vscode.l10n.t('Cipher: {0}, MAC: {1}', info.cipher, info.mac),
    vscode.l10n.t('Key exchange: {0}, host key: {1}', info.kex, info.hostKeyAlgorithm),
    vscode.l10n.t(
      'SFTP limits: read {0} B, write {1} B, open handles {2}',
      info.maxReadLength,
      info.maxWriteLength,
      info.maxOpenHandles ?? vscode.l10n.t('not announced'),
    ),
    vscode.l10n.t('SFTP extensions: {0}', info.sftpExtensions.join(', ') || vscode.l10n.t('none')),
    ...info.featureGaps.map((gap) => vscode.l10n.t('This server has {0}', gap)),
    vscode.l10n.t(
      'Round trip: {0}',
      info.roundTripMs === undefined
        ? vscode.l10n.t('not measured yet')
        : `${info.roundTripMs.toFixed(1)} ms`,
    ),
  ];
  return lines.join('\n');
}
