import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { freePort } from './sshd';

/** The project root, from out/test/support or test/support alike. */
export const PROJECT_ROOT = resolve(__dirname, __dirname.includes(`${'/out/'}`) ? '../../..' : '../..');
const CODE_SERVER = join(PROJECT_ROOT, '.cache', 'code-server', 'node_modules', '.bin', 'code-server');

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** `vscode-remote://` form of a path on this machine, as the workbench payload wants it. */
  remoteUri(path: string): string;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  /** A private folder for user data, extensions, config and logs. */
  readonly dataDir: string;
  /** HOME of the server and so of the extension host: where ~/.ssh/config is read. */
  readonly home: string;
  readonly env?: Record<string, string>;
  readonly port?: number;
  readonly host?: string;
}

/** Installs a .vsix into the extensions folder `startCodeServer` uses for `dataDir` (offline). */
export function installExtension(dataDir: string, vsix: string): void {
  if (!existsSync(CODE_SERVER)) {
    throw new Error('code-server is not installed: run `bash scripts/prerequisites.sh`');
  }
  execFileSync(
    CODE_SERVER,
    [
      '--user-data-dir',
      join(dataDir, 'user-data'),
      '--extensions-dir',
      join(dataDir, 'extensions'),
      '--install-extension',
      vsix,
      '--force',
    ],
    {
      stdio: 'pipe',
      env: {
        ...process.env,
        XDG_CONFIG_HOME: join(dataDir, 'xdg-config'),
        XDG_DATA_HOME: join(dataDir, 'xdg-data'),
      },
    },
  );
}

/** Starts code-server (a real VS Code) on 127.0.0.1 without auth, telemetry or update checks. */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  if (!existsSync(CODE_SERVER)) {
    throw new Error(
      'code-server is not installed: run `bash scripts/prerequisites.sh` (npm test does it for you)',
    );
  }
  const port = options.port ?? (await freePort());
  const host = options.host ?? '127.0.0.1';
  const dir = options.dataDir;
  for (const sub of ['user-data', 'extensions', 'xdg-config', 'xdg-data']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `bind-addr: ${host}:${port}\nauth: none\ncert: false\n`);
  const logFile = join(dir, 'code-server.log');
  writeFileSync(logFile, '');
  const child = spawn(
    CODE_SERVER,
    [
      '--config',
      config,
      '--bind-addr',
      `${host}:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir',
      join(dir, 'user-data'),
      '--extensions-dir',
      join(dir, 'extensions'),
    ],
    {
      // Its own process group, so stopping it ends its helper processes too, and nothing else.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...options.env,
        HOME: options.home,
        XDG_CONFIG_HOME: join(dir, 'xdg-config'),
        XDG_DATA_HOME: join(dir, 'xdg-data'),
      },
    },
  );
  const append = (chunk: Buffer): void => {
    try {
      writeFileSync(logFile, chunk, { flag: 'a' });
    } catch {
      // The data folder was removed after stopping; late output is of no use.
    }
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  await waitForHealth(`http://${host}:${port}/healthz`, child, logFile);
  return {
    url: `http://${host}:${port}`,
    port,
    dataDir: dir,
    logFile,
    remoteUri: (path) => `vscode-remote://${host}:${port}${path}`,
    stop: () => stopGroup(child),
  };
}

async function waitForHealth(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with ${child.exitCode}:\n${readFileSync(logFile, 'utf8')}`);
    }
    try {
      if ((await fetch(url)).ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not become healthy within 60 s:\n${readFileSync(logFile, 'utf8')}`);
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) {
    return;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}
