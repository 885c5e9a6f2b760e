import * as vscode from 'vscode';

import { remotePathOf } from '../adapter/uri';
import type { ConnectionInfo, ConnectionManager } from '../core/connection/connectionManager';
import type { CommandRegistry } from './commands';
import { targetHost, targetResource } from './targets';

/** Disconnect, Reconnect, Show Connection Info and Copy Remote Path. */
export function registerConnectionCommands(
  commands: CommandRegistry,
  connections: ConnectionManager,
  /** The SSH terminals open on a host: Disconnect would end them, so it asks first. */
  terminalsOn: (authority: string) => number,
): vscode.Disposable {
  const connected = (): string[] =>
    connections
      .knownHosts()
      .filter((host) => host.state !== 'disconnected')
      .map((host) => host.authority);
  const known = (): string[] => connections.knownHosts().map((host) => host.authority);

  return vscode.Disposable.from(
    commands.register('sftpfs.disconnect', async (argument: unknown) => {
      const authority = await targetHost(
        argument,
        connections,
        connected,
        vscode.l10n.t('Host to disconnect'),
      );
      if (authority === undefined) {
        return;
      }
      const terminals = terminalsOn(authority);
      if (terminals > 0) {
        const disconnect = vscode.l10n.t('Disconnect');
        const answer = await vscode.window.showWarningMessage(
          terminals === 1
            ? vscode.l10n.t('Disconnect from {0}? Its open SSH terminal will end.', authority)
            : vscode.l10n.t(
                'Disconnect from {0}? Its {1} open SSH terminals will end.',
                authority,
                terminals,
              ),
          { modal: true },
          disconnect,
        );
        if (answer !== disconnect) {
          return;
        }
      }
      connections.disconnect(authority);
    }),
    commands.register('sftpfs.reconnect', async (argument: unknown) => {
      const authority = await targetHost(argument, connections, known, vscode.l10n.t('Host to reconnect'));
      if (authority === undefined) {
        return;
      }
      // The progress notification and the failure's message come from connectionProgress.ts and
      // connectionFailures.ts, as for every connection; the command's own error would be a second one.
      await connections.reconnect(authority).catch(() => undefined);
    }),
    commands.register('sftpfs.showConnectionInfo', async (argument: unknown) => {
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
    commands.register('sftpfs.copyRemotePath', async (argument: unknown) => {
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
