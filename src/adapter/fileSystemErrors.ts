import * as vscode from 'vscode';

import { RemoteFsError, errorMessage } from '../core/common/errors';
import { ERROR_KIND_BY_CODE, type FileSystemErrorKind } from './errorKinds';

const FACTORIES: Readonly<Record<FileSystemErrorKind, (message: string) => vscode.FileSystemError>> = {
  FileNotFound: (m) => vscode.FileSystemError.FileNotFound(m),
  FileExists: (m) => vscode.FileSystemError.FileExists(m),
  FileNotADirectory: (m) => vscode.FileSystemError.FileNotADirectory(m),
  FileIsADirectory: (m) => vscode.FileSystemError.FileIsADirectory(m),
  NoPermissions: (m) => vscode.FileSystemError.NoPermissions(m),
  Unavailable: (m) => vscode.FileSystemError.Unavailable(m),
  Unknown: (m) => new vscode.FileSystemError(m),
};

/** The one converter from whatever the core threw to what VS Code understands. Never converts twice. */
export function toFileSystemError(error: unknown): vscode.FileSystemError {
  if (error instanceof vscode.FileSystemError) {
    return error;
  }
  if (error instanceof RemoteFsError) {
    return FACTORIES[ERROR_KIND_BY_CODE[error.code]](error.message);
  }
  return new vscode.FileSystemError(`Unexpected error: ${errorMessage(error)}`);
}
