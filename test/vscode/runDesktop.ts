import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';

import { PROJECT_ROOT } from '../support/codeServer';
import { startSshd } from '../support/sshd';

/**
 * The same in-editor suite under desktop VS Code, through @vscode/test-electron. It downloads VS Code,
 * so it runs only where that host is reachable (not on our CI machines, which use code-server).
 */
async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'sftpfs-desktop-'));
  const sshd = await startSshd();
  try {
    const home = join(work, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(sshd.sshConfig, join(home, '.ssh', 'config'));
    const resultsFile = join(work, 'results.json');
    await runTests({
      extensionDevelopmentPath: PROJECT_ROOT,
      extensionTestsPath: join(PROJECT_ROOT, 'out/test/vscode/suite/index.js'),
      launchArgs: [
        '--folder-uri',
        `sftp://${sshd.alias}${sshd.root}`,
        '--disable-extensions',
        '--no-sandbox',
      ],
      extensionTestsEnv: {
        HOME: home,
        SFTPFS_TEST_ROOT: sshd.root,
        SFTPFS_TEST_ALIAS: sshd.alias,
        SFTPFS_TEST_READONLY_ALIAS: sshd.readOnlyAlias,
        SFTPFS_TEST_UID: String(sshd.uid),
        SFTPFS_TEST_GID: String(sshd.gid),
        SFTPFS_TEST_RESULTS: resultsFile,
      },
    });
    const results = existsSync(resultsFile)
      ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Array<{ state: string }>)
      : [];
    const failed = results.filter((r) => r.state !== 'passed').length;
    console.log(`desktop: ${results.length - failed} passed, ${failed} failed`);
    return results.length > 0 && failed === 0 ? 0 : 1;
  } finally {
    await sshd.stop();
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
