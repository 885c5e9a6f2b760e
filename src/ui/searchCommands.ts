import * as vscode from 'vscode';

import type { CommandRegistry } from './commands';

import { settings } from '../adapter/settings';
import { remotePathOf, sftpUri } from '../adapter/uri';
import { isRemoteFsError } from '../core/common/errors';
import type { Logger } from '../core/common/logger';
import type { ConnectionManager } from '../core/connection/connectionManager';
import { rankPaths } from '../core/search/fuzzyMatch';
import { findFiles, findInFiles, type SearchTarget, type TextQuery } from '../core/search/remoteSearch';
import { lineReplacement } from '../core/search/resultGroups';
import { SearchResultsView, relativeTo, type SearchRun } from './searchResultsView';
import { remoteWorkspaceFolders, targetResource } from './targets';

/** Files larger than this are not read by the SFTP walk (grep on the server reads everything). */
const WALK_MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Go to File lists up to this many names from the server, and filters them as the user types. */
const FILE_LIST_LIMIT = 200_000;
/** How often the file picker takes in names that came in. */
const PICKER_REFRESH_MS = 100;

interface FileItem extends vscode.QuickPickItem {
  readonly path: string;
}

/**
 * Go to File on Server and Find in Files on Server. VS Code's own Ctrl+P and search cannot search a
 * custom scheme without proposed API (they wait forever for a provider), so these are commands of their
 * own, which package.json binds to Ctrl+P and Ctrl+Shift+F in windows of remote folders: a picker that
 * filters the server's file list as the user types, and a Search Results view that stays.
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
  const results = new SearchResultsView();
  let running: AbortController | undefined;
  let lastInput = '';

  const search = async (run: SearchRun): Promise<void> => {
    running?.abort();
    const controller = new AbortController();
    running = controller;
    results.start(run);
    await results.reveal();
    try {
      const outcome = await vscode.window.withProgress({ location: { viewId: 'sftpfs.searchResults' } }, () =>
        findInFiles(
          targetFor(run.root.authority),
          run.query,
          {
            root: run.base,
            excludes: settings.searchExcludes(run.root),
            maxResults: settings.searchMaxResults(),
            signal: controller.signal,
          },
          (match) => {
            if (results.run === run) {
              results.add(match);
            }
          },
        ),
      );
      if (results.run === run) {
        results.finish(outcome);
      }
    } catch (error) {
      if (results.run === run && !isRemoteFsError(error, 'ECANCELED')) {
        results.clear();
      }
      // The command's error policy (commands.ts) shows it once, with Show Log; a cancel says nothing.
      throw error;
    } finally {
      if (running === controller) {
        running = undefined;
      }
    }
  };

  return vscode.Disposable.from(
    results,
    { dispose: () => running?.abort() },
    commands.register('sftpfs.findFile', async (argument: unknown) => {
      const root = await searchRoot(argument);
      if (root !== undefined) {
        await goToFile(root, targetFor(root.authority));
      }
    }),
    commands.register('sftpfs.findInFiles', async (argument: unknown) => {
      const root = await searchRoot(argument);
      if (root === undefined) {
        return;
      }
      const input = await vscode.window.showInputBox({
        title: vscode.l10n.t('Find in Files on {0}', root.authority + remotePathOf(root)),
        prompt: vscode.l10n.t(
          'Text to find; /text/ for a regular expression. Case matters only if you type a capital letter.',
        ),
        value: lastInput,
        valueSelection: [0, lastInput.length],
      });
      if (input === undefined || input === '') {
        return;
      }
      lastInput = input;
      await search({ root, base: remotePathOf(root), input, query: textQuery(input) });
    }),
    commands.register('sftpfs.searchAgain', async () => {
      const run = results.run;
      if (run !== undefined) {
        await search({ ...run });
      }
    }),
    commands.register('sftpfs.clearSearchResults', () => {
      running?.abort();
      results.clear();
    }),
    commands.register('sftpfs.replaceInFiles', async () => {
      const run = results.run;
      if (run === undefined) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Find in Files on Server first.'));
        return;
      }
      if (running !== undefined) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Wait for the search to finish.'));
        return;
      }
      const replacement = await vscode.window.showInputBox({
        title: vscode.l10n.t('Replace {0} in {1}', run.input, run.root.authority + run.base),
        prompt: run.query.isRegExp
          ? vscode.l10n.t('Replacement; $1, $2… insert the groups of the expression. A preview comes first.')
          : vscode.l10n.t('Replacement text. A preview comes first.'),
      });
      if (replacement === undefined) {
        return;
      }
      await replaceInFiles(results, run, replacement);
    }),
  );
}

/**
 * Go to File: a picker over the server's file names, filled in as `find` (or the SFTP walk) finds them,
 * filtered and ranked as the user types (fuzzy, as Ctrl+P). Enter opens the file.
 */
