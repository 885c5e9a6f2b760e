import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

import { launchChromium } from '../support/browser';
import { PROJECT_ROOT, installExtension, startCodeServer, type CodeServer } from '../support/codeServer';
import { TEST_PASSWORD, canManageAccounts, type SshdFixture } from '../support/sshd';
import { runCommandStories } from './commandStories';
import { runEditorIntegrationStories, type Outcome } from './editorStories';
import { runFirstContactStories } from './firstContactStories';
import { runGitStories } from './gitStories';
import { runHostsStories } from './hostsStories';
import { runRealServerStories } from './realServerStories';
import { runRootStories } from './rootStories';
import { runSearchStories } from './searchStories';
import { prepareSuiteEnvironment, type SuiteEnvironment } from './suiteEnvironment';

/**
 * The in-editor tier: a real sshd, a real VS Code (code-server) and Chromium driven by playwright-core.
 *   1. The mocha suite in test/vscode/suite runs inside the extension host (through the workbench's
 *      test payload, as @vscode/test-electron does on desktop) and writes its results to a file.
 *   2. A user's story through the UI, with the packaged .vsix installed the way a user installs it:
 *      open the remote folder, see it in the Explorer, open a file, type, save, and find the change on
 *      the server. Screenshots go to test-artifacts/.
 * It ends with one "N passed, N failed" line and a non-zero exit code on any failure.
 */
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');

async function main(): Promise<number> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'sftpfs-vscode-'));
  const outcomes: Outcome[] = [];
  let suite: SuiteEnvironment | undefined;
  let server: CodeServer | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    suite = await prepareSuiteEnvironment(work);
    const { sshd } = suite;
    const dataDir = join(work, 'code-server');
    installExtension(dataDir, join(PROJECT_ROOT, 'dist', 'sftp-fs.vsix'));
    server = await startCodeServer({ dataDir, home: suite.home, env: suite.env });
    browser = await launchChromium();
    const folderUri = `sftp://${sshd.alias}${sshd.root}`;

    // SFTPFS_STORIES=editor,password (for example) runs only those while working on them.
    const only = process.env['SFTPFS_STORIES']?.split(',');
    const wanted = (name: string): boolean => only === undefined || only.includes(name);
    if (wanted('suite')) {
      outcomes.push(
        ...(await runSuiteInExtensionHost(browser.context.newPage(), server, folderUri, suite.resultsFile)),
      );
    }
    if (wanted('user')) {
      outcomes.push(...(await runUserStory(await browser.context.newPage(), server, sshd, folderUri)));
    }
    if (wanted('editor')) {
      const page = await browser.context.newPage();
      outcomes.push(...(await runEditorIntegrationStories(page, server, sshd, ARTIFACTS)));
      await page.close();
    }
    if (wanted('contact')) {
      const page = await browser.context.newPage();
      outcomes.push(...(await runFirstContactStories(page, server, sshd, ARTIFACTS)));
      await page.close();
    }
    if (wanted('search')) {
      const page = await browser.context.newPage();
      outcomes.push(...(await runSearchStories(page, server, sshd, ARTIFACTS)));
      await page.close();
    }
    if (wanted('commands')) {
      const page = await browser.context.newPage();
      outcomes.push(...(await runCommandStories(page, server, sshd, ARTIFACTS)));
      await page.close();
    }
    if (wanted('git')) {
      const page = await browser.context.newPage();
      outcomes.push(...(await runGitStories(page, server, sshd, ARTIFACTS)));
      await page.close();
    }
    if (wanted('real')) {
      const page = await browser.context.newPage();
      outcomes.push(...(await runRealServerStories(page, server, sshd, suite.second, ARTIFACTS)));
      await page.close();
    }
    if (wanted('root')) {
      const page = await browser.context.newPage();
      outcomes.push(...(await runRootStories(page, server, sshd, ARTIFACTS)));
      await page.close();
    }
    if (wanted('unknown')) {
      outcomes.push(
        ...(await runUnknownHostStory(
          await browser.context.newPage(),
          server,
          sshd,
          suite.learnedKnownHosts,
        )),
      );
    }
    if (wanted('changed')) {
      outcomes.push(...(await runChangedKeyStory(await browser.context.newPage(), server, sshd)));
    }
    if (wanted('hosts')) {
      // After the stories that type 127.0.0.1: the host it adds to the settings would apply to them.
      const page = await browser.context.newPage();
      outcomes.push(...(await runHostsStories(page, server, sshd, suite.second, suite.home, ARTIFACTS)));
      await page.close();
    }
    if (!wanted('password')) {
      // not asked for
    } else if (canManageAccounts) {
      outcomes.push(...(await runRememberedPasswordStory(await browser.context.newPage(), server, sshd)));
    } else {
      console.log('skipped: the password story needs root to set the test account password');
    }
  } catch (error) {
    outcomes.push({
      title: 'in-editor tier setup',
      state: 'failed',
      error: String((error as Error).stack ?? error),
    });
  } finally {
    await browser?.close();
    if (server !== undefined) {
      const log = extensionHostLog(server);
      if (outcomes.some((o) => o.state === 'failed') && log !== '') {
        console.log(`--- extension host log ---\n${log.slice(-6000)}`);
      }
      await server.stop();
    }
    await suite?.stop();
    rmSync(work, { recursive: true, force: true });
  }

  for (const outcome of outcomes) {
    console.log(`${outcome.state === 'passed' ? 'ok  ' : 'FAIL'} ${outcome.title}`);
    if (outcome.error !== undefined) {
      console.log(`     ${outcome.error.split('\n').slice(0, 8).join('\n     ')}`);
    }
  }
  const failed = outcomes.filter((o) => o.state === 'failed').length;
  console.log(`vscode: ${outcomes.length - failed} passed, ${failed} failed`);
  return failed === 0 && outcomes.length > 0 ? 0 : 1;
}

