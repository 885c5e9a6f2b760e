import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';

import type { CodeServer } from '../support/codeServer';
import type { SshdFixture } from '../support/sshd';

/**
 * The editor-integration stories, each as a user would live it in a real VS Code in a real browser:
 * open a folder from the palette, see remote changes, search, use a terminal, lose the connection.
 * Screenshots go to the artefacts folder; the README shows some of them.
 */
export interface Outcome {
  title: string;
  state: 'passed' | 'failed';
  error?: string;
}

/**
 * Records each step of a story as an outcome titled `<prefix>: <step>`; a failed step leaves a
 * screenshot in the artefacts folder. `step` answers whether the step passed. `shotAround` keeps only
 * the part of the window around what it shows (a picker, a dialog, a notification), with `margin`
 * pixels of what is behind it: a small picture that still reads on the README's page.
 */
export function storySteps(
  page: Page,
  artifacts: string,
  prefix: string,
): {
  outcomes: Outcome[];
  shot: (name: string) => Promise<unknown>;
  shotAround: (name: string, shown: Locator, margin?: number) => Promise<unknown>;
  step: (title: string, body: () => Promise<void>) => Promise<boolean>;
} {
  const outcomes: Outcome[] = [];
  const shot = (name: string): Promise<unknown> => page.screenshot({ path: join(artifacts, name) });
  const shotAround = async (name: string, shown: Locator, margin = 40): Promise<unknown> => {
    const box = await shown.boundingBox();
    const viewport = page.viewportSize();
    if (box === null || viewport === null) {
      throw new Error(`nothing to take a picture of for ${name}`);
    }
    const x = Math.max(0, Math.floor(box.x - margin));
    const y = Math.max(0, Math.floor(box.y - margin));
    const clip = {
      x,
      y,
      width: Math.min(viewport.width, Math.ceil(box.x + box.width + margin)) - x,
      height: Math.min(viewport.height, Math.ceil(box.y + box.height + margin)) - y,
    };
    return page.screenshot({ path: join(artifacts, name), clip });
  };
  const step = async (title: string, body: () => Promise<void>): Promise<boolean> => {
    try {
      await body();
      outcomes.push({ title: `${prefix}: ${title}`, state: 'passed' });
      return true;
    } catch (error) {
      await shot(`failure-${title.replace(/\W+/g, '-').slice(0, 60)}.png`).catch(() => undefined);
      outcomes.push({
        title: `${prefix}: ${title}`,
        state: 'failed',
        error: String((error as Error).stack ?? error),
      });
      return false;
    }
  };
  return { outcomes, shot, shotAround, step };
}

/**
 * Runs a command from the palette (F1), retried while the extension's commands are still being
 * registered, and chosen by a click on its own row: Enter can take another row while the filter
 * catches up.
 */
export async function runFromPalette(page: Page, command: string): Promise<void> {
  const row = page
    .locator('.quick-input-widget .quick-input-list .monaco-list-row')
    .filter({ hasText: command })
    .first();
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').waitFor({ timeout: 15_000 });
    await page.keyboard.type(command);
    try {
      await row.waitFor({ timeout: 5000 });
      break;
    } catch (error) {
      if (attempt === 6) {
        throw error;
      }
    }
  }
  await row.click();
}

