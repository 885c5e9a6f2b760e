import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';

import type { ConnectionManager } from '../../src/core/connection/connectionManager';
import type { RemoteFileSystem } from '../../src/core/fs/remoteFileSystem';
import type { SftpSession } from '../../src/core/sftp/session';
import type { RecordingLogger } from './harness';
import type { SshdFixture } from './sshd';

/** What the log says of reader threads: the tests read it rather than reach into the core. */
export const readInThread = (logger: RecordingLogger, path: string): boolean =>
  logger.lines.some((line) => line.includes(`Read ${path} (`) && line.endsWith('in the reader thread'));
export const savedInThread = (logger: RecordingLogger, path: string): boolean =>
  logger.lines.some((line) => line.includes(`Saved ${path} (`) && line.endsWith('in the reader thread'));
export const threadEnds = (logger: RecordingLogger): string[] =>
  logger.lines.filter((line) => line.includes('The reader thread ended'));
export const readies = (logger: RecordingLogger): number =>
  logger.lines.filter((line) => line.includes('Large reads and saves go through a reader thread')).length;

/**
 * A few STATs of `path` first, as the Explorer makes before anything is opened: the line is judged by
 * the fastest answer seen, and on a fresh connection of a busy 2-core machine the first few can take
 * over 5 ms on loopback, which would make it a slow line (no thread).
 */
export async function settleRoundTrip(session: SftpSession, path: string): Promise<void> {
  for (let stat = 0; stat < 5; stat++) {
    await session.stat(path);
  }
}

/** Waits until a reader thread is ready and has not ended, polling the log. */
export async function untilReady(logger: RecordingLogger): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (readies(logger) > threadEnds(logger).length) {
      return;
    }
    await delay(20);
  }
  const threadLines = logger.lines.filter((line) => /reader thread/i.test(line));
  assert.fail(`no reader thread became ready within 10 s: ${threadLines.join(' | ')}`);
}

/**
 * Stores `content` as `name` on `server` and reads it once: that read starts the thread, which is then
 * ready.
 */
export async function warmedUp(
  server: Pick<SshdFixture, 'alias' | 'writeLocal'>,
  connections: ConnectionManager,
  logger: RecordingLogger,
  name: string,
  content: Buffer,
): Promise<{ fs: RemoteFileSystem; path: string }> {
  const fs = connections.fileSystem(server.alias);
  const path = server.writeLocal(name, content);
  await settleRoundTrip(await connections.session(server.alias), path);
  assert.ok(Buffer.from(await fs.readFile(path)).equals(content));
  assert.equal(readInThread(logger, path), false, 'the read that starts the thread is made here');
  await untilReady(logger);
  return { fs, path };
}
