import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PROJECT_ROOT, installExtension, startCodeServer } from '../test/support/codeServer';
import { freePort, startSshd } from '../test/support/sshd';

/**
 * The local demo: a throwaway OpenSSH server on 127.0.0.1 with sample files, and code-server with the
 * packaged extension opening that server's folder as sftp://. Runs until Ctrl+C, then stops both
 * (by PID) and removes every temporary file.
 */
async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sftpfs-demo-'));
  const sshd = await startSshd();
  sshd.mkdirLocal('demo/src/lib');
  sshd.mkdirLocal('demo/docs');
  sshd.writeLocal(
    'demo/README.md',
    '# A remote project\n\nEverything here lives on the SSH server.\nEdit and save: the change is written atomically over SFTP.\n',
  );
  sshd.writeLocal('demo/src/main.py', 'from lib.greeting import greet\n\nprint(greet("world"))\n');
  sshd.writeLocal('demo/src/lib/greeting.py', 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n');
  sshd.writeLocal('demo/src/run.sh', '#!/bin/sh\nexec python3 "$(dirname "$0")/main.py"\n', 0o755);
  sshd.writeLocal('demo/docs/notes.md', '- [ ] try renaming this file\n- [ ] copy the src folder\n');
  sshd.writeLocal('demo/.env.example', 'API_URL=https://example.invalid\n');
  symlinkSync('docs/notes.md', sshd.local('demo/notes-link.md'));

  const home = join(work, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  copyFileSync(sshd.sshConfig, join(home, '.ssh', 'config'));
  const dataDir = join(work, 'code-server');
  installExtension(dataDir, join(PROJECT_ROOT, 'dist', 'sftp-fs.vsix'));
  const requested = Number(process.env['DEMO_PORT'] ?? 8080);
  const port = (await isFree(requested)) ? requested : await freePort();
  const server = await startCodeServer({ dataDir, home, port });

  const folder = `sftp://${sshd.alias}${sshd.local('demo')}`;
  console.log('\nSFTP Remote Filesystem demo is running.');
  console.log(`  OpenSSH server: 127.0.0.1:${sshd.port} (alias "${sshd.alias}" in the demo's ~/.ssh/config)`);
  console.log(`  Remote folder:  ${folder}`);
  console.log(`\n  Open: ${server.url}/?folder=${encodeURIComponent(folder)}\n`);
  console.log('Press Ctrl+C to stop.');

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    console.log('\nStopping the demo...');
    await server.stop();
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
