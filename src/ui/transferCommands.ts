import { homedir } from 'node:os';

import * as vscode from 'vscode';

import { remotePathOf, sftpUri } from '../adapter/uri';
import { errorMessage, isRemoteFsError } from '../core/common/errors';
import { baseName, joinRemote, parentOf } from '../core/common/remotePath';
import type { ConnectionManager } from '../core/connection/connectionManager';
import type { RemoteFileSystem } from '../core/fs/remoteFileSystem';
import { cancelled } from '../core/ssh/remoteCommand';
import { targetResource } from './targets';

interface PlannedFile {
  /** Path relative to the transferred item, `/`-separated; '' for a single file. */
  readonly relative: string;
  readonly size: number;
}

interface Plan {
  readonly folders: string[];
  readonly files: PlannedFile[];
}

/**
 * Download... and Upload... between the server and this machine, with progress and Cancel (checked
 * between files; each file itself goes through the core's pipelined transfer).
 */
export function registerTransferCommands(connections: ConnectionManager): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('sftpfs.download', async (argument: unknown) => {
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
      const fs = connections.fileSystem(source.authority);
      const sourcePath = remotePathOf(source);
      const target = vscode.Uri.joinPath(destination, baseName(sourcePath));
      if (!(await confirmReplace(target, () => vscode.workspace.fs.stat(target)))) {
        return;
      }
      await transfer(vscode.l10n.t('Downloading {0}', baseName(sourcePath)), async (step, signal) => {
        const plan = await planRemote(fs, sourcePath, signal);
        for (const folder of plan.folders) {
          await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(target, folder));
        }
        await step(plan.files, async (file) => {
          const content = await fs.readFile(
            file.relative === '' ? sourcePath : joinRemote(sourcePath, file.relative),
          );
          await vscode.workspace.fs.writeFile(
            file.relative === '' ? target : vscode.Uri.joinPath(target, file.relative),
            content,
          );
        });
      });
    }),
    vscode.commands.registerCommand('sftpfs.upload', async (argument: unknown) => {
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
      for (const source of sources ?? []) {
        const targetPath = joinRemote(folderPath, baseName(source.path));
        if (!(await confirmReplace(sftpUri(folder.authority, targetPath), () => fs.stat(targetPath)))) {
          continue;
        }
        await transfer(vscode.l10n.t('Uploading {0}', baseName(source.path)), async (step, signal) => {
          const plan = await planLocal(source, signal);
          for (const sub of plan.folders) {
            await fs
              .createDirectory(sub === '' ? targetPath : joinRemote(targetPath, sub))
              .catch((error: unknown) => {
                if (!isRemoteFsError(error, 'EEXIST')) {
                  throw error;
                }
              });
          }
          await step(plan.files, async (file) => {
            const content = await vscode.workspace.fs.readFile(
              file.relative === '' ? source : vscode.Uri.joinPath(source, file.relative),
            );
            await fs.writeFile(
              file.relative === '' ? targetPath : joinRemote(targetPath, file.relative),
              content,
              {
                create: true,
                overwrite: true,
              },
            );
          });
        });
      }
    }),
  );
}

async function confirmReplace(target: vscode.Uri, exists: () => PromiseLike<unknown>): Promise<boolean> {
  try {
    await exists();
  } catch {
    return true; // nothing there
  }
  const replace = vscode.l10n.t('Replace');
  const answer = await vscode.window.showWarningMessage(
    vscode.l10n.t(
      '{0} already exists. Replace what it has with the transferred files?',
      target.fsPath || target.path,
    ),
    { modal: true },
    replace,
  );
  return answer === replace;
}

type Step = (files: readonly PlannedFile[], move: (file: PlannedFile) => Promise<void>) => Promise<void>;

/** Runs a transfer under a cancellable progress notification that counts bytes. */
async function transfer(
  title: string,
  body: (step: Step, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const onCancel = token.onCancellationRequested(() => controller.abort());
      let done = 0;
      try {
        await body(async (files, move) => {
          const total = files.reduce((sum, file) => sum + file.size, 0);
          for (const file of files) {
            if (controller.signal.aborted) {
              throw cancelled();
            }
            progress.report({ message: file.relative });
            await move(file);
            done++;
            progress.report({ increment: total === 0 ? 100 / files.length : (100 * file.size) / total });
          }
        }, controller.signal);
      } catch (error) {
        if (isRemoteFsError(error, 'ECANCELED')) {
          void vscode.window.showInformationMessage(
            vscode.l10n.t('{0}: cancelled after {1} file(s).', title, done),
          );
        } else {
          void vscode.window.showErrorMessage(vscode.l10n.t('{0} failed: {1}', title, errorMessage(error)));
        }
      } finally {
        onCancel.dispose();
      }
    },
  );
}

/** Everything below a remote path (links to folders are not followed). */
async function planRemote(fs: RemoteFileSystem, root: string, signal: AbortSignal): Promise<Plan> {
  const stat = await fs.stat(root);
  if (stat.type.kind !== 'directory') {
    return { folders: [], files: [{ relative: '', size: stat.size }] };
  }
  const plan: Plan = { folders: [''], files: [] };
  const pending = [''];
  for (let relative = pending.shift(); relative !== undefined; relative = pending.shift()) {
    if (signal.aborted) {
      throw cancelled();
    }
    for (const { name, stat: child } of await fs.list(relative === '' ? root : joinRemote(root, relative))) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (child.type.kind === 'directory' && !child.type.symlink) {
        plan.folders.push(path);
        pending.push(path);
      } else if (child.type.kind === 'file') {
        plan.files.push({ relative: path, size: child.size });
      }
    }
  }
  return plan;
}

async function planLocal(root: vscode.Uri, signal: AbortSignal): Promise<Plan> {
  const stat = await vscode.workspace.fs.stat(root);
  if ((stat.type & vscode.FileType.Directory) === 0) {
    return { folders: [], files: [{ relative: '', size: stat.size }] };
  }
  const plan: Plan = { folders: [''], files: [] };
  const pending = [''];
  for (let relative = pending.shift(); relative !== undefined; relative = pending.shift()) {
    if (signal.aborted) {
      throw cancelled();
    }
    const folder = relative === '' ? root : vscode.Uri.joinPath(root, relative);
    for (const [name, type] of await vscode.workspace.fs.readDirectory(folder)) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (type === vscode.FileType.Directory) {
        plan.folders.push(path);
        pending.push(path);
      } else if ((type & vscode.FileType.File) !== 0) {
        const size = (await vscode.workspace.fs.stat(vscode.Uri.joinPath(root, path))).size;
        plan.files.push({ relative: path, size });
      }
    }
  }
  return plan;
}