async function goToFile(root: vscode.Uri, target: SearchTarget): Promise<void> {
  const base = remotePathOf(root);
  const where = root.authority + base;
  const picker = vscode.window.createQuickPick<FileItem>();
  picker.title = vscode.l10n.t('Go to File on {0}', where);
  picker.placeholder = vscode.l10n.t('Search files by name (fuzzy, as Ctrl+P)');
  picker.busy = true;
  picker.keepScrollPosition = true;
  const names: string[] = [];
  const items = new Map<string, FileItem>();
  const itemFor = (relative: string): FileItem => {
    let item = items.get(relative);
    if (item === undefined) {
      const slash = relative.lastIndexOf('/');
      item = {
        label: relative.slice(slash + 1),
        description: slash === -1 ? '' : relative.slice(0, slash),
        path: relative,
        // Ranked here (fuzzy): VS Code's own filter would hide what it does not match contiguously.
        alwaysShow: true,
      };
      items.set(relative, item);
    }
    return item;
  };
  let timer: NodeJS.Timeout | undefined;
  // Names coming in are taken in at most every PICKER_REFRESH_MS, less often when ranking takes long.
  let refreshEvery = PICKER_REFRESH_MS;
  /** `keepActive`: names came in, so the row the user moved to stays; a new query starts at the best. */
  const refresh = (keepActive: boolean): void => {
    clearTimeout(timer);
    timer = undefined;
    const started = Date.now();
    const active = picker.activeItems[0];
    picker.items = rankPaths(picker.value, names, settings.searchMaxResults()).map((ranked) =>
      itemFor(ranked.path),
    );
    const kept = keepActive && active !== undefined && picker.items.includes(active) ? active : undefined;
    const first = picker.items[0];
    picker.activeItems = kept !== undefined ? [kept] : first !== undefined ? [first] : [];
    refreshEvery = Math.max(PICKER_REFRESH_MS, 4 * (Date.now() - started));
  };
  const controller = new AbortController();
  return new Promise<void>((resolve, reject) => {
    let failed: unknown;
    const subscriptions = [
      picker.onDidChangeValue(() => refresh(false)),
      picker.onDidAccept(() => {
        const picked = picker.selectedItems[0] ?? picker.activeItems[0];
        if (picked === undefined) {
          return;
        }
        picker.hide();
        void vscode.commands.executeCommand(
          'vscode.open',
          sftpUri(root.authority, `${base === '/' ? '' : base}/${picked.path}`),
        );
      }),
      picker.onDidHide(() => {
        controller.abort();
        clearTimeout(timer);
        for (const subscription of subscriptions) {
          subscription.dispose();
        }
        picker.dispose();
        if (failed === undefined) {
          resolve();
        } else {
          reject(failed);
        }
      }),
    ];
    picker.show();
    findFiles(
      target,
      '',
      {
        root: base,
        excludes: settings.searchExcludes(root),
        maxResults: FILE_LIST_LIMIT,
        signal: controller.signal,
      },
      (path) => {
        names.push(relativeTo(base, path));
        timer ??= setTimeout(() => refresh(true), refreshEvery);
      },
    ).then(
      (outcome) => {
        picker.busy = false;
        const count = outcome.truncated
          ? vscode.l10n.t('the first {0} files', names.length)
          : vscode.l10n.t('{0} files', names.length);
        const how = outcome.method === 'walk' ? ` ${vscode.l10n.t('(listed over SFTP: no shell)')}` : '';
        picker.title = vscode.l10n.t('Go to File on {0}: {1}', where, count) + how;
        refresh(true);
      },
      (error: unknown) => {
        if (!isRemoteFsError(error, 'ECANCELED')) {
          failed = error;
          picker.hide();
        }
      },
    );
  });
}

