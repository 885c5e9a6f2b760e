import * as vscode from 'vscode';

const SECTION = 'sftpfs';

/** Typed, always-current reads of the extension's settings. */
export const settings = {
  /** An extra ssh_config file to read before ~/.ssh/config; empty for the default. */
  sshConfigFile(): string | undefined {
    const value = vscode.workspace.getConfiguration(SECTION).get<string>('sshConfigFile', '').trim();
    return value === '' ? undefined : value;
  },
  maxReadFileBytes(): number {
    const mb = vscode.workspace.getConfiguration(SECTION).get<number>('maxReadFileSizeMB', 1024);
    return Math.max(1, mb) * 1024 * 1024;
  },
};
