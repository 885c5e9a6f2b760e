import * as vscode from 'vscode';

import { sftpUri } from '../adapter/uri';
import type { SearchOutcome, TextMatch, TextQuery } from '../core/search/remoteSearch';
import { groupByFile, matchRanges, type FileMatches } from '../core/search/resultGroups';

/** A search shown in the view: where, what, and what has been found so far. */
export interface SearchRun {
  readonly root: vscode.Uri;
  /** The folder searched, absolute, as paths in the results start. */
  readonly base: string;
  /** What the user typed, shown in the view's message. */
  readonly input: string;
  readonly query: TextQuery;
}

type Node =
  | { readonly kind: 'file'; readonly group: FileMatches }
  | { readonly kind: 'match'; readonly match: TextMatch };

const SHOWN_LABEL_CHARS = 200;
const REFRESH_MS = 150;

/**
 * The Search Results view: Find in Files on Server's matches by file, with counts; each match opens its
 * file at the match. Results come in while the server finds them and stay until cleared or replaced by
 * the next search.
 */
export class SearchResultsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<Node>;
  private current: SearchRun | undefined;
  private matches: TextMatch[] = [];
  private groups: FileMatches[] = [];
  private outcome: Omit<SearchOutcome<TextMatch>, 'results'> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor() {
    this.view = vscode.window.createTreeView('sftpfs.searchResults', {
      treeDataProvider: this,
      showCollapseAll: true,
    });
  }

  get run(): SearchRun | undefined {
    return this.current;
  }

  /** The matches found, grouped by file (for Replace in Files). */
  get fileMatches(): readonly FileMatches[] {
    return groupByFile(this.matches);
  }

  start(run: SearchRun): void {
    this.current = run;
    this.matches = [];
    this.outcome = undefined;
    this.refreshNow();
    void vscode.commands.executeCommand('setContext', 'sftpfs.hasSearchResults', true);
  }

  add(match: TextMatch): void {
    this.matches.push(match);
    this.refreshTimer ??= setTimeout(() => this.refreshNow(), REFRESH_MS);
  }

  finish(outcome: SearchOutcome<TextMatch>): void {
    this.outcome = { method: outcome.method, truncated: outcome.truncated };
    this.matches = [...outcome.results];
    this.refreshNow();
  }

  clear(): void {
    this.current = undefined;
    this.matches = [];
    this.outcome = undefined;
    this.refreshNow();
    void vscode.commands.executeCommand('setContext', 'sftpfs.hasSearchResults', false);
  }

  async reveal(): Promise<void> {
    await vscode.commands.executeCommand('sftpfs.searchResults.focus');
  }

  getChildren(node?: Node): Node[] {
    if (node === undefined) {
      return this.groups.map((group) => ({ kind: 'file', group }));
    }
    return node.kind === 'file' ? node.group.matches.map((match) => ({ kind: 'match', match })) : [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const run = this.current;
    const authority = run?.root.authority ?? '';
    if (node.kind === 'file') {
      const { path, matches } = node.group;
      const item = new vscode.TreeItem(sftpUri(authority, path), vscode.TreeItemCollapsibleState.Expanded);
      const relative = run === undefined ? path : relativeTo(run.base, path);
      const folder = relative.includes('/') ? relative.slice(0, relative.lastIndexOf('/')) : '';
      item.description = folder === '' ? `${matches.length}` : `${folder} · ${matches.length}`;
      item.tooltip = vscode.l10n.t('{0}: {1} matching line(s)', relative, matches.length);
      item.contextValue = 'file';
      return item;
    }
    const { match } = node;
    const indent = match.text.length - match.text.trimStart().length;
    const label = match.text.trim().slice(0, SHOWN_LABEL_CHARS);
    const ranges = run === undefined ? [] : matchRanges(match.text, run.query);
    const highlights = ranges
      .map(([start, end]): [number, number] => [start - indent, Math.min(end - indent, label.length)])
      .filter(([start, end]) => start >= 0 && start < end);
    const item = new vscode.TreeItem({ label, highlights });
    item.description = `${match.line}`;
    const [first] = ranges;
    const line = match.line - 1;
    const selection = new vscode.Range(line, first?.[0] ?? 0, line, first?.[1] ?? 0);
    const uri = sftpUri(authority, match.path);
    item.command = {
      command: 'vscode.open',
      title: vscode.l10n.t('Open'),
      arguments: [uri, { selection, preview: true }],
    };
    const relative = relativeTo(run?.base ?? '', match.path);
    item.tooltip = `${relative}:${match.line}`;
    // Read out (and found by tests) as the line first, then where it is; the tooltip alone would be read.
    item.accessibilityInformation = {
      label: vscode.l10n.t('{0}, {1} line {2}', label, relative, match.line),
    };
    item.contextValue = 'match';
    return item;
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.view.dispose();
    this.changed.dispose();
  }

  private refreshNow(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.groups = groupByFile(this.matches);
    this.view.message = this.message() ?? '';
    this.changed.fire(undefined);
  }

  private message(): string | undefined {
    const run = this.current;
    if (run === undefined) {
      return undefined;
    }
    const where = run.root.authority + run.base;
    const found =
      this.matches.length === 1
        ? vscode.l10n.t('1 match')
        : vscode.l10n.t('{0} matches', this.matches.length);
    const files =
      this.groups.length === 1 ? vscode.l10n.t('1 file') : vscode.l10n.t('{0} files', this.groups.length);
    if (this.outcome === undefined) {
      return vscode.l10n.t('Searching {0} for {1}… {2} in {3} so far', where, run.input, found, files);
    }
    const counted = this.outcome.truncated
      ? vscode.l10n.t('The first {0} in {1} for {2} in {3}', found, files, run.input, where)
      : vscode.l10n.t('{0} in {1} for {2} in {3}', found, files, run.input, where);
    return this.outcome.method === 'walk'
      ? `${counted} ${vscode.l10n.t('(searched over SFTP: no shell)')}`
      : counted;
  }
}

export function relativeTo(base: string, path: string): string {
  if (base === '/') {
    return path.slice(1);
  }
  return path.startsWith(`${base}/`) ? path.slice(base.length + 1) : path;
}
