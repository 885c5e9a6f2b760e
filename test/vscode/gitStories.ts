import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

import type { CodeServer } from '../support/codeServer';
import { initRepository, localGit } from '../support/localGit';
import type { SshdFixture } from '../support/sshd';
import { storySteps, type Outcome } from './editorStories';

/**
 * Source Control over SSH as a user meets it: a remote folder inside a Git work tree on the server gets
 * a Source Control view listing a change made on the server, with the branch in the status bar; staging
 * and committing from the view makes the commit on the server, which git run there confirms.
 */
export async function runGitStories(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  artifacts: string,
): Promise<Outcome[]> {
  const { outcomes, shot, step } = storySteps(page, artifacts, 'git');
  const project = initRepository(sshd, 'git-story');
  sshd.writeLocal('git-story/app.py', 'print("app")\n');
  sshd.writeLocal('git-story/README.md', '# A project kept on the server\n');
  localGit(sshd, project, ['add', '-A']);
  localGit(sshd, project, ['commit', '-q', '-m', 'First commit']);
  const git = (...args: string[]): string => localGit(sshd, project, args).toString('utf8');

  const scm = page.locator('.scm-view');
  const scmRow = (name: string) => scm.locator('.monaco-list-row').filter({ hasText: name }).first();
  const explorerItem = (name: string) => page.getByRole('treeitem', { name, exact: true }).first();
  const closeNotifications = async (): Promise<void> => {
    await page.keyboard.press('F1');
    await page.keyboard.type('Notifications: Clear All Notifications');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(300);
  };

  const opened = await step('a remote folder inside a Git work tree opens in the window', async () => {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(`sftp://${sshd.alias}${project}`)}`);
    await explorerItem('app.py').waitFor({ timeout: 60_000 });
  });
  if (!opened) {
    return outcomes;
  }

  const listed = await step(
    'the Source Control view lists changes made on the server, with the branch in the status bar',
    async () => {
      sshd.writeLocal('git-story/app.py', 'print("app, changed on the server")\n');
      sshd.writeLocal('git-story/notes on server.txt', 'A new file\n');
      await page.keyboard.press('Control+Shift+G');
      await scm.waitFor({ timeout: 30_000 });
      // The change made after the folder opened reaches the view through the watcher or the next refresh.
      for (let attempt = 0; ; attempt++) {
        try {
          await scmRow('notes on server.txt').waitFor({ timeout: 10_000 });
          break;
        } catch (error) {
          if (attempt === 5) {
            throw error;
          }
          await page.keyboard.press('F1');
          await page.keyboard.type('SFTP Git: Refresh');
          await page.keyboard.press('Enter');
        }
      }
      await scmRow('app.py').waitFor({ timeout: 15_000 });
      await page.locator('.statusbar-item').filter({ hasText: 'main' }).first().waitFor({ timeout: 15_000 });
      // code-server's own Git offers the repository too, only because this test server's files are
      // also on this machine's disk: its question is closed so that it does not cover the pictures.
      await closeNotifications();
      await shot('git-changes.png');
    },
  );
  if (!listed) {
    return outcomes;
  }

  await step('a row opens its changes: the index content from the server against the file', async () => {
    await scmRow('app.py').click();
    const diff = page.locator('.monaco-diff-editor').first();
    await diff.waitFor({ timeout: 30_000 });
    await diff
      .locator('.editor.original .view-lines')
      .filter({ hasText: 'print("app")' })
      .waitFor({ timeout: 15_000 });
    await diff
      .locator('.editor.modified .view-lines')
      .filter({ hasText: 'changed on the server' })
      .waitFor({ timeout: 15_000 });
    await page
      .locator('.tab')
      .filter({ hasText: 'app.py (Working Tree)' })
      .first()
      .waitFor({ timeout: 15_000 });
    await shot('git-open-changes.png');
  });

  await step(
    'the file opened alone shows the change in the gutter (quick diff against the index)',
    async () => {
      await page.keyboard.press('Control+Shift+E');
      await explorerItem('app.py').dblclick();
      await page
        .locator('.monaco-editor:not(.monaco-diff-editor .monaco-editor) .dirty-diff-modified')
        .first()
        .waitFor({ timeout: 30_000 });
      await page.keyboard.press('Control+Shift+G');
      await scm.waitFor({ timeout: 15_000 });
    },
  );

  const staged = await step('Stage All Changes moves both files to Staged Changes', async () => {
    const changesHeader = scm
      .locator('.monaco-list-row')
      .filter({ hasText: /^Changes/ })
      .first();
    await changesHeader.hover();
    await changesHeader.getByRole('button', { name: 'Stage All Changes' }).click();
    await scm
      .locator('.monaco-list-row')
      .filter({ hasText: /^Staged Changes/ })
      .first()
      .waitFor({ timeout: 15_000 });
    const deadline = Date.now() + 15_000;
    let cached = '';
    while (Date.now() < deadline) {
      cached = git('diff', '--cached', '--name-only');
      if (cached.includes('notes on server.txt') && cached.includes('app.py')) {
        return;
      }
      await page.waitForTimeout(200);
    }
    throw new Error(`staged on the server: ${JSON.stringify(cached)}`);
  });
  if (!staged) {
    return outcomes;
  }

  await step('a message and Ctrl+Enter commit on the server', async () => {
    const message = 'Commit made from the Source Control view';
    await scm.locator('.scm-editor .monaco-editor').first().click();
    await page.keyboard.type(message);
    await shot('git-commit-message.png');
    await page.keyboard.press('Control+Enter');
    const deadline = Date.now() + 20_000;
    let subject = '';
    while (Date.now() < deadline) {
      subject = git('log', '-1', '--format=%s').trim();
      if (subject === message) {
        break;
      }
      await page.waitForTimeout(200);
    }
    if (subject !== message) {
      throw new Error(`the last commit on the server is ${JSON.stringify(subject)}`);
    }
    const left = git('status', '--porcelain');
    if (left !== '') {
      throw new Error(`the work tree is not clean after the commit: ${JSON.stringify(left)}`);
    }
    await scmRow('notes on server.txt').waitFor({ state: 'detached', timeout: 15_000 });
    await shot('git-committed.png');
  });

  await step('Discard Changes asks first, then puts the file back as committed on the server', async () => {
    sshd.writeLocal('git-story/README.md', '# Edited by mistake\n');
    await page.keyboard.press('F1');
    await page.keyboard.type('SFTP Git: Refresh');
    await page.keyboard.press('Enter');
    const row = scmRow('README.md');
    await row.waitFor({ timeout: 20_000 });
    await row.hover();
    await row.getByRole('button', { name: 'Discard Changes' }).click();
    const question = page.locator('.monaco-dialog-box').filter({ hasText: 'discard changes in README.md' });
    await question.waitFor({ timeout: 15_000 });
    await question.getByRole('button', { name: 'Discard Changes' }).click();
    await row.waitFor({ state: 'detached', timeout: 15_000 });
    const content = git('show', 'HEAD:README.md');
    const onDisk = readFileSync(join(project, 'README.md'), 'utf8');
    if (onDisk !== content) {
      throw new Error(`README.md after Discard: ${JSON.stringify(onDisk)}`);
    }
  });
  return outcomes;
}
