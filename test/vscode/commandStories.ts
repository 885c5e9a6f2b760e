import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

import type { CodeServer } from '../support/codeServer';
import type { SshdFixture } from '../support/sshd';
import { runFromPalette, storySteps, type Outcome } from './editorStories';

/**
 * What commands say when they end, as a user meets it: Disconnect asks before it ends an open SSH
 * terminal (Cancel keeps both, Disconnect ends both); Download and Upload end with a "done" message
 * whose Reveal shows the result; a command whose server call fails says why in a notification with
 * Show Log, never in VS Code's modal "Command … resulted in an error".
 */
export async function runCommandStories(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  artifacts: string,
): Promise<Outcome[]> {
  const { outcomes, shotAround, step } = storySteps(page, artifacts, 'commands');
  const project = sshd.mkdirLocal('commands-story');
  sshd.mkdirLocal('commands-story/src');
  sshd.writeLocal('commands-story/notes.txt', 'Notes kept on the server\n');
  sshd.writeLocal('commands-story/src/app.py', 'print("app")\n');
  const downloads = join(sshd.dir, 'commands-downloads');
  mkdirSync(downloads, { recursive: true });
  const toUpload = join(sshd.dir, 'commands-uploads', 'report.txt');
  mkdirSync(join(sshd.dir, 'commands-uploads'), { recursive: true });
  writeFileSync(toUpload, 'A report written on this machine\n');

  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('input');
  const dialog = page.locator('.monaco-dialog-box');
  const toast = (text: string | RegExp) =>
    page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  const explorerItem = (name: string) => page.getByRole('treeitem', { name, exact: true }).first();
  const editorShows = (text: string) =>
    page.locator('.monaco-editor .view-lines').filter({ hasText: text }).first();
  const palette = (command: string): Promise<void> => runFromPalette(page, command);
  /** Runs an Explorer context-menu action (hover and Enter: a click on the label is not always taken). */
  const contextAction = async (item: string, action: string): Promise<void> => {
    await explorerItem(item).click({ button: 'right' });
    await page.getByRole('menuitem', { name: action }).hover({ timeout: 15_000 });
    await page.keyboard.press('Enter');
  };
  /** code-server's file dialog is a quick input: the path is pasted in, then its button pressed. */
  const chooseInFileDialog = async (button: string, path: string): Promise<void> => {
    await widget.filter({ hasText: button }).waitFor({ timeout: 15_000 });
    // The dialog fills in its starting folder itself; typing before that would be overwritten.
    for (let tries = 0; (await input.inputValue()) === '' && tries < 50; tries++) {
      await page.waitForTimeout(100);
    }
    await input.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(path);
    await page.waitForTimeout(500); // the dialog takes in the typed path
    await widget.getByRole('button', { name: button }).click();
  };
  const waitFor = async (what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!condition() && Date.now() < deadline) {
      await page.waitForTimeout(100);
    }
    if (!condition()) {
      throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    }
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  /** Types a command into the open terminal and waits for the file it writes on the server. */
  const runInTerminal = async (command: string, file: string): Promise<string> => {
    await page.locator('.xterm').first().click();
    // The Escape that opening the palette starts with may have reached the shell: Ctrl+U clears the line.
    await page.keyboard.press('Control+U');
    await page.keyboard.type(command);
    await page.keyboard.press('Enter');
    const path = join(project, file);
    await waitFor(`the terminal wrote ${file}`, () => existsSync(path) && readFileSync(path, 'utf8') !== '');
    return readFileSync(path, 'utf8').trim();
  };

  const opened = await step('a remote folder opens in the window', async () => {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(`sftp://${sshd.alias}${project}`)}`);
    await explorerItem('notes.txt').waitFor({ timeout: 60_000 });
  });
  if (!opened) {
    return outcomes;
  }

  let shellPid: number | undefined;
  const asked = await step(
    'with an SSH terminal open, Disconnect asks first, naming the terminal; Cancel keeps terminal and connection',
    async () => {
      await palette('SFTP: Open SSH Terminal Here');
      await page.locator('.xterm').first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(2000); // the login shell's prompt
      shellPid = Number(await runInTerminal('echo $$ > shell-pid.txt', 'shell-pid.txt'));
      if (!Number.isInteger(shellPid) || !alive(shellPid)) {
        throw new Error(`no shell process ${shellPid}`);
      }
      await palette('SFTP: Disconnect');
      const question = dialog.filter({ hasText: `Disconnect from ${sshd.alias}?` });
      await question.waitFor({ timeout: 15_000 });
      const text = (await question.innerText()).replace(/\s+/g, ' ');
      if (!text.includes('Its open SSH terminal will end.')) {
        throw new Error(`the question does not name the terminal: ${text}`);
      }
      await shotAround('disconnect-terminal.png', question);
      await question.getByRole('button', { name: 'Cancel' }).click();
      await question.waitFor({ state: 'detached', timeout: 15_000 });
      await page.waitForTimeout(1000);
      if (!alive(shellPid)) {
        throw new Error('Cancel ended the shell');
      }
      const after = await runInTerminal('echo "still here" > after-cancel.txt', 'after-cancel.txt');
      if (after !== 'still here') {
        throw new Error(`the terminal wrote ${after}`);
      }
    },
  );
  if (asked) {
    await step('confirming Disconnect ends the terminal and the connection', async () => {
      await palette('SFTP: Disconnect');
      const question = dialog.filter({ hasText: `Disconnect from ${sshd.alias}?` });
      await question.waitFor({ timeout: 15_000 });
      // The Explorer reconnects at once, so "disconnected" may show only for a moment: every text the
      // host's status bar item shows is recorded as it changes.
      await page.evaluate(`(() => {
        const seen = (globalThis.sftpfsStatusTexts = []);
        new MutationObserver(() => {
          for (const item of document.querySelectorAll('.statusbar-item')) {
            const text = (item.textContent || '').trim();
            if (text.includes(${JSON.stringify(sshd.alias)}) && seen.at(-1) !== text) seen.push(text);
          }
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      })()`);
      await question.getByRole('button', { name: 'Disconnect' }).click();
      await waitFor('the shell on the server ended', () => shellPid !== undefined && !alive(shellPid));
      const statuses = (await page.evaluate('globalThis.sftpfsStatusTexts')) as string[];
      if (!statuses.some((text) => text.includes('disconnected'))) {
        throw new Error(`the status bar never said disconnected: ${JSON.stringify(statuses)}`);
      }
      // The terminal closes with its shell (the panel has no terminal left).
      await page.locator('.xterm').first().waitFor({ state: 'detached', timeout: 15_000 });
    });
  }

  await step(
    'Download ends with "Downloaded … to …" and Reveal, which opens the downloaded file',
    async () => {
      await page.keyboard.press('Escape');
      await contextAction('notes.txt', 'Download from SFTP...');
      await chooseInFileDialog('Download Here', `${downloads}/`);
      const target = join(downloads, 'notes.txt');
      const done = toast(`Downloaded notes.txt to ${target}`);
      await done.waitFor({ timeout: 30_000 });
      await page.waitForTimeout(600); // the toast slides in
      await shotAround('download-done.png', done, 16);
      await done.getByRole('button', { name: 'Reveal' }).click();
      // A file on this (code-server's) machine, never opened before: the editor shows the local copy.
      await editorShows('Notes kept on the server').waitFor({ timeout: 15_000 });
      const breadcrumbs = (await page.locator('.breadcrumbs-control').first().innerText()).replace(
        /\s+/g,
        '/',
      );
      if (!breadcrumbs.includes('commands-downloads/notes.txt')) {
        throw new Error(`the active editor is ${breadcrumbs}, not ${target}`);
      }
      if (await toast(/not found|failed/i).isVisible()) {
        throw new Error(`Reveal failed: ${await toast(/not found|failed/i).innerText()}`);
      }
    },
  );

  await step(
    'Upload ends with "Uploaded … to …" and Reveal, which selects the uploaded file in the Explorer',
    async () => {
      await page.keyboard.press('Control+Shift+E');
      await contextAction('src', 'Upload to SFTP...');
      await chooseInFileDialog('Upload', toUpload);
      const uploaded = sshd.local('commands-story/src/report.txt');
      await waitFor('the file is on the server', () => existsSync(uploaded));
      const done = toast(`Uploaded report.txt to ${sshd.alias}:${project}/src`);
      await done.waitFor({ timeout: 30_000 });
      await done.getByRole('button', { name: 'Reveal' }).click();
      await page
        .locator('.explorer-folders-view [role="treeitem"][aria-selected="true"]')
        .filter({ hasText: 'report.txt' })
        .first()
        .waitFor({ timeout: 15_000 });
    },
  );

  await step(
    'a command whose server call fails says why in a notification with Show Log, not in a modal',
    async () => {
      // The folder is unreadable now: Go to File cannot enter it, and says so with the server's reason.
      chmodSync(project, 0o000);
      try {
        await palette('SFTP: Go to File on Server...');
        const failure = toast(/Permission denied/);
        await failure.waitFor({ timeout: 30_000 });
        await failure.getByRole('button', { name: 'Show Log' }).waitFor({ timeout: 5000 });
        await page.waitForTimeout(1000);
        const modal = dialog.filter({ hasText: /resulted in an error/ });
        if ((await modal.count()) !== 0) {
          throw new Error(`a modal shows the error: ${await modal.first().innerText()}`);
        }
        await shotAround('command-failure.png', failure, 16);
      } finally {
        chmodSync(project, 0o755);
      }
    },
  );
  return outcomes;
}