/**
 * Replace in Files: one edit per matching line, applied at once after a modal names how many, or
 * through VS Code's Refactor Preview, where the user ticks the changes to make (edits that need
 * confirmation start unticked there); then each changed file is saved through the ordinary save.
 */
async function replaceInFiles(
  results: SearchResultsView,
  run: SearchRun,
  replacement: string,
): Promise<void> {
  const files = results.fileMatches;
  const lines = files.reduce((sum, file) => sum + file.matches.length, 0);
  const replaceAll = vscode.l10n.t('Replace All');
  const showPreview = vscode.l10n.t('Preview…');
  const choice = await vscode.window.showWarningMessage(
    vscode.l10n.t(
      'Replace {0} with {1} on {2} line(s) in {3} file(s) on {4}?',
      run.input,
      replacement,
      lines,
      files.length,
      run.root.authority,
    ),
    { modal: true, detail: vscode.l10n.t('Preview shows each change; tick the ones to make.') },
    replaceAll,
    showPreview,
  );
  if (choice === undefined) {
    return;
  }
  const preview = choice === showPreview;
  const edit = new vscode.WorkspaceEdit();
  const touched: vscode.Uri[] = [];
  let skipped = 0;
  for (const { path, matches } of files) {
    const uri = sftpUri(run.root.authority, path);
    const document = await vscode.workspace.openTextDocument(uri);
    const label = relativeTo(run.base, path);
    let edited = false;
    for (const match of matches) {
      if (match.line > document.lineCount) {
        skipped++;
        continue;
      }
      const line = document.lineAt(match.line - 1);
      const change = lineReplacement(line.text, run.query, replacement);
      if (change === undefined) {
        skipped++;
        continue;
      }
      edit.replace(
        uri,
        new vscode.Range(match.line - 1, change.start, match.line - 1, change.end),
        change.text,
        { label, needsConfirmation: preview },
      );
      edited = true;
    }
    if (edited) {
      touched.push(uri);
    }
  }
  if (touched.length === 0) {
    void vscode.window.showInformationMessage(
      vscode.l10n.t('Nothing to replace: the files changed since the search.'),
    );
    return;
  }
  if (!(await vscode.workspace.applyEdit(edit, { isRefactoring: true }))) {
    return;
  }
  let saved = 0;
  for (const uri of touched) {
    const document = vscode.workspace.textDocuments.find((open) => open.uri.toString() === uri.toString());
    if (document?.isDirty === true && (await document.save())) {
      saved++;
    }
  }
  void vscode.window.showInformationMessage(
    skipped === 0
      ? vscode.l10n.t('Replaced in {0} file(s) on {1}.', saved, run.root.authority)
      : vscode.l10n.t(
          'Replaced in {0} file(s) on {1}; {2} line(s) no longer matched and were left as they are.',
          saved,
          run.root.authority,
          skipped,
        ),
  );
}

function textQuery(input: string): TextQuery {
  const regExp = /^\/(.+)\/$/.exec(input);
  const pattern = regExp?.[1] ?? input;
  return {
    pattern,
    isRegExp: regExp !== null,
    caseSensitive: /\p{Lu}/u.test(pattern),
    maxFileBytes: WALK_MAX_FILE_BYTES,
  };
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