export async function runEditorIntegrationStories(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  artifacts: string,
): Promise<Outcome[]> {
  const { outcomes, shot, step } = storySteps(page, artifacts, 'editor');
  const project = sshd.local('story');
  sshd.mkdirLocal('story/src');
  sshd.writeLocal('story/notes.txt', 'First version\n');
  sshd.writeLocal('story/src/app.py', 'def main():\n    print("needle in the code")\n');
  sshd.writeLocal('story/README.md', '# Story\n');

  const palette = (command: string): Promise<void> => runFromPalette(page, command);
  const quickPickRow = (text: string | RegExp) =>
    page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: text }).first();
  const explorerItem = (name: string) => page.getByRole('treeitem', { name, exact: true }).first();
  const editorShows = (text: string) =>
    page.locator('.monaco-editor .view-lines').filter({ hasText: text }).first();
  const statusItem = page.locator('.statusbar-item').filter({ hasText: sshd.alias }).first();
  const connectedAgain = () =>
    page
      .locator('.statusbar-item')
      .filter({ hasText: new RegExp(`^\\s*${sshd.alias}\\s*$`) })
      .first()
      .waitFor({ timeout: 30_000 });
  /** Starts recording every text the status bar item shows (a state may last less than a poll). */
  const recordStatusTexts = (): Promise<unknown> =>
    page.evaluate(`(() => {
      const seen = (globalThis.sftpfsStatusTexts = []);
      const record = () => {
        for (const item of document.querySelectorAll('.statusbar-item')) {
          const text = (item.textContent || '').trim();
          if (text.includes(${JSON.stringify(sshd.alias)}) && seen.at(-1) !== text) seen.push(text);
        }
      };
      globalThis.sftpfsStatusObserver?.disconnect();
      globalThis.sftpfsStatusObserver = new MutationObserver(record);
      globalThis.sftpfsStatusObserver.observe(document.body, { subtree: true, childList: true, characterData: true });
      record();
    })()`);
  const expectStatusPassedThrough = async (state: string): Promise<void> => {
    for (let tries = 0; tries < 150; tries++) {
      const seen = (await page.evaluate('globalThis.sftpfsStatusTexts')) as string[];
      if (seen.some((text) => text.includes(state))) {
        return;
      }
      await page.waitForTimeout(100);
    }
    throw new Error(
      `the status bar never said ${state}: ${JSON.stringify(await page.evaluate('globalThis.sftpfsStatusTexts'))}`,
    );
  };

  const opened = await step(
    'Open Remote Folder from the palette: pick a host, browse to a folder, see its files',
    async () => {
      await page.goto(server.url);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await palette('SFTP: Open Remote Folder');
      // Configured hosts come first, in ~/.ssh/config order: the test server is the first row.
      const first = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
      await first.filter({ hasText: sshd.alias }).waitFor({ timeout: 30_000 });
      await shot('host-picker.png');
      // A click, not Enter: the welcome page opening at startup may take the keyboard focus.
      await first.click();
      // The folder browser starts in the account's home; a typed absolute path goes straight there.
      await quickPickRow(/Open \//).waitFor({ timeout: 30_000 });
      await page.locator('.quick-input-widget input').fill(project);
      await page.keyboard.press('Enter');
      await quickPickRow(`Open ${project}`).waitFor({ timeout: 30_000 });
      await quickPickRow('src').waitFor();
      await shot('folder-picker.png');
      await quickPickRow(`Open ${project}`).click();
      for (const name of ['notes.txt', 'README.md', 'src']) {
        await explorerItem(name).waitFor({ timeout: 60_000 });
      }
      await shot('explorer-remote-folder.png');
    },
  );
  if (!opened) {
    return outcomes;
  }

  await step(
    'the status bar shows the connection; Show Connection Info names server, cipher and limits',
    async () => {
      await statusItem.waitFor({ timeout: 30_000 });
      await palette('SFTP: Show Connection Info');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 30_000 });
      const text = (await dialog.innerText()).replace(/\s+/g, ' ');
      for (const expected of [
        /OpenSSH/,
        /Cipher: \S+/,
        /SFTP limits: read \d+ B/,
        /posix-rename@openssh\.com/,
      ]) {
        if (!expected.test(text)) {
          throw new Error(`connection info lacks ${String(expected)}: ${text}`);
        }
      }
      await shot('connection-info.png');
      await page.keyboard.press('Escape');
    },
  );

  await step('the Hosts view lists the configured hosts with the connected one marked', async () => {
    // The SFTP container has its own activity-bar icon (media/hosts.svg, shipped in the .vsix).
    await page
      .locator('.activitybar .action-item a[aria-label^="SFTP"]')
      .first()
      .waitFor({ state: 'attached', timeout: 30_000 });
    await palette('SFTP: Focus on Hosts View');
    const host = page.getByRole('treeitem', { name: new RegExp(`^${sshd.alias}\\b(?!-)`) }).first();
    await host.waitFor({ timeout: 30_000 });
    await host.filter({ hasText: 'connected' }).waitFor({ timeout: 30_000 });
    await page
      .getByRole('treeitem', { name: /behind-bastion/ })
      .first()
      .waitFor();
    await shot('hosts-view.png');
    await page.keyboard.press('Control+Shift+E'); // back to the Explorer
    await explorerItem('notes.txt').waitFor({ timeout: 30_000 });
  });

  const editing = await step(
    'a file changed on the server updates in its open editor without any action',
    async () => {
      await explorerItem('notes.txt').click();
      await editorShows('First version').waitFor({ timeout: 30_000 });
      writeFileSync(join(project, 'notes.txt'), 'Second version, written on the server\n');
      await editorShows('Second version, written on the server').waitFor({ timeout: 30_000 });
      await shot('remote-change.png');
    },
  );

  await step('files created and deleted on the server appear in and vanish from the Explorer', async () => {
    sshd.writeLocal('story/created-on-server.txt', 'new\n');
    await explorerItem('created-on-server.txt').waitFor({ timeout: 30_000 });
    rmSync(join(project, 'created-on-server.txt'));
    await explorerItem('created-on-server.txt').waitFor({ state: 'detached', timeout: 30_000 });
  });

  if (editing) {
    await step('an open file deleted on the server is shown as deleted', async () => {
      rmSync(join(project, 'notes.txt'));
      await page
        .locator('.tabs-container .tab')
        .filter({ hasText: 'notes.txt' })
        .locator('.monaco-icon-label.strikethrough, .label-name.strikethrough')
        .first()
        .or(page.locator('.tabs-container .tab.deleted').first())
        .waitFor({ timeout: 30_000 });
      await shot('deleted-on-server.png');
      await page.keyboard.press('Control+K');
      await page.keyboard.press('W'); // close all editors (the deleted one asks nothing: it is not dirty)
    });
  }

  await step(
    'Find in Files searches on the server and its results view opens the match at its line',
    async () => {
      await palette('SFTP: Find in Files on Server');
      const input = page.locator('.quick-input-widget input');
      await page
        .locator('.quick-input-widget')
        .filter({ hasText: 'regular expression' })
        .waitFor({ timeout: 15_000 });
      await input.fill('needle');
      await page.keyboard.press('Enter');
      // The results stay in the Search Results view, by file.
      await page
        .getByRole('treeitem', { name: /app\.py/ })
        .first()
        .waitFor({ timeout: 30_000 });
      const result = page.getByRole('treeitem', { name: /needle in the code/ }).first();
      await result.waitFor({ timeout: 30_000 });
      await shot('search-results.png');
      await result.click();
      await editorShows('needle in the code').waitFor({ timeout: 30_000 });
      const cursor = await page
        .locator('.statusbar-item')
        .filter({ hasText: /Ln \d+, Col \d+/ })
        .first()
        .innerText();
      if (!cursor.includes('Ln 2,')) {
        throw new Error(`the editor opened at ${cursor}, not at line 2`);
      }
    },
  );

  await step(
    "Open SSH Terminal Here starts a shell in the active file's folder; a command run there changes the server",
    async () => {
      await palette('SFTP: Open SSH Terminal Here');
      await page.locator('.terminal-wrapper, .xterm').first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(2000); // the login shell's prompt
      await page.locator('.xterm').first().click();
      await page.keyboard.type('echo "typed in the terminal in $(pwd)" > from-terminal.txt');
      await page.keyboard.press('Enter');
      // "Here" is the folder of the active editor's file (src/app.py, opened by the search above).
      const file = join(project, 'src', 'from-terminal.txt');
      const deadline = Date.now() + 20_000;
      while (!existsSync(file) && Date.now() < deadline) {
        await page.waitForTimeout(200);
      }
      if (!existsSync(file)) {
        throw new Error('the command typed in the terminal did not run on the server');
      }
      const content = readFileSync(file, 'utf8').trim();
      if (content !== `typed in the terminal in ${join(project, 'src')}`) {
        throw new Error(`the terminal ran in another folder: ${content}`);
      }
      await shot('terminal.png');
    },
  );

  await step(
    'the Explorer context menu offers the SFTP actions on remote items; Copy Remote Path copies',
    async () => {
      // Find in Files left its results view in the side bar, as VS Code's own search does.
      await palette('View: Show Explorer');
      await page.keyboard.press('Escape');
      await explorerItem('README.md').click({ button: 'right' });
      const menu = page.locator('.monaco-menu').first();
      for (const action of ['Open SSH Terminal Here', 'Download from SFTP...', 'Copy Remote Path']) {
        await menu.getByText(action, { exact: true }).first().waitFor({ timeout: 15_000 });
      }
      await shot('context-menu.png');
      await menu.getByText('Copy Remote Path', { exact: true }).first().click();
      await page
        .locator('.statusbar-item')
        .filter({ hasText: `Copied ${join(project, 'README.md')}` })
        .first()
        .waitFor({ timeout: 15_000 });
    },
  );

  await step(
    'Download from SFTP on a remote folder copies it to this machine, with its files byte for byte',
    async () => {
      const downloads = join(sshd.dir, 'downloads');
      mkdirSync(downloads, { recursive: true });
      await explorerItem('src').click({ button: 'right' });
      // The item lies over the terminal panel, whose mouse handling swallows a click: hover focuses it
      // and Enter runs it, as a keyboard user would.
      await page.getByRole('menuitem', { name: 'Download from SFTP...' }).hover();
      await page.keyboard.press('Enter');
      // code-server's folder dialog is a quick input: type the folder, then press its OK button.
      const dialogInput = page.locator('.quick-input-widget input');
      await page
        .locator('.quick-input-widget')
        .filter({ hasText: 'Download Here' })
        .waitFor({ timeout: 15_000 });
      // The dialog fills in its starting folder itself; typing before that would be overwritten.
      for (let tries = 0; (await dialogInput.inputValue()) === '' && tries < 50; tries++) {
        await page.waitForTimeout(100);
      }
      // Replace its text in one input event, as a paste would (typed keys trigger its autocompletion).
      await dialogInput.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText(`${downloads}/`);
      // The empty download folder lists only '..': the dialog is there, not in its starting folder.
      const rows = page.locator('.quick-input-widget .monaco-list-row');
      for (let tries = 0; (await rows.count()) !== 1 && tries < 100; tries++) {
        await page.waitForTimeout(100);
      }
      await page.locator('.quick-input-widget').getByRole('button', { name: 'Download Here' }).click();
      const downloaded = join(downloads, 'src', 'app.py');
      const deadline = Date.now() + 30_000;
      while (!existsSync(downloaded) && Date.now() < deadline) {
        await page.waitForTimeout(200);
      }
      if (
        !existsSync(downloaded) ||
        readFileSync(downloaded, 'utf8') !== readFileSync(join(project, 'src', 'app.py'), 'utf8')
      ) {
        throw new Error('the folder was not downloaded');
      }
    },
  );

  await step(
    'a dropped connection shows as reconnecting in the status bar, then recovers by itself',
    async () => {
      await statusItem.waitFor({ timeout: 30_000 });
      await recordStatusTexts();
      sshd.dropConnections();
      await statusItem.filter({ hasText: 'reconnecting' }).waitFor({ timeout: 15_000 });
      await shot('status-reconnecting.png');
      await connectedAgain();
      await expectStatusPassedThrough('reconnecting');
    },
  );

  await step(
    'Disconnect shows disconnected in the status bar, and the connection comes back on use',
    async () => {
      await recordStatusTexts();
      await palette('SFTP: Disconnect');
      // Anything VS Code reads next reconnects at once, so "disconnected" may show only briefly: the
      // status bar's texts are recorded as they change. If it still shows, clicking it reconnects.
      await expectStatusPassedThrough('disconnected');
      if (await statusItem.filter({ hasText: 'disconnected' }).isVisible()) {
        await shot('status-disconnected.png');
        await statusItem.click();
      }
      await connectedAgain();
    },
  );
  await step('on an SFTP-only account, Open SSH Terminal Here says there is no shell', async () => {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(`sftp://${sshd.readOnlyAlias}${project}`)}`);
    await explorerItem('README.md').waitFor({ timeout: 60_000 });
    await palette('SFTP: Open SSH Terminal Here');
    await page
      .getByText(/allows SFTP only: this account has no shell/)
      .first()
      .waitFor({ timeout: 30_000 });
    await shot('no-shell.png');
  });
  await step(
    'over a slow link, a recursive delete shows progress with Cancel; cancelling stops it and keeps the rest',
    async () => {
      for (let f = 0; f < 10; f++) {
        sshd.mkdirLocal(`story/bulk/d${f}`);
        for (let i = 0; i < 200; i++) {
          sshd.writeLocal(`story/bulk/d${f}/f${i}.txt`, 'x');
        }
      }
      // slow-link is the same server behind a 50 ms round trip: 2,010 removals take several seconds.
      await page.goto(`${server.url}/?folder=${encodeURIComponent(`sftp://slow-link${project}`)}`);
      await explorerItem('bulk').waitFor({ timeout: 60_000 });
      await explorerItem('bulk').click({ button: 'right' });
      await page.getByRole('menuitem', { name: 'Delete Permanently' }).hover();
      await page.keyboard.press('Enter');
      const confirm = page.locator('.monaco-dialog-box');
      await confirm.waitFor({ timeout: 15_000 });
      await confirm.getByRole('button', { name: 'Delete' }).click();
      // The progress notification, as a toast or (if VS Code keeps it quiet) in the notification centre.
      const deleting = (where: string) =>
        page.locator(`${where} .monaco-list-row`).filter({ hasText: 'Deleting' }).first();
      const toast = deleting('.notifications-toasts');
      try {
        await toast.waitFor({ timeout: 5000 });
      } catch {
        await palette('Notifications: Show Notifications');
      }
      const progress = (await toast.isVisible()) ? toast : deleting('.notifications-center');
      await progress.waitFor({ timeout: 15_000 });
      await page.waitForTimeout(600); // the toast slides in
      await shot('delete-progress.png');
      await progress.getByRole('button', { name: 'Cancel' }).click();
      await page
        .getByText(/Cancelled/)
        .first()
        .waitFor({ timeout: 30_000 });
      const left = readdirSync(join(project, 'bulk'), { recursive: true }).length;
      if (left === 0 || left >= 2010) {
        throw new Error(`${left} entries left: the delete was not stopped part way`);
      }
    },
  );
  return outcomes;
}
