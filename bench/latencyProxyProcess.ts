import { spawn } from 'node:child_process';

import { FaultProxy, type LineShape } from '../test/support/faultProxy';

/** The relay process, as the benchmark sees it. */
export interface LatencyProxy {
  readonly port: number;
  /** Bytes relayed so far each way over the line's open connections ("up" is client to server). */
  relayed(): Promise<{ up: number; down: number }>;
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
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  /** Answers to `relayed` questions on stdin, in order. */
  const waitingForCounts: Array<(counts: { up: number; down: number }) => void> = [];
  return new Promise((resolve, reject) => {
    let output = '';
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the latency line exited before listening: ${output}`)));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      for (const [, up, down] of output.matchAll(/^relayed (\d+) (\d+)\n/gm)) {
        waitingForCounts.shift()?.({ up: Number(up), down: Number(down) });
      }
      output = output.replace(/^relayed \d+ \d+\n/gm, '');
      const port = /^listening (\d+)\n/.exec(output)?.[1];
      if (port !== undefined) {
        resolve({
          port: Number(port),
          relayed: () =>
            new Promise((answer) => {
              waitingForCounts.push(answer);
              child.stdin.write('relayed\n');
            }),
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
    // The bench asks for the byte counts on stdin (the idle cost of watching, issue 17).
    let pending = '';
    process.stdin.setEncoding('utf8').on('data', (text: string) => {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'relayed') {
          process.stdout.write(`relayed ${proxy.relayed('up')} ${proxy.relayed('down')}\n`);
        }
      }
    });
    process.once('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
  });
}
