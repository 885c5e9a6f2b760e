import { spawn } from 'node:child_process';

import { FaultProxy, type LineShape } from '../test/support/faultProxy';

/** The relay process, as the benchmark sees it. */
export interface LatencyProxy {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The latency line (a FaultProxy with a delay, optionally a rate limit, and no faults) in a process of its own. In the benchmark's process it would share one event loop
 * with our client: while our client decrypts and copies, the relay's timers fire late and the line
 * slows down for us alone, never for OpenSSH's sftp, which runs as a separate process.
 */
export function startLatencyProxyProcess(
  targetPort: number,
  oneWayMs: number,
  /** The line's rate each way, in bits per second (a bounded router queue of one bandwidth-delay product). */
  bitsPerSecond?: number,
): Promise<LatencyProxy> {
  const args = [
    __filename,
    String(targetPort),
    String(oneWayMs),
    ...(bitsPerSecond === undefined ? [] : [String(bitsPerSecond)]),
  ];
  const child = spawn(process.execPath, args, {
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
  const [targetPort, oneWayMs, bitsPerSecond] = process.argv.slice(2).map(Number);
  const shape: LineShape = {
    oneWayDelayMs: oneWayMs ?? 0,
    ...(bitsPerSecond === undefined ? {} : { bitsPerSecond }),
  };
  void FaultProxy.start(targetPort ?? 0, shape).then((proxy) => {
    process.stdout.write(`listening ${proxy.port}\n`);
    process.once('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
  });
}
