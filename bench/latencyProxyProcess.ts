import { spawn } from 'node:child_process';

import { FaultProxy, type LineShape } from '../test/support/faultProxy';

/** The relay process, as the benchmark sees it. */
export interface LatencyProxy {
  readonly port: number;
  /** Bytes the line has carried each way since it started, over every connection (open or closed). */
  relayed(): Promise<{ readonly up: number; readonly down: number }>;
  close(): Promise<void>;
}

/** The question the parent writes on the relay's standard input for its byte counts, and the answer line. */
const RELAYED_QUESTION = 'relayed?\n';
const RELAYED_ANSWER = /^relayed (\d+) (\d+)$/;

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
  /** Questions about byte counts, answered in order, one line each. */
  const waiting: Array<(counts: { up: number; down: number }) => void> = [];
  return new Promise((resolve, reject) => {
    let output = '';
    let listening = false;
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the latency line exited before listening: ${output}`)));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const lines = output.split('\n');
      output = lines.pop() ?? '';
      for (const line of lines) {
        const port = /^listening (\d+)$/.exec(line)?.[1];
        const counts = RELAYED_ANSWER.exec(line);
        if (port !== undefined && !listening) {
          listening = true;
          resolve({
            port: Number(port),
            relayed: () =>
              new Promise((answered) => {
                waiting.push(answered);
                child.stdin.write(RELAYED_QUESTION);
              }),
            close: () => {
              child.kill('SIGTERM');
              return exited;
            },
          });
        } else if (counts !== null) {
          waiting.shift()?.({ up: Number(counts[1]), down: Number(counts[2]) });
        }
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
    let asked = '';
    process.stdin.setEncoding('utf8').on('data', (text: string) => {
      asked += text;
      while (asked.includes(RELAYED_QUESTION)) {
        asked = asked.slice(asked.indexOf(RELAYED_QUESTION) + RELAYED_QUESTION.length);
        process.stdout.write(`relayed ${proxy.totalRelayed('up')} ${proxy.totalRelayed('down')}\n`);
      }
    });
  });
}
