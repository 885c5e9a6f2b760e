import * as vscode from 'vscode';

import type { CommandRegistry } from './commands';
import { originalUri } from './gitOriginals';
import type { GitRepositories } from './gitRepositories';
import type { GitResourceState, GitSourceControl } from './gitSourceControl';

/**
 * The Source Control view's commands for Git over SSH: Open Changes, Open File, Stage, Unstage, Discard
 * (after a modal question), Stage All, Unstage All, Commit, Commit (Amend), Refresh. git's own words
 * reach the user through the command error policy when git refuses.
 */
export function registerGitCommands(
  commands: CommandRegistry,
  repositories: GitRepositories,
): vscode.Disposable {
  /** The view a title-bar command is about: the one it was run from, else the active file's, else the first. */
  const viewFor = (argument: unknown): GitSourceControl | undefined => {
    const fromArgument = repositories.viewOfSourceControl(argument);
    if (fromArgument !== undefined) {
      return fromArgument;
    }
    const active = vscode.window.activeTextEditor?.document.uri;
    return (
      repositories.all().find((view) => active !== undefined && view.contains(active)) ??
      repositories.all()[0]
    );
  };

  const commit = async (argument: unknown, amend: boolean): Promise<void> => {
    const view = viewFor(argument);
    if (view === undefined) {
      return;
    }
    const message = view.sourceControl.inputBox.value;
    if (!amend && message.trim() === '') {
      void vscode.window.showWarningMessage(vscode.l10n.t('Type a commit message first.'));
      return;
    }
    await view.repository.commit(message, { amend });
    view.sourceControl.inputBox.value = '';
    await view.refreshNow();
  };

  return vscode.Disposable.from(
    commands.register('sftpfs.git.refresh', async (argument: unknown) => {
      await viewFor(argument)?.refreshNow();
    }),
    commands.register('sftpfs.git.commit', (argument: unknown) => commit(argument, false)),
    commands.register('sftpfs.git.commitAmend', (argument: unknown) => commit(argument, true)),
    commands.register('sftpfs.git.openChange', (argument: unknown) => openChange(argument)),
    commands.register('sftpfs.git.openFile', async (...states: unknown[]) => {
      for (const state of resourceStates(states)) {
        if (!state.shown.deleted) {
          await vscode.commands.executeCommand('vscode.open', state.resourceUri);
        }
      }
    }),
    commands.register('sftpfs.git.stage', (...states: unknown[]) =>
      forEachView(resourceStates(states), (view, rows) => view.repository.stage(paths(rows, false))),
    ),
    commands.register('sftpfs.git.unstage', (...states: unknown[]) =>
      forEachView(resourceStates(states), (view, rows) => view.repository.unstage(paths(rows, true))),
    ),
    commands.register('sftpfs.git.discard', (...states: unknown[]) => discard(resourceStates(states))),
    commands.register('sftpfs.git.stageAll', (group: unknown) =>
      forEachView(groupStates(group), (view, rows) => view.repository.stage(paths(rows, false))),
    ),
    commands.register('sftpfs.git.unstageAll', (group: unknown) =>
      forEachView(groupStates(group), (view, rows) => view.repository.unstage(paths(rows, true))),
    ),
  );
}

/** Open Changes: the diff a row stands for; a side that does not exist opens the other alone. */
async function openChange(argument: unknown): Promise<void> {
  const [state] = resourceStates([argument]);
  if (state === undefined) {
    return;
  }
  const { shown, owner } = state;
  const file = state.resourceUri;
  const name = file.path.slice(file.path.lastIndexOf('/') + 1);
  if (shown.group === 'merge' || shown.change.kind === 'untracked') {
    await vscode.commands.executeCommand('vscode.open', file);
  } else if (shown.group === 'workTree') {
    if (shown.deleted) {
      await vscode.commands.executeCommand('vscode.open', originalUri(file, 'index'));
    } else {
      const title = vscode.l10n.t('{0} (Working Tree)', name);
      await vscode.commands.executeCommand('vscode.diff', originalUri(file, 'index'), file, title);
    }
  } else if (shown.letter === 'A' || shown.letter === 'C') {
    await vscode.commands.executeCommand('vscode.open', originalUri(file, 'index'));
  } else if (shown.deleted) {
    await vscode.commands.executeCommand('vscode.open', originalUri(file, 'HEAD'));
  } else {
    const before = shown.change.originalPath === undefined ? file : owner.fileUri(shown.change.originalPath);
    const title = vscode.l10n.t('{0} (Index)', name);
    await vscode.commands.executeCommand(
      'vscode.diff',
      originalUri(before, 'HEAD'),
      originalUri(file, 'index'),
      title,
    );
  }
}

