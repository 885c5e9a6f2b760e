import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';

import { nullLogger } from '../../src/core/common/logger';
import { HostConnection, type Live } from '../../src/core/connection/hostConnection';
import type { SftpSession } from '../../src/core/sftp/session';

const LANE_IDLE_MS = 30_000;

/** A transfer lane as HostConnection sees it: open or closed, busy or not, and when it was last used. */
class FakeLane {
  isClosed = false;
  isBusy = false;
  lastActivityAt = Date.now();

  closeAndWait(): Promise<void> {
    this.isClosed = true;
    return Promise.resolve();
  }
}

/** A live connection allowing 10 channels, whose extra channels are FakeLanes. */
function fakeLive(lanes: FakeLane[]): Live {
  const session = { isClosed: false, onClose: () => ({ dispose: () => undefined }), close: () => undefined };
  const connection = {
    maxChannels: 10,
    sftpChannels: 1,
    onChannelShortage: () => undefined,
    onClose: () => undefined,
    close: () => undefined,
  };
  return {
    connection: connection as unknown as Live['connection'],
    session: session as unknown as SftpSession,
    openChannel: () => {
      const lane = new FakeLane();
      lanes.push(lane);
      return Promise.resolve(lane as unknown as SftpSession);
    },
  };
}

/** Lets the timer callbacks' promise chains run to their end. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let lanes: FakeLane[];
let host: HostConnection;

beforeEach(async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  lanes = [];
  const live = fakeLive(lanes);
  host = new HostConnection(
    'lanes-test',
    () => Promise.resolve(live),
    nullLogger,
    { idleTimeoutMs: 0, reconnectDelaysMs: [1000], maxReconnectAttempts: 0, laneIdleMs: LANE_IDLE_MS },
    () => undefined,
  );
  await host.session();
  await host.transferLanes(7);
  assert.equal(lanes.length, 7);
});

afterEach(() => {
  host.dispose();
  mock.timers.reset();
});

test('transfer lanes used until just now are kept, however long ago they were handed out', async () => {
  // A transfer handed the lanes out at 0 s and used them until 25 s.
  mock.timers.tick(25_000);
  for (const lane of lanes) {
    lane.lastActivityAt = Date.now();
  }
  mock.timers.tick(5_000);
  await settle();
  assert.deepEqual(
    lanes.filter((lane) => lane.isClosed),
    [],
    '30 s after they were handed out, but 5 s after their last use',
  );
  mock.timers.tick(LANE_IDLE_MS - 5_000);
  await settle();
  assert.equal(lanes.filter((lane) => lane.isClosed).length, 7, 'closed once unused for the whole idle time');
});

test('a busy lane stays open past the idle time while the unused ones are given back', async () => {
  const busy = lanes[0];
  assert.ok(busy !== undefined);
  busy.isBusy = true;
  mock.timers.tick(LANE_IDLE_MS);
  await settle();
  assert.equal(busy.isClosed, false);
  assert.equal(lanes.filter((lane) => lane.isClosed).length, 6);
  busy.isBusy = false;
  busy.lastActivityAt = Date.now();
  mock.timers.tick(LANE_IDLE_MS);
  await settle();
  assert.equal(busy.isClosed, true);
});