async function runSuiteInExtensionHost(
  pagePromise: Promise<Page>,
  server: CodeServer,
  folderUri: string,
  resultsFile: string,
): Promise<Outcome[]> {
  const page = await pagePromise;
  const payload = [
    ['extensionDevelopmentPath', server.remoteUri(PROJECT_ROOT)],
    ['extensionTestsPath', server.remoteUri(join(PROJECT_ROOT, 'out/test/vscode/suite/index.js'))],
  ];
  await page.goto(
    `${server.url}/?folder=${encodeURIComponent(folderUri)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
  );
  const deadline = Date.now() + 180_000;
  while (!existsSync(resultsFile) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
  }
  await page.close();
  if (!existsSync(resultsFile)) {
    return [{ title: 'extension-host suite', state: 'failed', error: 'no results within 180 s' }];
  }
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Outcome[];
  return results.length > 0
    ? results
    : [{ title: 'extension-host suite', state: 'failed', error: 'ran no test' }];
}

async function runUserStory(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  folderUri: string,
): Promise<Outcome[]> {
  sshd.mkdirLocal('project/src');
  sshd.writeLocal('project/README.md', '# Remote project\n');
  sshd.writeLocal('project/hello.txt', 'Hello from the server\n');
  sshd.writeLocal('project/src/main.py', 'print("hi")\n');
  const projectUri = `${folderUri}/project`;
  const outcomes: Outcome[] = [];
  const step = async (title: string, body: () => Promise<void>): Promise<boolean> => {
    try {
      await body();
      outcomes.push({ title: `user story: ${title}`, state: 'passed' });
      return true;
    } catch (error) {
      await page.screenshot({ path: join(ARTIFACTS, 'failure.png') }).catch(() => undefined);
      outcomes.push({
        title: `user story: ${title}`,
        state: 'failed',
        error: String((error as Error).stack ?? error),
      });
      return false;
    }
  };

  const explorerShowsFiles = await step('the Explorer lists the remote folder', async () => {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(projectUri)}`);
    for (const name of ['hello.txt', 'README.md', 'src']) {
      await page.getByRole('treeitem', { name }).first().waitFor({ timeout: 60_000 });
    }
    await page.screenshot({ path: join(ARTIFACTS, 'explorer.png') });
  });
  if (!explorerShowsFiles) {
    return outcomes;
  }
  const opened = await step('a remote file opens in an editor', async () => {
    await page.getByRole('treeitem', { name: 'hello.txt' }).first().click();
    await page
      .locator('.monaco-editor .view-lines')
      .filter({ hasText: 'Hello from the server' })
      .waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'editor.png') });
  });
  if (!opened) {
    return outcomes;
  }
  await step('typing and saving writes the file on the server', async () => {
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('Edited in VS Code');
    await page.keyboard.press('Control+S');
    const file = sshd.local('project/hello.txt');
    const deadline = Date.now() + 20_000;
    while (
      readFileSync(file, 'utf8') !== 'Hello from the server\nEdited in VS Code' &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const content = readFileSync(file, 'utf8');
    if (content !== 'Hello from the server\nEdited in VS Code') {
      throw new Error(`the server has ${JSON.stringify(content)}`);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'saved.png') });
  });
  return outcomes;
}

