import * as vscode from 'vscode';

import type { HostSetting } from '../core/config/settingsHosts';

const SECTION = 'sftpfs';
const read = <T>(key: string, fallback: T): T =>
  vscode.workspace.getConfiguration(SECTION).get<T>(key, fallback);

/** Typed, always-current reads of the extension's settings. */
export const settings = {
  /** An extra ssh_config file to read before ~/.ssh/config; empty for the default. */
  sshConfigFile(): string | undefined {
    const value = read('sshConfigFile', '').trim();
    return value === '' ? undefined : value;
  },
  hosts(): HostSetting[] {
    return read<HostSetting[]>('hosts', []);
  },
  allowMatchExec(): boolean {
    return read('allowMatchExec', false);
  },
  maxReadFileBytes(): number {
    return Math.max(1, read('maxReadFileSizeMB', 1024)) * 1024 * 1024;
  },
  stallTimeoutMs(): number {
    return Math.max(2, read('stallTimeoutSeconds', 30)) * 1000;
  },
  idleTimeoutMs(): number {
    return Math.max(0, read('idleDisconnectMinutes', 15)) * 60_000;
  },
};
