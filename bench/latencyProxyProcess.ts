import { spawn } from 'node:child_process';

import { FaultProxy } from '../test/support/faultProxy';

/** The relay process, as the benchmark sees it. */
export interface LatencyProxy {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The latency line (a FaultProxy with a delay and no faults) in a process of its own. In the benchmark's process it would share one event loop
 * with our client: while our client decrypts and copies, the relay's timers fire late and the line
 * slows down for us alone, never for OpenSSH's sftp, which runs as a separate process.
 */
export function startLatencyProxyProcess(targetPort: number, oneWayMs: number): Promise<LatencyProxy> {
  const child = spawn(process.execPath, [__filename, String(targetPort), String(oneWayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let output = '';
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the latency line exited before listening: ${output}`)));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const port = /^listening (\d+)\n/.exec(output)?.[1];
      if (port !== undefined) {
        resolve({
          port: Number(port),
          close: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

if (require.main === module) {
  const [targetPort, oneWayMs] = process.argv.slice(2).map(Number);
  void FaultProxy.start(targetPort ?? 0, { oneWayDelayMs: oneWayMs ?? 0 }).then((proxy) => {
    process.stdout.write(`listening ${proxy.port}\n`);
    process.once('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
  });
}
