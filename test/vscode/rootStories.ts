import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

import type { CodeServer } from '../support/codeServer';
import type { SshdFixture } from '../support/sshd';
import { SUDOER, installSudoRules, removeSudoRules, sudoUnavailable } from '../support/sudoAccounts';
import { storySteps, type Outcome } from './editorStories';

/** GID of Debian's `adm` group. */
const ADM_GID = 4;
const ORIGINAL = 'server_name example.org;\n';
const EDITED = 'server_name example.org www.example.org;\n';

/**
 * Editing as root, as an administrator lives it: a group-writable configuration file that belongs to
 * root opens as an ordinary file (the login is not in its group, so the editor cannot know the save
 * will be refused); the save is refused, the error offers Retry as Root, the sudo password is asked in
 * a hidden box, and the file is saved as root with its owner, group and mode unchanged.
 */
export async function runRootStories(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  artifacts: string,
): Promise<Outcome[]> {
  if (sudoUnavailable !== undefined) {
    console.log(`skipped: the root stories ${sudoUnavailable}`);
    return [];
  }
  installSudoRules();
  const { outcomes, shot, step } = storySteps(page, artifacts, 'as root');
  const folder = sshd.local('root-story');
  mkdirSync(folder, { mode: 0o755 });
  chownSync(folder, 0, 0);
  const file = `${folder}/site.conf`;
  writeFileSync(file, ORIGINAL);
  chownSync(file, 0, ADM_GID);
  chmodSync(file, 0o664);
  const secret = `${folder}/secret.conf`;
  writeFileSync(secret, 'password hunter2\n');
  chownSync(secret, 0, ADM_GID);
  chmodSync(secret, 0o640);
  const folderUri = `sftp://${SUDOER.name}@${sshd.alias}${folder}`;
  const editorShows = (text: string) =>
    page.locator('.monaco-editor .view-lines').filter({ hasText: text }).first();
  const enterSudoPassword = async (): Promise<void> => {
    await page
      .locator('.quick-input-widget')
      .filter({ hasText: '[sudo] password for' })
      .waitFor({ timeout: 60_000 });
    await page.keyboard.type(SUDOER.password);
    await page.keyboard.press('Enter');
  };

  try {
    const opened = await step('a root-owned, group-writable file opens as an ordinary file', async () => {
      await page.goto(`${server.url}/?folder=${encodeURIComponent(folderUri)}`);
      await page.getByRole('treeitem', { name: 'site.conf' }).first().click({ timeout: 60_000 });
      await editorShows('server_name example.org;').waitFor({ timeout: 30_000 });
    });
    const offered =
      opened &&
      (await step('saving is refused, and the error offers Retry as Root', async () => {
        await editorShows('server_name').click();
        await page.keyboard.press('Control+End');
        await page.keyboard.press('ArrowUp');
        await page.keyboard.press('End');
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.type(' www.example.org');
        await page.keyboard.press('Escape'); // the word suggestions typing opened
        await page.keyboard.press('Control+S');
        await page.getByRole('button', { name: 'Retry as Root' }).first().waitFor({ timeout: 30_000 });
        await page.getByText('site.conf could not be saved').first().waitFor({ timeout: 5000 });
        await page.waitForTimeout(800); // the notification fades in
        await shot('retry-as-root-offer.png');
      }));
    const asked =
      offered &&
      (await step('Retry as Root asks for the sudo password in a hidden box', async () => {
        await page.getByRole('button', { name: 'Retry as Root' }).first().click();
        const box = page.locator('.quick-input-widget').filter({ hasText: '[sudo] password for' });
        await box.waitFor({ timeout: 30_000 });
        if ((await box.locator('input').getAttribute('type')) !== 'password') {
          throw new Error('the sudo password input is not hidden');
        }
        await shot('sudo-password.png');
        await page.keyboard.type(SUDOER.password);
        await page.keyboard.press('Enter');
      }));
    const saved =
      asked &&
      (await step('the file is saved as root: content changed, owner, group and mode unchanged', async () => {
        const deadline = Date.now() + 30_000;
        while (readFileSync(file, 'utf8') !== EDITED && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        if (readFileSync(file, 'utf8') !== EDITED) {
          throw new Error(`the server has ${JSON.stringify(readFileSync(file, 'utf8'))}`);
        }
        const after = statSync(file);
        const kept = { uid: after.uid, gid: after.gid, mode: after.mode & 0o7777 };
        if (kept.uid !== 0 || kept.gid !== ADM_GID || kept.mode !== 0o664) {
          throw new Error(`owner, group or mode changed: ${JSON.stringify(kept)}`);
        }
        // The editor now shows the file as root: the status bar says so.
        await page
          .locator('.statusbar-item')
          .filter({ hasText: /^\s*root\s*$/ })
          .first()
          .waitFor({ timeout: 15_000 });
        await editorShows('www.example.org').waitFor({ timeout: 15_000 });
        // The tab carries the root mark too: a `#` badge and a colour, from the file decoration.
        // VS Code draws the badge with CSS (::after), so it is read from the computed style.
        await page.waitForFunction(
          `[...document.querySelectorAll('.tab.active *')].some((element) =>
             getComputedStyle(element, '::after').content.includes('#'))`,
          undefined,
          { timeout: 15_000 },
        );
        await shot('saved-as-root.png');
      }));
    if (saved) {
      await step('a file the login may not read offers Retry as Root, which opens it as root', async () => {
        await page.getByRole('treeitem', { name: 'secret.conf' }).first().click();
        await page.getByText('secret.conf could not be opened').first().waitFor({ timeout: 30_000 });
        // VS Code's own "Unable to open" dialog comes first, and is modal.
        const dialog = page.locator('.monaco-dialog-box').filter({ hasText: 'Unable to open' });
        if (await dialog.isVisible()) {
          await dialog.getByRole('button', { name: 'Cancel' }).click();
        }
        await page.getByRole('button', { name: 'Retry as Root' }).first().click();
        // The root session is open already: no password is asked again.
        await editorShows('password hunter2').waitFor({ timeout: 30_000 });
        await shot('opened-as-root.png');
      });
    }
    const folderAsRoot =
      saved &&
      (await step(
        'Open Folder as Root from the palette reopens the window on the folder as root',
        async () => {
          await page.keyboard.press('Escape');
          await page.keyboard.press('F1');
          await page.locator('.quick-input-widget input').waitFor({ timeout: 15_000 });
          await page.keyboard.type('SFTP: Open Folder as Root');
          await page
            .locator('.quick-input-list .monaco-list-row')
            .filter({ hasText: 'Open Folder as Root' })
            .first()
            .waitFor({ timeout: 15_000 });
          await page.keyboard.press('Enter');
          await page.waitForURL(/%3Bsudo%40|;sudo@/, { timeout: 30_000 });
          await enterSudoPassword();
          await page.getByRole('treeitem', { name: 'secret.conf' }).first().waitFor({ timeout: 60_000 });
          await page
            .getByText(/\[SFTP as root\]/i)
            .first()
            .waitFor({ timeout: 15_000 });
          await shot('folder-as-root.png');
        },
      ));
    if (folderAsRoot) {
      await step(
        'the root folder survives a window reload (sudo asked again in the new window)',
        async () => {
          await page.reload();
          await enterSudoPassword();
          await page.getByRole('treeitem', { name: 'secret.conf' }).first().click({ timeout: 60_000 });
          await editorShows('password hunter2').waitFor({ timeout: 30_000 });
        },
      );
    }
  } finally {
    removeSudoRules();
  }
  return outcomes;
}
