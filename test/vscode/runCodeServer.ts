import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

import { launchChromium } from '../support/browser';
import { PROJECT_ROOT, installExtension, startCodeServer, type CodeServer } from '../support/codeServer';
import { startSshd, type SshdFixture } from '../support/sshd';

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

interface Outcome {
  title: string;
  state: 'passed' | 'failed';
  error?: string;
}

async function main(): Promise<number> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'sftpfs-vscode-'));
  const outcomes: Outcome[] = [];
  let sshd: SshdFixture | undefined;
  let server: CodeServer | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    sshd = await startSshd();
    const home = join(work, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(sshd.sshConfig, join(home, '.ssh', 'config'));
    const resultsFile = join(work, 'suite-results.json');
    const dataDir = join(work, 'code-server');
    installExtension(dataDir, join(PROJECT_ROOT, 'dist', 'sftp-fs.vsix'));
    server = await startCodeServer({
      dataDir,
      home,
      env: {
        SFTPFS_TEST_ROOT: sshd.root,
        SFTPFS_TEST_ALIAS: sshd.alias,
        SFTPFS_TEST_READONLY_ALIAS: sshd.readOnlyAlias,
        SFTPFS_TEST_UID: String(sshd.uid),
        SFTPFS_TEST_GID: String(sshd.gid),
        SFTPFS_TEST_RESULTS: resultsFile,
      },
    });
    browser = await launchChromium();
    const folderUri = `sftp://${sshd.alias}${sshd.root}`;

    outcomes.push(
      ...(await runSuiteInExtensionHost(browser.context.newPage(), server, folderUri, resultsFile)),
    );
    outcomes.push(...(await runUserStory(await browser.context.newPage(), server, sshd, folderUri)));
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
    await sshd?.stop();
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
