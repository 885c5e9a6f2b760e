import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

import type { CodeServer } from '../support/codeServer';
import type { SshdFixture } from '../support/sshd';
import { runFromPalette, storySteps, type Outcome } from './editorStories';
import { closedPort } from './firstContactStories';

/**
 * Hosts the user manages: Add Host keeps a typed server in the settings and it connects from the Hosts
 * view; the folder opened becomes a recent folder under its host, and removing it there removes it
 * from the view; Remove Host takes the entry out of the settings again. A folder of a second host added
 * to the workspace is named `folder (host)`, and so is the first. Edit Host on a host of ~/.ssh/config
 * opens that file at the host's `Host` line.
 */
export async function runHostsStories(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  second: SshdFixture,
  /** The HOME of code-server and so of the extension: its .ssh/config names the test hosts. */
  home: string,
  artifacts: string,
): Promise<Outcome[]> {
  const { outcomes, shot, shotAround, step } = storySteps(page, artifacts, 'hosts');
  const folder = sshd.mkdirLocal('hosts-story');
  sshd.writeLocal('hosts-story/added-host.txt', 'hello\n');
  const alias = '127.0.0.1';
  const userSettings = join(server.dataDir, 'user-data', 'User', 'settings.json');
  const readText = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const settingsHosts = (): unknown[] => {
    try {
      const parsed = JSON.parse(readFileSync(userSettings, 'utf8')) as Record<string, unknown>;
      const hosts = parsed['sftpfs.hosts'];
      return Array.isArray(hosts) ? hosts : [];
    } catch {
      return [];
    }
  };

  const input = page.locator('.quick-input-widget input');
  const row = (text: string | RegExp) =>
    page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: text }).first();
  const palette = (command: string): Promise<void> => runFromPalette(page, command);
  const hostItem = page.getByRole('treeitem', { name: /^127\.0\.0\.1(?=:\s|\s|$)/ }).first();
  const folderItem = page
    .getByRole('treeitem', { name: new RegExp(`^${folder.replace(/[.]/g, '\\.')}\\b`) })
    .first();
  const showHostsView = async (): Promise<void> => {
    await palette('SFTP: Focus on Hosts View');
    await hostItem.waitFor({ timeout: 30_000 });
  };

  const started = await step('the workbench is up', async () => {
    // A folder of its own: without one, code-server reopens the last window (perhaps a failed one,
    // whose dialog takes keystrokes).
    await page.goto(`${server.url}/?folder=${encodeURIComponent(`sftp://${sshd.alias}${sshd.root}`)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  });
  if (!started) {
    return outcomes;
  }
  await step(
    "Edit Host on a host of ~/.ssh/config opens the file with the host's Host line selected",
    async () => {
      const config = join(home, '.ssh', 'config');
      const line = readText(config).split('\n').indexOf(`Host ${second.alias}`) + 1;
      if (line < 2) {
        throw new Error(
          `Host ${second.alias} is not below the first line of ${config}: the check would prove nothing`,
        );
      }
      await palette('SFTP: Focus on Hosts View');
      const host = page.getByRole('treeitem', { name: new RegExp(`^${second.alias}\\b`) }).first();
      await host.click({ button: 'right', timeout: 30_000 });
      await page.getByRole('menuitem', { name: 'Edit Host' }).hover({ timeout: 15_000 });
      await page.keyboard.press('Enter');
      await page
        .locator('.tabs-container .tab.active')
        .filter({ hasText: /^\s*config\b/ })
        .waitFor({ timeout: 15_000 });
      const cursor = page
        .locator('.statusbar-item')
        .filter({ hasText: /Ln \d+, Col \d+/ })
        .first();
      await cursor.waitFor({ timeout: 15_000 });
      const text = await cursor.innerText();
      if (!text.includes(`Ln ${line},`) || !/selected/.test(text)) {
        throw new Error(
          `the editor is at ${text}, not on line ${line} (Host ${second.alias}) with it selected`,
        );
      }
      await shotAround('edit-host.png', page.locator('.part.editor'), 0);
      await palette('View: Close All Editors');
    },
  );
  await step('a typed host that fails to connect is not left in the Hosts view', async () => {
    const port = await closedPort();
    await palette('SFTP: Open Remote Folder');
    await row(sshd.alias).waitFor({ timeout: 30_000 });
    await input.fill(`127.0.0.1:${port}`);
    await page.keyboard.press('Enter');
    await row(`nothing is listening on port ${port}`).waitFor({ timeout: 40_000 });
    await page.keyboard.press('Escape');
    await palette('SFTP: Focus on Hosts View');
    await page
      .getByRole('treeitem', { name: new RegExp(`^${sshd.alias}\\b`) })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1000);
    const failed = page.getByRole('treeitem', { name: new RegExp(`^127\\.0\\.0\\.1:${port}`) });
    if ((await failed.count()) !== 0) {
      await shot('hosts-failed-left.png');
      throw new Error(`127.0.0.1:${port} is listed after failing`);
    }
  });
  const added = await step(
    'Add Host asks for user@host:port and a key file, and keeps it in the settings',
    async () => {
      await palette('SFTP: Add Host...');
      await page
        .locator('.quick-input-widget')
        .filter({ hasText: 'Add Host (1/3)' })
        .waitFor({ timeout: 15_000 });
      await input.fill(`${sshd.user}@127.0.0.1:99999`);
      await page
        .locator('.quick-input-widget')
        .filter({ hasText: 'out of range' })
        .waitFor({ timeout: 15_000 });
      await shot('add-host-bad-port.png');
      await input.fill(`${sshd.user}@127.0.0.1:${sshd.port}`);
      await page.keyboard.press('Enter');
      await page
        .locator('.quick-input-widget')
        .filter({ hasText: 'Add Host (2/3)' })
        .waitFor({ timeout: 15_000 });
      await input.fill(sshd.clientKey);
      await page.keyboard.press('Enter');
      await row('Settings').waitFor({ timeout: 15_000 });
      await shot('add-host-where.png');
      await shotAround('add-host.png', page.locator('.quick-input-widget'));
      await row('Settings').click();
      await page
        .getByText(`Added the host ${alias} to the setting sftpfs.hosts`)
        .first()
        .waitFor({ timeout: 15_000 });
      const deadline = Date.now() + 10_000;
      while (settingsHosts().length === 0 && Date.now() < deadline) {
        await page.waitForTimeout(200);
      }
      const hosts = JSON.stringify(settingsHosts());
      const expected = JSON.stringify([
        { name: alias, user: sshd.user, port: sshd.port, identityFile: sshd.clientKey },
      ]);
      if (hosts !== expected) {
        throw new Error(`sftpfs.hosts is ${hosts}, expected ${expected}`);
      }
    },
  );
  if (!added) {
    return outcomes;
  }
  const opened = await step('the added host is in the Hosts view and opens a folder', async () => {
    await showHostsView();
    await shot('hosts-added.png');
    await hostItem.click();
    await row(/Open \//).waitFor({ timeout: 30_000 });
    await input.fill(folder);
    await page.keyboard.press('Enter');
    await row(`Open ${folder}`).waitFor({ timeout: 30_000 });
    await row(`Open ${folder}`).click();
    await page
      .getByRole('treeitem', { name: 'added-host.txt', exact: true })
      .first()
      .waitFor({ timeout: 60_000 });
  });
  if (!opened) {
    return outcomes;
  }
  const listed = await step('the opened folder is a recent folder under its host', async () => {
    await showHostsView();
    await hostItem.locator('.monaco-tl-twistie').click({ timeout: 30_000 });
    await folderItem.waitFor({ timeout: 30_000 });
    await shot('hosts-recent-folder.png');
  });
  if (listed) {
    await step('Remove from Recent Folders on a recent folder removes it from the view', async () => {
      await folderItem.click({ button: 'right' });
      // Menus act on Enter over the hovered item (a click on the label is not always taken).
      await page.getByRole('menuitem', { name: 'Remove from Recent Folders' }).hover({ timeout: 15_000 });
      await page.keyboard.press('Enter');
      await folderItem.waitFor({ state: 'detached', timeout: 15_000 });
      await hostItem.waitFor({ timeout: 5000 });
    });
  }
  await step('Remove Host on a settings host takes its entry out of sftpfs.hosts', async () => {
    await showHostsView();
    await hostItem.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Remove Host' }).hover({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.filter({ hasText: `Remove the host ${alias}` }).waitFor({ timeout: 15_000 });
    await shot('remove-host.png');
    await dialog.getByRole('button', { name: 'Remove' }).click();
    const deadline = Date.now() + 10_000;
    while (settingsHosts().length !== 0 && Date.now() < deadline) {
      await page.waitForTimeout(200);
    }
    if (settingsHosts().length !== 0) {
      throw new Error(`sftpfs.hosts still has ${JSON.stringify(settingsHosts())}`);
    }
  });
  await step(
    'a folder of a second host added to the workspace is named with its host, and so is the first',
    async () => {
      const other = second.mkdirLocal('hosts-second');
      await palette('SFTP: Add Remote Folder to Workspace');
      await row('bastion').waitFor({ timeout: 30_000 });
      await input.fill(`bastion:${other}`);
      await row('connect to this host').waitFor({ timeout: 15_000 });
      await page.keyboard.press('Enter');
      const names = ['hosts-story (127.0.0.1)', 'hosts-second (bastion)'];
      // The window becomes an untitled workspace: its file holds the names.
      const deadline = Date.now() + 30_000;
      let written = '';
      while (Date.now() < deadline) {
        const file = new URL(page.url()).searchParams.get('workspace');
        written = file === null ? '' : readText(file);
        if (names.every((name) => written.includes(`"name": "${name}"`))) {
          break;
        }
        await page.waitForTimeout(250);
      }
      if (!names.every((name) => written.includes(`"name": "${name}"`))) {
        throw new Error(`the workspace file does not name both roots: ${written}`);
      }
      // code-server sometimes shows a new workspace without its folders at first (see the two-host
      // story): the window is opened again, up to three times.
      for (let attempt = 1; ; attempt++) {
        try {
          for (const name of names) {
            await page.getByRole('treeitem', { name, exact: false }).first().waitFor({ timeout: 20_000 });
          }
          break;
        } catch (error) {
          if (attempt === 3) {
            throw error;
          }
          await page.goto(page.url());
        }
      }
      await shot('hosts-named-roots.png');
    },
  );
  return outcomes;
}
