import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

/**
 * Entry point VS Code calls inside the extension host (extensionTestsPath). The extension host exits
 * 0 whatever happens, so the results go to the file named by SFTPFS_TEST_RESULTS for the runner.
 */
export async function run(): Promise<void> {
  const resultsFile = process.env['SFTPFS_TEST_RESULTS'];
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, reporter: 'dot' });
  mocha.addFile(join(__dirname, 'fileSystem.test.js'));
  const results: Array<{ title: string; state: string; error?: string }> = [];
  try {
    await new Promise<void>((resolve) => {
      const runner = mocha.run(() => resolve());
      runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed' }));
      runner.on('fail', (t, error: Error) =>
        results.push({
          title: t.fullTitle(),
          state: 'failed',
          error: `${error.message}\n${error.stack ?? ''}`,
        }),
      );
    });
  } catch (error) {
    results.push({ title: 'suite', state: 'failed', error: String(error) });
  }
  if (resultsFile !== undefined) {
    writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  }
  if (results.some((r) => r.state === 'failed')) {
    throw new Error('Some in-editor tests failed');
  }
}
