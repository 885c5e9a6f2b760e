import * as vscode from 'vscode';

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
  /** As the user wrote them: entries may be anything, so they are checked where they are used. */
  hosts(): unknown[] {
    const value = read<unknown>('hosts', []);
    return Array.isArray(value) ? value : [];
  },
  allowMatchExec(): boolean {
    return read('allowMatchExec', false);
  },
  maxReadFileBytes(): number {
    return Math.max(1, read('maxReadFileSizeMB', 1024)) * 1024 * 1024;
  },
  readerThread(): boolean {
    return read('readerThread', true);
  },
  stallTimeoutMs(): number {
    return Math.max(2, read('stallTimeoutSeconds', 30)) * 1000;
  },
  idleTimeoutMs(): number {
    return Math.max(0, read('idleDisconnectMinutes', 15)) * 60_000;
  },
  /** 0 turns polling for remote changes off. */
  watchIntervalMs(): number {
    const seconds = read('watch.pollIntervalSeconds', 3);
    return seconds <= 0 ? 0 : Math.max(0.5, seconds) * 1000;
  },
  watchWithInotify(): boolean {
    return read('watch.useInotify', true);
  },
  watchMaxEntries(): number {
    return Math.max(100, read('watch.maxEntries', 20_000));
  },
  searchMaxResults(): number {
    return Math.max(1, read('search.maxResults', 2000));
  },
  /** `files.exclude` and `search.exclude` for a folder: the globs set to true. */
  searchExcludes(folder: vscode.Uri | undefined): string[] {
    const enabled = (section: string, key: string): string[] =>
      Object.entries(vscode.workspace.getConfiguration(section, folder).get<Record<string, unknown>>(key, {}))
        .filter(([, on]) => on === true)
        .map(([glob]) => glob);
    return [...new Set([...enabled('files', 'exclude'), ...enabled('search', 'exclude')])];
  },
};
