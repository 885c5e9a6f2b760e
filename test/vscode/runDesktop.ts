import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';

import { PROJECT_ROOT } from '../support/codeServer';
import { prepareSuiteEnvironment } from './suiteEnvironment';

/**
 * The same in-editor suite under desktop VS Code, through @vscode/test-electron. It downloads VS Code,
 * so it runs only where that host is reachable (not on our CI machines, which use code-server).
 */
async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'sftpfs-desktop-'));
  const suite = await prepareSuiteEnvironment(work);
  try {
    await runTests({
      extensionDevelopmentPath: PROJECT_ROOT,
      extensionTestsPath: join(PROJECT_ROOT, 'out/test/vscode/suite/index.js'),
      launchArgs: [
        '--folder-uri',
        `sftp://${suite.sshd.alias}${suite.sshd.root}`,
        '--disable-extensions',
        '--no-sandbox',
      ],
      extensionTestsEnv: suite.env,
    });
    const results = existsSync(suite.resultsFile)
      ? (JSON.parse(readFileSync(suite.resultsFile, 'utf8')) as Array<{ state: string }>)
      : [];
    const failed = results.filter((r) => r.state !== 'passed').length;
    console.log(`desktop: ${results.length - failed} passed, ${failed} failed`);
    return results.length > 0 && failed === 0 ? 0 : 1;
  } finally {
    await suite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`The desktop tier needs to download VS Code, which failed here: ${String(error)}`);
    process.exit(1);
  },
);
