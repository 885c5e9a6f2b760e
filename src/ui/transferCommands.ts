import { homedir } from 'node:os';
import * as vscode from 'vscode';

import { workspaceLocalFiles } from '../adapter/localFiles';
import { remotePathOf, sftpUri } from '../adapter/uri';
import { errorMessage, isRemoteFsError } from '../core/common/errors';
import { baseName, joinRemote, parentOf } from '../core/common/remotePath';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { download, localTargetFor, upload, type TransferOptions } from '../core/transfer/treeTransfer';
import type { CommandRegistry } from './commands';
import { revealTransferred } from './revealTransferred';
import { targetResource } from './targets';

/**
 * Download... and Upload... between the server and this machine, with progress and Cancel (checked
 * between files; each file itself goes through the core's pipelined transfer and atomic save).
 */
export function registerTransferCommands(
  commands: CommandRegistry,
  connections: ConnectionManager,
): vscode.Disposable {
  return vscode.Disposable.from(
    commands.register('sftpfs.download', async (argument: unknown) => {
      const source = targetResource(argument);
      if (source === undefined) {
        return;
      }
      const [destination] =
        (await vscode.window.showOpenDialog({
          canSelectFiles: false,
          canSelectFolders: true,
          openLabel: vscode.l10n.t('Download Here'),
          defaultUri: vscode.Uri.file(homedir()),
        })) ?? [];
      if (destination === undefined) {
        return;
      }
      const sourcePath = remotePathOf(source);
      let target: string;
      try {
        target = localTargetFor(workspaceLocalFiles, destination.fsPath, sourcePath);
      } catch (error) {
        void vscode.window.showErrorMessage(
          vscode.l10n.t('Cannot download {0}: {1}', baseName(sourcePath), errorMessage(error)),
        );
        return;
      }
      if (!(await confirmReplace(target, (await workspaceLocalFiles.kindOf(target)) !== undefined))) {
        return;
      }
      const fs = connections.fileSystem(source.authority);
      const done = await withTransferProgress(
        vscode.l10n.t('Downloading {0}', baseName(sourcePath)),
        (options) => download(fs, sourcePath, workspaceLocalFiles, target, options),
      );
      if (done) {
        const reveal = vscode.l10n.t('Reveal');
        const answer = await vscode.window.showInformationMessage(
          vscode.l10n.t('Downloaded {0} to {1}', baseName(sourcePath), target),
          reveal,
        );
        if (answer === reveal) {
          await revealTransferred(vscode.Uri.file(target));
        }
      }
    }),
    commands.register('sftpfs.upload', async (argument: unknown) => {
      const folder = targetResource(argument);
      if (folder === undefined) {
        return;
      }
      const fs = connections.fileSystem(folder.authority);
      let folderPath = remotePathOf(folder);
      if ((await fs.stat(folderPath)).type.kind !== 'directory') {
        folderPath = parentOf(folderPath); // run on a file: upload beside it
      }
      const sources = await vscode.window.showOpenDialog({
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: true,
        openLabel: vscode.l10n.t('Upload'),
      });
      const uploaded: vscode.Uri[] = [];
      for (const source of sources ?? []) {
        const targetPath = joinRemote(folderPath, baseName(source.path));
        const exists = await fs.stat(targetPath).then(
          () => true,
          () => false,
        );
        if (!(await confirmReplace(`${folder.authority}:${targetPath}`, exists))) {
          continue;
        }
        const done = await withTransferProgress(
          vscode.l10n.t('Uploading {0}', baseName(source.path)),
          (options) => upload(workspaceLocalFiles, source.fsPath, fs, targetPath, options),
        );
        if (done) {
          uploaded.push(sftpUri(folder.authority, targetPath));
        }
      }
      const [first] = uploaded;
      if (first !== undefined) {
        const reveal = vscode.l10n.t('Reveal');
        const answer = await vscode.window.showInformationMessage(
          uploaded.length === 1
            ? vscode.l10n.t('Uploaded {0} to {1}', baseName(first.path), `${folder.authority}:${folderPath}`)
            : vscode.l10n.t(
                'Uploaded {0} items to {1}',
                uploaded.length,
                `${folder.authority}:${folderPath}`,
              ),
          reveal,
        );
        if (answer === reveal) {
          await revealTransferred(first);
        }
      }
    }),
  );
}

async function confirmReplace(target: string, exists: boolean): Promise<boolean> {
  if (!exists) {
    return true;
  }
  const replace = vscode.l10n.t('Replace');
  const answer = await vscode.window.showWarningMessage(
    vscode.l10n.t('{0} already exists. Replace what it has with the transferred files?', target),
    { modal: true },
    replace,
  );
  return answer === replace;
}

/** A cancellable progress notification counting files and bytes; true when the transfer completed. */
async function withTransferProgress(
  title: string,
  run: (options: TransferOptions) => Promise<void>,
): Promise<boolean> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const onCancel = token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      let doneFiles = 0;
      try {
        await run({
          signal: controller.signal,
          onProgress: (now) => {
            doneFiles = now.doneFiles;
            const percent = now.totalBytes === 0 ? 100 : (100 * now.doneBytes) / now.totalBytes;
            progress.report({
              message: vscode.l10n.t('{0} of {1} files {2}', now.doneFiles, now.totalFiles, now.file),
              increment: percent - reported,
            });
            reported = percent;
          },
        });
        return true;
      } catch (error) {
        if (isRemoteFsError(error, 'ECANCELED')) {
          void vscode.window.showInformationMessage(
            vscode.l10n.t('{0}: cancelled after {1} file(s).', title, doneFiles),
          );
        } else {
          void vscode.window.showErrorMessage(vscode.l10n.t('{0} failed: {1}', title, errorMessage(error)));
        }
        return false;
      } finally {
        onCancel.dispose();
      }
    },
  );
}
