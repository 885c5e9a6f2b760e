import type { Duplex } from 'node:stream';

/**
 * Makes everything written to `stream` within one tick leave together. ssh2 writes each SSH packet
 * with its own `write()`, and with TCP_NODELAY each one became its own system call and TCP segment:
 * a burst of small SFTP requests (VS Code copying a folder of small files sends seven per file) then
 * spent more CPU in socket writes than anywhere else. Corked writes are flushed with one writev()
 * before the event loop goes on, so nothing waits for a timer and no latency is added.
 */
export function coalesceWritesPerTick(stream: Duplex): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Duplex['write'];
}
