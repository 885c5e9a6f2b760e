import type * as vscode from 'vscode';

const KEY = 'sftpfs.recentFolders';
const KEEP = 20;

/** Remote folders opened through our commands, newest first, kept across sessions (no secrets in them). */
export class RecentFolders {
  constructor(private readonly state: vscode.Memento) {}

  list(): string[] {
    return this.state.get<string[]>(KEY, []);
  }

  async add(uri: vscode.Uri): Promise<void> {
    const text = uri.toString();
    await this.state.update(KEY, [text, ...this.list().filter((known) => known !== text)].slice(0, KEEP));
  }
}
