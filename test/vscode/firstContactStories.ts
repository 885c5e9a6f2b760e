import { createServer } from 'node:net';
import type { Page } from 'playwright-core';

import type { CodeServer } from '../support/codeServer';
import type { SshdFixture } from '../support/sshd';
import { runFromPalette, storySteps, type Outcome } from './editorStories';

/** An errno-like code: the user is told in words, the log keeps these. */
const ERRNO = /\bE[A-Z]{3,}\b/;

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('no port');
  }
  return address.port;
}

/**
 * First contact, as a user lives it: what is typed into Open Remote Folder is checked in the picker
 * (a bad port, a space, a folder that does not exist, with or without sftp://, a file, a refused port,
 * a port where something other than SSH answers, a relative path in the folder browser) and the
 * window stays as it was; a good sftp:// address opens its folder; a folder opened on a port where
 * nothing listens gives exactly one notification, in words.
 */
export async function runFirstContactStories(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  artifacts: string,
): Promise<Outcome[]> {
  const { outcomes, shot, shotAround, step } = storySteps(page, artifacts, 'first contact');
  const folder = sshd.mkdirLocal('first-contact');
  sshd.writeLocal('first-contact/welcome.txt', 'hello\n');
  const file = sshd.writeLocal('first-contact/not-a-folder.txt', 'x\n');
  const refusedPort = await closedPort();

  const input = page.locator('.quick-input-widget input');
  const row = (text: string | RegExp) =>
    page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: text }).first();
  const openPicker = async (): Promise<void> => {
    await runFromPalette(page, 'SFTP: Open Remote Folder');
    await row(sshd.alias).waitFor({ timeout: 30_000 });
  };
  /** Types `text` into the host picker, presses Enter, and expects `message` in the picker. */
  const refused = async (
    text: string,
    message: string | RegExp,
    picture: string,
    readmePicture?: string,
  ): Promise<void> => {
    const before = page.url();
    await input.fill(text);
    await page.keyboard.press('Enter');
    await row(message).waitFor({ timeout: 40_000 });
    await shot(picture);
    if (readmePicture !== undefined) {
      await shotAround(readmePicture, page.locator('.quick-input-widget'));
    }
    await page.waitForTimeout(300);
    if (page.url() !== before) {
      throw new Error(`the window switched to ${page.url()}`);
    }
    if (!(await input.isVisible())) {
      throw new Error('the picker closed: the user cannot fix what was typed');
    }
  };

  const started = await step('the workbench is up and Open Remote Folder lists the hosts', async () => {
    await page.goto(server.url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await openPicker();
  });
  if (!started) {
    return outcomes;
  }
  await step('a port out of range is named in the picker and the window stays', () =>
    refused(
      '127.0.0.1:99999/tmp',
      'Port 99999 is out of range',
      'typed-bad-port.png',
      'typed-input-check.png',
    ),
  );
  await step('a space between host and path is named in the picker', () =>
    refused(`${sshd.alias} /tmp`, 'has a space in it', 'typed-space.png'),
  );
  await step('a relative scp path is named in the picker', () =>
    refused(`${sshd.alias}:projects`, 'neither a port number nor an absolute path', 'typed-relative.png'),
  );
  await step('an sftp:// address to a folder that does not exist says so, before the window switches', () =>
    refused(
      `sftp://${sshd.alias}/no/such/dir`,
      `/no/such/dir does not exist on ${sshd.alias}`,
      'typed-missing.png',
    ),
  );
  await step('host/path typed without sftp:// to a folder that does not exist says so too', () =>
    refused(
      `${sshd.alias}/no/such/dir`,
      `/no/such/dir does not exist on ${sshd.alias}`,
      'typed-missing-plain.png',
    ),
  );
  await step('a port where something other than SSH answers is named in the picker, in words', async () => {
    // A web server's answer, then the connection closed: what a user meets typing the wrong port.
    const web = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const address = web.address();
    const port = address !== null && typeof address !== 'string' ? address.port : 0;
    try {
      await refused(`127.0.0.1:${port}/tmp`, `port ${port} does not speak SSH`, 'typed-not-ssh.png');
      const text = await row('does not speak SSH').innerText();
      if (ERRNO.test(text)) {
        throw new Error(`the message has an errno code: ${text}`);
      }
    } finally {
      web.close();
    }
  });
  await step('a path to a file says it is not a folder', () =>
    refused(`${sshd.alias}:${file}`, 'is a file, not a folder', 'typed-file.png'),
  );
  await step('a port where nothing listens is named in the picker, in words', async () => {
    await refused(
      `127.0.0.1:${refusedPort}/tmp`,
      `nothing is listening on port ${refusedPort}`,
      'typed-refused.png',
    );
    const text = await row('nothing is listening').innerText();
    if (ERRNO.test(text)) {
      throw new Error(`the message has an errno code: ${text}`);
    }
  });

  await step(
    'a relative path in the folder browser is refused instead of opening the current folder',
    async () => {
      await openPicker();
      // The host's own row, not a recent folder on it (`alias/path`) nor `alias-readonly`.
      await row(new RegExp(`${sshd.alias}(?![-/])`)).click();
      await row(/Open \//).waitFor({ timeout: 30_000 });
      const before = page.url();
      await input.fill('no/leading/slash');
      await page.keyboard.press('Enter');
      await row('is not an absolute path').waitFor({ timeout: 15_000 });
      await shot('browser-relative.png');
      await page.waitForTimeout(300);
      if (page.url() !== before || !(await input.isVisible())) {
        throw new Error('the folder browser opened a folder for a relative path');
      }
      await page.keyboard.press('Escape');
    },
  );

  await step('a pasted sftp:// address of an existing folder opens it', async () => {
    await openPicker();
    await input.fill(`sftp://${sshd.alias}${folder}`);
    await row('connect to this host').waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    await page
      .getByRole('treeitem', { name: 'welcome.txt', exact: true })
      .first()
      .waitFor({ timeout: 60_000 });
    if (!decodeURIComponent(page.url()).includes(`sftp://${sshd.alias}${folder}`)) {
      throw new Error(`the window shows ${page.url()}`);
    }
  });

  await step(
    'a folder on a port where nothing listens gives exactly one notification, in words',
    async () => {
      await page.goto(`${server.url}/?folder=${encodeURIComponent(`sftp://127.0.0.1:${refusedPort}/tmp`)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      const toasts = page.locator('.notifications-toasts .notification-toast');
      await toasts.filter({ hasText: 'Cannot connect' }).first().waitFor({ timeout: 30_000 });
      // Later retries by VS Code must not add a second one.
      await page.waitForTimeout(4000);
      await page.keyboard.press('Escape'); // VS Code's own "does not exist" dialog covers the toasts
      await shot('refused-notification.png');
      await shotAround('connection-failure.png', toasts.filter({ hasText: 'Cannot connect' }).first(), 16);
      const texts = (await toasts.allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());
      const failures = texts.filter((text) => text.includes(`127.0.0.1:${refusedPort}`));
      if (failures.length !== 1) {
        throw new Error(`expected one notification about the failure, got ${JSON.stringify(texts)}`);
      }
      const [only] = failures;
      if (
        only === undefined ||
        ERRNO.test(only) ||
        !only.includes(`nothing is listening on port ${refusedPort}`)
      ) {
        throw new Error(`the notification is not in words: ${String(only)}`);
      }
      if (texts.some((text) => /: \.\s*$|: \.\s/.test(text))) {
        throw new Error(`a notification ends in ": .": ${JSON.stringify(texts)}`);
      }
      await toasts
        .filter({ hasText: 'Cannot connect' })
        .first()
        .getByRole('button', { name: 'Show Log' })
        .waitFor();
    },
  );
  return outcomes;
}
