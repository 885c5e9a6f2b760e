import * as vscode from 'vscode';

import { normalizeRemotePath } from '../core/common/remotePath';

export const SFTP_SCHEME = 'sftp';

/** The absolute remote path a URI names; `sftp://host` alone means the root. */
export function remotePathOf(uri: vscode.Uri): string {
  return normalizeRemotePath(uri.path === '' ? '/' : uri.path);
}

/** `sftp://<authority><path>` for a remote path. */
export function sftpUri(authority: string, path: string): vscode.Uri {
  return vscode.Uri.from({ scheme: SFTP_SCHEME, authority, path: normalizeRemotePath(path) });
}
