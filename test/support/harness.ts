import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';

import { RemoteFsError, type RemoteErrorCode } from '../../src/core/common/errors';
import type { Logger } from '../../src/core/common/logger';
import {
  ConnectionManager,
  type ConnectionManagerOptions,
} from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import { startSshd, type SshdFixture } from './sshd';

export interface Harness {
  readonly sshd: SshdFixture;
  readonly manager: ConnectionManager;
  /** The filesystem of the read-write server. */
  readonly fs: RemoteFileSystem;
  readonly logger: RecordingLogger;
  /** A path under the served folder, identical on this machine's disk and on the server. */
  path(relative: string): string;
}

/** The reader thread's program as the tests build it (the .vsix carries dist/readerThread.js). */
export const READER_THREAD_SCRIPT = join(__dirname, '../../src/core/connection/readerThreadMain.js');

/** Starts one sshd for the test file and stops it (and every connection) afterwards. */
export function useSshd(options: Partial<Pick<ConnectionManagerOptions, 'fileSystem'>> = {}): Harness {
  const logger = new RecordingLogger();
  const state = {} as { sshd: SshdFixture; manager: ConnectionManager };
  before(async () => {
    state.sshd = await startSshd();
    state.manager = new ConnectionManager({
      resolveHost: (authority) => state.sshd.resolve(authority),
      logger,
      fileSystem: options.fileSystem ?? { maxReadFileBytes: 256 * 1024 * 1024 },
    });
  });
  after(async () => {
    state.manager?.dispose();
    await state.sshd?.stop();
  });
  return {
    get sshd() {
      return state.sshd;
    },
    get manager() {
      return state.manager;
    },
    get fs() {
      return state.manager.fileSystem(state.sshd.alias);
    },
    logger,
    path: (relative) => state.sshd.local(relative),
  };
}

/**
 * A ConnectionManager that reaches `sshd` through a relay listening on `relayPort` (a FaultProxy in
 * front of it: a slow, thin or faulty line), with sshd's host key trusted at the relay's address.
 */
export function managerThroughRelay(
  sshd: SshdFixture,
  relayPort: number,
  options: Partial<Omit<ConnectionManagerOptions, 'resolveHost'>> = {},
): ConnectionManager {
  const knownHosts = join(sshd.dir, `known_hosts_relay_${relayPort}`);
  writeFileSync(knownHosts, `[127.0.0.1]:${relayPort} ${sshd.hostPublicKey}\n`);
  return new ConnectionManager({
    logger: new RecordingLogger(),
    fileSystem: { maxReadFileBytes: 256 * 1024 * 1024 },
    ...options,
    resolveHost: (authority) => ({
      ...sshd.resolve(authority),
      port: relayPort,
      userKnownHostsFiles: [knownHosts],
    }),
  });
}

/** Asserts that `promise` rejects with a RemoteFsError of `code`, and returns it for more checks. */
export async function rejectsWith(promise: Promise<unknown>, code: RemoteErrorCode): Promise<RemoteFsError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RemoteFsError, `expected RemoteFsError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

export class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  trace = (m: string): void => void this.lines.push(`trace ${m}`);
  debug = (m: string): void => void this.lines.push(`debug ${m}`);
  info = (m: string): void => void this.lines.push(`info ${m}`);
  warn = (m: string): void => void this.lines.push(`warn ${m}`);
  error = (m: string): void => void this.lines.push(`error ${m}`);
  /** Records at Trace level, as a user chasing a problem would set it. */
  isTraceEnabled = (): boolean => true;
}

/** Numbers from 0 to below `n` (xorshift32): the same seed gives the same run, so a failure can be replayed. */
export function randomSource(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % below;
  };
}

/** Deterministic pseudo-random bytes, so a failing comparison can be reproduced. */
export function patternBytes(length: number, seed = 1): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buffer[i] = x & 0xff;
  }
  return buffer;
}
