import * as vscode from 'vscode';

import { remotePathOf, SFTP_SCHEME } from '../adapter/uri';
import type { RemoteGitRepository } from '../core/git/remoteGit';

/** The scheme of a file's content in the index or in HEAD: `sftpfs-git://<authority><path>?index|HEAD`. */
export const GIT_ORIGINAL_SCHEME = 'sftpfs-git';

export type OriginalSide = 'index' | 'HEAD';

/** The URI of `file`'s content in the index or in HEAD (the quick diff's and Open Changes' left side). */
export function originalUri(file: vscode.Uri, from: OriginalSide): vscode.Uri {
  return file.with({ scheme: GIT_ORIGINAL_SCHEME, query: from });
}

/**
 * The content behind `sftpfs-git:` URIs, from `git show :path` / `git show HEAD:path` on the server; empty
 * for a file that is not there (a new file has nothing to compare with). Open documents are read again
 * when their repository's status changes.
 */
export class GitOriginalsProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;

  constructor(
    /** The repository that holds a path of a host, if any. */
    private readonly repositoryOf: (authority: string, path: string) => RemoteGitRepository | undefined,
  ) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const path = remotePathOf(uri);
    const repository = this.repositoryOf(uri.authority, path);
    const relative = repository?.relative(path);
    if (repository === undefined || relative === undefined) {
      return '';
    }
    const content = await repository.original(relative, uri.query === 'HEAD' ? 'HEAD' : 'index');
    return content === undefined ? '' : new TextDecoder().decode(content);
  }

  /** Open originals of `repository` are stale: VS Code asks for them again. */
  repositoryChanged(authority: string, repository: RemoteGitRepository): void {
    for (const document of vscode.workspace.textDocuments) {
      const uri = document.uri;
      if (
        uri.scheme === GIT_ORIGINAL_SCHEME &&
        uri.authority === authority &&
        repository.relative(remotePathOf(uri)) !== undefined
      ) {
        this.changes.fire(uri);
      }
    }
  }

  dispose(): void {
    this.changes.dispose();
  }
}

/** True for an `sftp://` file of `authority` inside `repository`. */
export function isInRepository(uri: vscode.Uri, authority: string, repository: RemoteGitRepository): boolean {
  return (
    uri.scheme === SFTP_SCHEME &&
    uri.authority === authority &&
    repository.relative(remotePathOf(uri)) !== undefined
  );
}