/** A first connection to an unknown host shows the fingerprint in a modal; accepting records the key. */
async function runUnknownHostStory(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
  learned: string,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const title = (name: string): string => `unknown host: ${name}`;
  try {
    await page.goto(
      `${server.url}/?folder=${encodeURIComponent(`sftp://unknown-host${sshd.local('project')}`)}`,
    );
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.filter({ hasText: "can't be established" }).waitFor({ timeout: 60_000 });
    const text = (await dialog.innerText()).replace(/\s+/g, ' ');
    if (!/ssh-ed25519 key fingerprint is SHA256:[A-Za-z0-9+/]{43}/.test(text)) {
      throw new Error(`the dialog does not show the fingerprint: ${text}`);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'host-key-prompt.png') });
    outcomes.push({ title: title('a modal shows the key type and SHA256 fingerprint'), state: 'passed' });
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('treeitem', { name: 'hello.txt' }).first().waitFor({ timeout: 60_000 });
    if (!readFileSync(learned, 'utf8').includes(sshd.hostPublicKey)) {
      throw new Error('the accepted key was not added to known_hosts');
    }
    outcomes.push({ title: title('accepting connects and records the key in known_hosts'), state: 'passed' });
  } catch (error) {
    await page.screenshot({ path: join(ARTIFACTS, 'failure-unknown-host.png') }).catch(() => undefined);
    outcomes.push({
      title: title('prompt and accept'),
      state: 'failed',
      error: String((error as Error).stack ?? error),
    });
  }
  await page.close();
  return outcomes;
}

/** A changed host key is refused, and the user is told so, with the known_hosts line. */
async function runChangedKeyStory(page: Page, server: CodeServer, sshd: SshdFixture): Promise<Outcome[]> {
  const name = 'changed host key: refused, and the message is shown';
  try {
    await page.goto(
      `${server.url}/?folder=${encodeURIComponent(`sftp://changed-key${sshd.local('project')}`)}`,
    );
    await page
      .getByText(/host key of \[127\.0\.0\.1\]:\d+ has changed/)
      .first()
      .waitFor({ timeout: 60_000 });
    // VS Code's own "Workspace does not exist" dialog covers the notification; close it for the picture.
    await page.keyboard.press('Escape');
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(ARTIFACTS, 'changed-host-key.png') });
    return [{ title: name, state: 'passed' }];
  } catch (error) {
    await page.screenshot({ path: join(ARTIFACTS, 'failure-changed-key.png') }).catch(() => undefined);
    return [{ title: name, state: 'failed', error: String((error as Error).stack ?? error) }];
  } finally {
    await page.close();
  }
}

/**
 * A password is asked for, remembered only after the user chooses Remember, used without asking on
 * the next connection, and forgotten by the Forget Saved Credentials command.
 */
async function runRememberedPasswordStory(
  page: Page,
  server: CodeServer,
  sshd: SshdFixture,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const folder = `${server.url}/?folder=${encodeURIComponent(`sftp://with-password${sshd.local('project')}`)}`;
  const passwordBox = page.locator('.quick-input-widget').filter({ hasText: 'Password for' });
  const explorerReady = (): Promise<void> =>
    page.getByRole('treeitem', { name: 'hello.txt' }).first().waitFor({ timeout: 60_000 });
  const step = async (title: string, body: () => Promise<void>): Promise<boolean> => {
    try {
      await body();
      outcomes.push({ title: `password: ${title}`, state: 'passed' });
      return true;
    } catch (error) {
      await page.screenshot({ path: join(ARTIFACTS, 'failure-password.png') }).catch(() => undefined);
      outcomes.push({
        title: `password: ${title}`,
        state: 'failed',
        error: String((error as Error).stack ?? error),
      });
      return false;
    }
  };
  const asked = await step('the password is asked in a hidden input box and logs in', async () => {
    await page.goto(folder);
    await passwordBox.waitFor({ timeout: 60_000 });
    if ((await passwordBox.locator('input').getAttribute('type')) !== 'password') {
      throw new Error('the password input is not hidden');
    }
    await page.screenshot({ path: join(ARTIFACTS, 'password-prompt.png') });
    await page.keyboard.type(TEST_PASSWORD);
    await page.keyboard.press('Enter');
    await explorerReady();
  });
  const remembered =
    asked &&
    (await step('choosing Remember keeps it: the next window connects without asking', async () => {
      await page.getByRole('button', { name: 'Remember' }).click({ timeout: 30_000 });
      await page.waitForTimeout(500);
      await page.goto(folder);
      await explorerReady();
      if (await passwordBox.isVisible()) {
        throw new Error('the password was asked again');
      }
    }));
  if (remembered) {
    await step('Forget Saved Credentials forgets it: the next window asks again', async () => {
      await page.keyboard.press('F1');
      await page.keyboard.type('SFTP: Forget Saved Credentials');
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      await page
        .getByText(/Forgot 1 saved/)
        .first()
        .waitFor({ timeout: 30_000 });
      await page.goto(folder);
      await passwordBox.waitFor({ timeout: 60_000 });
    });
  }
  await page.close();
  return outcomes;
}

function extensionHostLog(server: CodeServer): string {
  const logs = join(server.dataDir, 'user-data', 'logs');
  try {
    const files = execFileSync('find', [logs, '-name', '*exthost*.log'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    return files
      .filter((f) => f !== '')
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
  } catch {
    return '';
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
