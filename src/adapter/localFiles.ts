import * as vscode from 'vscode';

import { localNameRules } from '../core/transfer/localNames';
import type { LocalSide } from '../core/transfer/treeTransfer';

/** This machine's files for Download/Upload, through vscode.workspace.fs (paths are file-system paths). */
export const workspaceLocalFiles: LocalSide = {
  async kindOf(path) {
    try {
      return kindOf((await vscode.workspace.fs.stat(vscode.Uri.file(path))).type);
    } catch (error) {
      if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') {
        return undefined;
      }
      throw error;
    }
  },
  async list(path) {
    return (await vscode.workspace.fs.readDirectory(vscode.Uri.file(path))).map(([name, type]) => ({
      name,
      kind: kindOf(type),
    }));
  },
  async size(path) {
    return (await vscode.workspace.fs.stat(vscode.Uri.file(path))).size;
  },
  readFile: (path) => Promise.resolve(vscode.workspace.fs.readFile(vscode.Uri.file(path))),
  writeFile: (path, content) =>
    Promise.resolve(vscode.workspace.fs.writeFile(vscode.Uri.file(path), content)),
  createDirectory: (path) => Promise.resolve(vscode.workspace.fs.createDirectory(vscode.Uri.file(path))),
  join: (folder, relative) => vscode.Uri.joinPath(vscode.Uri.file(folder), relative).fsPath,
  names: localNameRules(),
};

/** Links are not followed, whatever they point to. */
function kindOf(type: vscode.FileType): 'file' | 'directory' | 'other' {
  if ((type & vscode.FileType.SymbolicLink) !== 0) {
    return 'other';
  }
  return type === vscode.FileType.Directory ? 'directory' : type === vscode.FileType.File ? 'file' : 'other';
}