/** Discard: tracked files go back to the index's content, untracked ones are deleted; both asked first. */
async function discard(states: readonly GitResourceState[]): Promise<void> {
  const rows = states.filter((state) => state.shown.group === 'workTree');
  if (rows.length === 0) {
    return;
  }
  const untracked = rows.filter((state) => state.shown.change.kind === 'untracked');
  const only = rows.length === 1 ? rows[0]?.shown.change.path : undefined;
  const question =
    untracked.length === rows.length
      ? only !== undefined
        ? vscode.l10n.t('Are you sure you want to DELETE {0} on the server? This cannot be undone.', only)
        : vscode.l10n.t(
            'Are you sure you want to DELETE {0} files on the server? This cannot be undone.',
            rows.length,
          )
      : only !== undefined
        ? vscode.l10n.t('Are you sure you want to discard changes in {0}? This cannot be undone.', only)
        : vscode.l10n.t(
            'Are you sure you want to discard changes in {0} files? This cannot be undone.',
            rows.length,
          );
  const confirm =
    untracked.length === rows.length ? vscode.l10n.t('Delete') : vscode.l10n.t('Discard Changes');
  if ((await vscode.window.showWarningMessage(question, { modal: true }, confirm)) !== confirm) {
    return;
  }
  await forEachView(rows, async (view, ofView) => {
    const tracked = ofView.filter((state) => state.shown.change.kind !== 'untracked');
    const toDelete = ofView.filter((state) => state.shown.change.kind === 'untracked');
    if (tracked.length > 0) {
      await view.repository.discard(paths(tracked, false));
    }
    if (toDelete.length > 0) {
      await view.repository.clean(paths(toDelete, false));
    }
  });
}

/** Runs `act` once per view for its rows, then refreshes that view (also when git refused). */
async function forEachView(
  states: readonly GitResourceState[],
  act: (view: GitSourceControl, rows: GitResourceState[]) => Promise<void>,
): Promise<void> {
  const byView = new Map<GitSourceControl, GitResourceState[]>();
  for (const state of states) {
    byView.set(state.owner, [...(byView.get(state.owner) ?? []), state]);
  }
  for (const [view, rows] of byView) {
    try {
      await act(view, rows);
    } finally {
      await view.refreshNow();
    }
  }
}

/** Paths relative to the root; with `withOriginals`, a rename's original too (unstaging both halves). */
function paths(states: readonly GitResourceState[], withOriginals: boolean): string[] {
  const all = new Set<string>();
  for (const { shown } of states) {
    all.add(shown.change.path);
    if (withOriginals && shown.change.originalPath !== undefined) {
      all.add(shown.change.originalPath);
    }
  }
  return [...all];
}

/**
 * The rows a resource command is about. VS Code passes the clicked row and then the selection (which
 * may repeat it), as the very objects we gave it.
 */
function resourceStates(argumentsGiven: readonly unknown[]): GitResourceState[] {
  const rows = new Set<GitResourceState>();
  for (const argument of argumentsGiven.flat()) {
    if (isGitResourceState(argument)) {
      rows.add(argument);
    }
  }
  return [...rows];
}

function groupStates(group: unknown): GitResourceState[] {
  const states = (group as Partial<vscode.SourceControlResourceGroup> | undefined)?.resourceStates ?? [];
  return resourceStates(states);
}

function isGitResourceState(value: unknown): value is GitResourceState {
  return (
    typeof value === 'object' &&
    value !== null &&
    'shown' in value &&
    'owner' in value &&
    'resourceUri' in value
  );
}
