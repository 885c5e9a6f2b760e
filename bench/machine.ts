import { createCipheriv, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';

/**
 * What the machine itself could do when the benchmark ran, so that runs on different machines (or on
 * one virtual machine on different days) can be told apart from changes in the code. Two figures the
 * transfer rows depend on and this project does not control: how fast one core encrypts AES-128-GCM
 * in SSH-sized packets (Node's own cipher, as the .vsix uses it), and what touching fresh memory
 * costs (every large read fills a new buffer; on some virtual machines a page costs ten times what it
 * does on bare metal).
 */
export interface MachineFigures {
  readonly cpus: number;
  readonly cpuModel: string;
  /** AES-128-GCM over 32 KiB packets, one Node cipher per packet, MB/s on one core. */
  readonly aesGcmMBps: number;
  /** Microseconds to touch one 4 KiB page of a freshly allocated 64 MiB buffer, best of three. */
  readonly freshPageMicros: number;
}

const MiB = 1024 * 1024;
const PACKET = 32 * 1024;

export function measureMachine(): MachineFigures {
  const data = randomBytes(PACKET);
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const total = 64 * MiB;
  const aesStart = performance.now();
  for (let done = 0; done < total; done += PACKET) {
    const cipher = createCipheriv('aes-128-gcm', key, iv);
    cipher.update(data);
    cipher.final();
    cipher.getAuthTag();
  }
  const aesGcmMBps = total / 1e6 / ((performance.now() - aesStart) / 1000);

  let freshPageMicros = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    const buffer = Buffer.allocUnsafe(total);
    for (let offset = 0; offset < total; offset += 4096) {
      buffer[offset] = 1;
    }
    freshPageMicros = Math.min(freshPageMicros, ((performance.now() - started) * 1000) / (total / 4096));
  }
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', aesGcmMBps, freshPageMicros };
}

export function describeMachine(figures: MachineFigures): string {
  return (
    `machine: ${figures.cpus} x ${figures.cpuModel}; AES-128-GCM ${figures.aesGcmMBps.toFixed(0)} MB/s on one core ` +
    `(Node, 32 KiB packets); fresh memory ${figures.freshPageMicros.toFixed(2)} µs per 4 KiB page`
  );
}
