import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

import type { CodeServer } from '../support/codeServer';
import type { SshdFixture } from '../support/sshd';
import { storySteps, type Outcome } from './editorStories';

/**
 * Search where users look for it: in a window of a remote folder, Ctrl+P opens Go to File on Server,
 * which finds a file never opened from a few of its letters, and Ctrl+Shift+F runs Find in Files on
 * Server, whose Search Results view stays and opens a match at its line; Replace in Files changes the
 * file on the server after the Refactor Preview.
 */
export async function runSearchStories(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  artifacts: string,
): Promise<Outcome[]> {
  const { outcomes, shot, shotAround, step } = storySteps(page, artifacts, 'search');
  const project = sshd.mkdirLocal('search-story');
  sshd.mkdirLocal('search-story/src/deep/er');
  sshd.writeLocal('search-story/README.md', '# Search story\n');
  sshd.writeLocal('search-story/src/deep/er/tuckedAway.ts', 'export const hidden = "found by name";\n');
  sshd.writeLocal('search-story/src/app.py', 'import os\n\nprint("a haystack needle here")\n');
  sshd.writeLocal('search-story/src/other.txt', 'no match in here\n');
  // More names, so that the picture of Go to File has a few fuzzy matches to show.
  sshd.mkdirLocal('search-story/docs');
  sshd.writeLocal('search-story/docs/tutorial.md', '# Tutorial\n');
  sshd.writeLocal('search-story/src/textUtils.ts', 'export {};\n');

  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('input');
  const row = (text: string | RegExp) =>
    widget.locator('.quick-input-list .monaco-list-row').filter({ hasText: text }).first();
  const editorShows = (text: string) =>
    page.locator('.monaco-editor .view-lines').filter({ hasText: text }).first();
  const treeItem = (name: string | RegExp) => page.getByRole('treeitem', { name }).first();
  /** Clicks an action in the Search Results view's title (shown while the pointer is over the view). */
  const viewAction = async (name: string): Promise<void> => {
    await page
      .locator('.pane-header')
      .filter({ hasText: /Search Results/i })
      .first()
      .hover();
    await page.getByRole('button', { name }).first().click();
  };
  /** Presses a key binding in the workbench; retried while the extension is still activating. */
  const press = async (keys: string, expected: string | RegExp): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('Escape');
      await page.keyboard.press(keys);
      try {
        await widget.filter({ hasText: expected }).waitFor({ timeout: 5000 });
        return;
      } catch (error) {
        if (attempt === 6) {
          const shown = (await widget.isVisible()) ? await widget.innerText() : 'nothing';
          throw new Error(`${keys} showed ${JSON.stringify(shown)}: ${String(error)}`);
        }
      }
    }
  };

  const opened = await step('a remote folder opens in the window', async () => {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(`sftp://${sshd.alias}${project}`)}`);
    await treeItem('README.md').waitFor({ timeout: 60_000 });
    await page.locator('.explorer-folders-view').first().click(); // the keyboard goes to the workbench
  });
  if (!opened) {
    return outcomes;
  }

  await step(
    'Ctrl+P opens Go to File on Server, which finds a never opened file from scattered letters',
    async () => {
      await press('Control+P', 'Go to File on');
      await input.fill('tu');
      await row('textUtils.ts').waitFor({ timeout: 30_000 });
      await row('tutorial.md').waitFor({ timeout: 30_000 });
      await shotAround('go-to-file.png', widget);
      await input.fill('tuckaw');
      const found = row('tuckedAway.ts');
      await found.waitFor({ timeout: 30_000 });
      if (!(await found.innerText()).includes('src/deep/er')) {
        throw new Error(`the row does not name the folder: ${await found.innerText()}`);
      }
      await shot('search-go-to-file.png');
      await page.keyboard.press('Enter');
      await editorShows('found by name').waitFor({ timeout: 30_000 });
    },
  );

  const searched = await step(
    'Ctrl+Shift+F runs Find in Files on Server; the Search Results view lists the file with its count',
    async () => {
      await press('Control+Shift+F', 'regular expression');
      await input.fill('needle');
      await page.keyboard.press('Enter');
      await treeItem(/app\.py/).waitFor({ timeout: 30_000 });
      await treeItem(/a haystack needle here/).waitFor({ timeout: 30_000 });
      await page
        .getByText(/1 match in 1 file for needle/)
        .first()
        .waitFor({ timeout: 30_000 });
      await shot('search-results-view.png');
    },
  );
  if (!searched) {
    return outcomes;
  }

  await step('a match in the Search Results view opens its file at its line', async () => {
    await treeItem(/a haystack needle here/).click();
    await editorShows('a haystack needle here').waitFor({ timeout: 30_000 });
    const cursor = await page
      .locator('.statusbar-item')
      .filter({ hasText: /Ln \d+, Col \d+/ })
      .first()
      .innerText();
    if (!cursor.includes('Ln 3,')) {
      throw new Error(`the editor opened at ${cursor}, not at line 3`);
    }
  });

  await step(
    'Replace in Files shows the Refactor Preview, and applying it changes the file on the server',
    async () => {
      await viewAction('Replace in Files on Server...');
      await widget.filter({ hasText: 'Replacement' }).waitFor({ timeout: 15_000 });
      await input.fill('pin');
      await page.keyboard.press('Enter');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.filter({ hasText: 'on 1 line(s) in 1 file(s)' }).waitFor({ timeout: 15_000 });
      await dialog.getByRole('button', { name: 'Preview…' }).click();
      // Changes that need confirmation start unticked in the Refactor Preview: tick the file, then Apply.
      const change = page
        .locator('.part.panel .monaco-list-row')
        .filter({ hasText: 'app.py' })
        .first()
        .getByRole('checkbox');
      await change.waitFor({ timeout: 30_000 });
      await change.click();
      await shot('search-replace-preview.png');
      await page.getByRole('button', { name: 'Apply', exact: true }).first().click();
      const file = sshd.local('search-story/src/app.py');
      const expected = 'import os\n\nprint("a haystack pin here")\n';
      const deadline = Date.now() + 20_000;
      while (readFileSync(file, 'utf8') !== expected && Date.now() < deadline) {
        await page.waitForTimeout(100);
      }
      const content = readFileSync(file, 'utf8');
      if (content !== expected) {
        throw new Error(`the server has ${JSON.stringify(content)}`);
      }
    },
  );

  await step('Clear Search Results empties the view', async () => {
    await viewAction('Clear Search Results');
    await treeItem(/app\.py/).waitFor({ state: 'detached', timeout: 15_000 });
  });

  await step("a window of a local folder keeps VS Code's own Ctrl+P", async () => {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(project)}`);
    await treeItem('README.md').waitFor({ timeout: 60_000 });
    await page.locator('.explorer-folders-view').first().click();
    await page.keyboard.press('Control+P');
    await widget.waitFor({ timeout: 15_000 });
    await input.fill('tuckaw');
    await page.waitForTimeout(1500);
    const text = await widget.innerText();
    if (text.includes('Go to File on')) {
      throw new Error(`Ctrl+P opened the server's Go to File in a local window: ${text}`);
    }
    await page.keyboard.press('Escape');
  });
  return outcomes;
}
