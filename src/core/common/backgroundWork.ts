import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Work the extension does on its own (polling for changes, a watch's probes), as opposed to what the
 * user asked for. It must not count as use of a connection: otherwise watching one open file would
 * keep a host connected for ever, and the idle close could never happen. The mark follows the work
 * through every await, retries included.
 */
const background = new AsyncLocalStorage<true>();

export function inBackground<T>(work: () => T): T {
  return background.run(true, work);
}

export function isBackgroundWork(): boolean {
  return background.getStore() === true;
}
