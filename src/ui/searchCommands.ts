import * as vscode from 'vscode';

import type { CommandRegistry } from './commands';

import { settings } from '../adapter/settings';
import { remotePathOf, sftpUri } from '../adapter/uri';
import { isRemoteFsError } from '../core/common/errors';
import type { Logger } from '../core/common/logger';
import type { ConnectionManager } from '../core/connection/connectionManager';
import {
  findFiles,
  findInFiles,
  type SearchOutcome,
  type SearchScope,
  type SearchTarget,
} from '../core/search/remoteSearch';
import { remoteWorkspaceFolders, targetResource } from './targets';

/** Files larger than this are not read by the SFTP walk (grep on the server reads everything). */
const WALK_MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Find File and Find in Files on the server. VS Code's own search cannot search a custom scheme without
 * proposed API (it waits forever for a provider), so these are commands with their own results list.
 */
export function registerSearchCommands(
  commands: CommandRegistry,
  connections: ConnectionManager,
  logger: Logger,
): vscode.Disposable {
  const targetFor = (authority: string): SearchTarget => {
    const fs = connections.fileSystem(authority);
    return {
      connection: () => connections.sshConnection(authority),
      list: (path) => fs.list(path),
      readFile: (path) => fs.readFile(path),
      logger,
    };
  };

  return vscode.Disposable.from(
    commands.register('sftpfs.findFile', async (argument: unknown) => {
      const root = await searchRoot(argument);
      if (root === undefined) {
        return;
      }
      const pattern = await vscode.window.showInputBox({
        title: vscode.l10n.t('Find File in {0}', root.authority + remotePathOf(root)),
        prompt: vscode.l10n.t('Part of a file name, or a glob such as *.ts'),
      });
      if (pattern === undefined || pattern.trim() === '') {
        return;
      }
      const outcome = await withSearchProgress(root, pattern, (scope) =>
        findFiles(targetFor(root.authority), pattern.trim(), scope),
      );
      if (outcome === undefined) {
        return;
      }
      const base = remotePathOf(root);
      const picked = await vscode.window.showQuickPick(
        outcome.results.map((path) => ({ label: relativeTo(base, path), path })),
        { title: resultsTitle(outcome, pattern), matchOnDescription: true },
      );
      if (picked !== undefined) {
        await vscode.window.showTextDocument(sftpUri(root.authority, picked.path));
      }
    }),
    commands.register('sftpfs.findInFiles', async (argument: unknown) => {
      const root = await searchRoot(argument);
      if (root === undefined) {
        return;
      }
      const input = await vscode.window.showInputBox({
        title: vscode.l10n.t('Find in Files in {0}', root.authority + remotePathOf(root)),
        prompt: vscode.l10n.t(
          'Text to find; /text/ for a regular expression. Case matters only if you type a capital letter.',
        ),
      });
      if (input === undefined || input === '') {
        return;
      }
      const regExp = /^\/(.+)\/$/.exec(input);
      const pattern = regExp?.[1] ?? input;
      const query = {
        pattern,
        isRegExp: regExp !== null,
        caseSensitive: /\p{Lu}/u.test(pattern),
        maxFileBytes: WALK_MAX_FILE_BYTES,
      };
      const outcome = await withSearchProgress(root, input, (scope) =>
        findInFiles(targetFor(root.authority), query, scope),
      );
      if (outcome === undefined) {
        return;
      }
      const base = remotePathOf(root);
      const picked = await vscode.window.showQuickPick(
        outcome.results.map((match) => ({
          label: `${relativeTo(base, match.path)}:${match.line}`,
          detail: match.text.trim(),
          match,
        })),
        { title: resultsTitle(outcome, input), matchOnDetail: true },
      );
      if (picked !== undefined) {
        const position = new vscode.Position(picked.match.line - 1, 0);
        await vscode.window.showTextDocument(sftpUri(root.authority, picked.match.path), {
          selection: new vscode.Range(position, position),
        });
      }
    }),
  );
}

/** The folder run on in the Explorer, else the remote workspace folder (asked if there are several). */
async function searchRoot(argument: unknown): Promise<vscode.Uri | undefined> {
  if (argument instanceof vscode.Uri) {
    return targetResource(argument);
  }
  const folders = remoteWorkspaceFolders();
  if (folders.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Open a remote folder first.'));
    return undefined;
  }
  if (folders.length === 1) {
    return folders[0]?.uri;
  }
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: vscode.l10n.t('Folder to search') }))
    ?.uri;
}

async function withSearchProgress<T>(
  root: vscode.Uri,
  what: string,
  search: (scope: SearchScope) => Promise<SearchOutcome<T>>,
): Promise<SearchOutcome<T> | undefined> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Searching {0} for {1}…', root.authority + remotePathOf(root), what),
      cancellable: true,
    },
    async (_progress, token) => {
      const controller = new AbortController();
      const cancelled = token.onCancellationRequested(() => controller.abort());
      try {
        return await search({
          root: remotePathOf(root),
          excludes: settings.searchExcludes(root),
          maxResults: settings.searchMaxResults(),
          signal: controller.signal,
        });
      } catch (error) {
        if (isRemoteFsError(error, 'ECANCELED')) {
          return undefined;
        }
        // The command's error policy (commands.ts) shows it once, with Show Log.
        throw error;
      } finally {
        cancelled.dispose();
      }
    },
  );
}

function resultsTitle(outcome: SearchOutcome<unknown>, what: string): string {
  const count = outcome.truncated
    ? vscode.l10n.t('first {0} results for {1}', outcome.results.length, what)
    : vscode.l10n.t('{0} results for {1}', outcome.results.length, what);
  return outcome.method === 'walk' ? `${count} ${vscode.l10n.t('(searched over SFTP: no shell)')}` : count;
}

function relativeTo(base: string, path: string): string {
  return path.startsWith(`${base}/`) ? path.slice(base.length + 1) : path;
}
