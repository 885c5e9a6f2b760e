import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { FlowControl } from '../../src/core/sftp/flowControl';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A scripted link: time is advanced by hand, probes answer what the test says, and requests are
 * admitted and answered in the order the test drives them.
 */
function scripted(baseRoundTripMs: number | undefined): {
  flow: FlowControl;
  advance(ms: number): void;
  probes: number;
} {
  let now = 0;
  const state = {
    probes: 0,
    flow: new FlowControl(
      () => {
        state.probes++;
        return new Promise<number>(() => undefined); // answered by observeProbe in the tests
      },
      () => baseRoundTripMs,
      () => now,
    ),
    advance(ms: number): void {
      now += ms;
    },
  };
  return state;
}

/**
 * A 20 Mbit/s line with a 40 ms round trip during its first transfer: 2 MiB asked at once (eight
 * 255 KiB requests), `answers` of them answered at the line's rate (2.5 bytes per µs), one every
 * ~104 ms. With all eight, the transfer is over.
 */
function thinLineAnswering(answers: number): ReturnType<typeof scripted> {
  const link = scripted(40);
  for (let i = 0; i < 8; i++) {
    void link.flow.admit(255 * KiB);
  }
  for (let i = 0; i < answers; i++) {
    link.advance(104);
    link.flow.done(255 * KiB, 255 * KiB);
  }
  return link;
}

describe('flow control', () => {
  test('on loopback and LANs (round trip under 5 ms) it never holds a request back', async () => {
    const { flow } = scripted(0.3);
    for (let i = 0; i < 200; i++) {
      assert.equal(await flow.admit(255 * KiB), 255 * KiB);
    }
  });

  test('starts with 2 MiB in flight and holds further requests until answers come', async () => {
    const link = scripted(40);
    const admitted: number[] = [];
    for (let i = 0; i < 12; i++) {
      void link.flow.admit(255 * KiB).then((bytes) => admitted.push(bytes));
    }
    await Promise.resolve();
    assert.equal(admitted.length, 8, 'eight 255 KiB requests fit 2 MiB');
    link.advance(50);
    link.flow.done(255 * KiB, 255 * KiB);
    await Promise.resolve();
    assert.ok(admitted.length > 8, 'an answer lets more out (and slow start grows the limit)');
  });

  test('a thin line is found from the answers alone: the limit drops to what the rate carries in two round trips', async () => {
    // Two of the eight requests still in flight.
    const link = thinLineAnswering(6);
    const rateBytesPerMs = 2.5 * KiB;
    assert.ok(
      link.flow.currentLimit <= 2 * rateBytesPerMs * (40 + 60),
      `limit ${link.flow.currentLimit} bytes after the thin line showed`,
    );
    assert.ok(link.flow.currentLimit >= 64 * KiB);
    // And requests are cut to what half a round trip carries: a small answer is not stuck behind one.
    const cap = link.flow.requestCap ?? Infinity;
    assert.ok(cap < 100 * KiB && cap >= 32 * KiB, `request cap ${cap}`);
  });

  test('a probe that waited longer than allowed shrinks the limit; quick probes grow it back', () => {
    const link = scripted(100);
    const start = link.flow.currentLimit;
    link.flow.observeProbe(100 + 200);
    const shrunk = link.flow.currentLimit;
    assert.ok(shrunk < start, 'queueing beyond the allowed delay shrinks it');
    link.flow.observeProbe(100 + 10);
    assert.ok(link.flow.currentLimit > shrunk, 'a quick probe grows it again');
  });

  test('a STAT may wait one round trip in the queue on a thin line, and 1.5 on a fast one', () => {
    /** A link answering 255 KiB every `everyMs` after its round trip of `baseMs`. */
    const answering = (baseMs: number, everyMs: number): ReturnType<typeof scripted> => {
      const link = scripted(baseMs);
      for (let i = 0; i < 8; i++) {
        void link.flow.admit(255 * KiB);
      }
      for (let i = 0; i < 6; i++) {
        link.advance(everyMs);
        link.flow.done(255 * KiB, 255 * KiB);
      }
      return link;
    };
    // 20 Mbit/s at 40 ms (a 255 KiB answer every ~104 ms): what the rate carries in two round trips,
    // one on the line and one in the queue (1.5 in the queue would be 250 KiB).
    const thin = answering(40, 104);
    const perMs = (255 * KiB) / 104;
    assert.ok(thin.flow.currentLimit <= 2 * 40 * perMs * 1.01, `thin limit ${thin.flow.currentLimit}`);
    // 1 Gbit/s at 100 ms (one every 2 ms): a probe queued 1.2 round trips leaves the limit alone, 1.6
    // round trips shrinks it.
    const fast = answering(100, 2);
    const before = fast.flow.currentLimit;
    fast.flow.observeProbe(100 + 120);
    assert.equal(fast.flow.currentLimit, before, 'fast line: 120 ms of queueing is allowed');
    fast.flow.observeProbe(100 + 160);
    assert.ok(fast.flow.currentLimit < before, 'fast line: 160 ms is not');
  });

  test('on a thin line quick probes do not grow the limit past what the rate carries in two round trips', () => {
    // A probe that slipped through a short queue grew the limit by a tenth each time: 275 KB in flight
    // on a 20 Mbit/s, 40 ms line, and a STAT behind it waited over three round trips.
    const link = thinLineAnswering(6);
    const perMs = (255 * KiB) / 104;
    for (let i = 0; i < 10; i++) {
      link.flow.observeProbe(40 + 5);
    }
    assert.ok(
      link.flow.currentLimit <= 2 * 40 * perMs * 1.01,
      `limit ${link.flow.currentLimit} after quick probes, two round trips are ${Math.round(2 * 40 * perMs)}`,
    );
    assert.ok(link.flow.currentLimit >= 2 * 40 * perMs * 0.99, 'and the line is kept busy');
  });

  test('a fast long link jumps to what its rate fills, instead of doubling for round trips', () => {
    const link = scripted(100);
    for (let i = 0; i < 40; i++) {
      void link.flow.admit(255 * KiB);
    }
    // 1 Gbit/s: 125 bytes per µs, a 255 KiB answer every 2 ms, for half a round trip.
    link.advance(100);
    for (let i = 0; i < 26; i++) {
      link.advance(2);
      link.flow.done(255 * KiB, 255 * KiB);
    }
    // 125 KB/ms for a round trip plus 1.5 of allowed delay: about 31 MB.
    const limit = link.flow.currentLimit;
    assert.ok(limit > 24 * MiB && limit < 40 * MiB, `limit ${limit}`);
  });

  test('a few answers arriving together do not make the line look faster than it is', () => {
    const link = scripted(100);
    for (let i = 0; i < 16; i++) {
      void link.flow.admit(255 * KiB);
    }
    // Answers on eight channels finish in clusters: eight within a millisecond, 16 ms apart (1 Gbit/s).
    link.advance(100);
    for (let cluster = 0; cluster < 2; cluster++) {
      for (let i = 0; i < 8; i++) {
        link.advance(0.1);
        link.flow.done(255 * KiB, 255 * KiB);
      }
      link.advance(16);
    }
    assert.ok(link.flow.currentLimit <= 8 * MiB, `limit ${link.flow.currentLimit} after 4 MiB answered`);
  });

  test('a fast long link is not taken for a thin one in the gap before its second flight answers', () => {
    const link = scripted(100);
    for (let i = 0; i < 8; i++) {
      void link.flow.admit(255 * KiB);
    }
    // The first flight comes back at 1 Gbit/s, and the larger second one goes out at once.
    for (let i = 0; i < 8; i++) {
      link.advance(2);
      link.flow.done(255 * KiB, 255 * KiB);
    }
    for (let i = 0; i < 60; i++) {
      void link.flow.admit(255 * KiB);
    }
    const jumped = link.flow.currentLimit;
    // Its answers, a round trip later, at the line's rate: the quiet round trip before them says
    // nothing about the line.
    link.advance(86);
    for (let i = 0; i < 12; i++) {
      link.flow.done(255 * KiB, 255 * KiB);
      assert.ok(link.flow.currentLimit >= jumped, `limit ${link.flow.currentLimit} after ${jumped}`);
      link.advance(2);
    }
  });

  test('on a thin line requests stay short while their answers come evenly spaced', () => {
    const link = thinLineAnswering(8);
    // Then one short request at a time, each answered 20 ms after the last: the line is busy, not
    // quiet, though every answer comes a round trip after its request went out.
    for (let i = 0; i < 30; i++) {
      const length = link.flow.requestCap ?? 255 * KiB;
      void link.flow.admit(length);
      link.advance(20);
      link.flow.done(length, length);
    }
    const cap = link.flow.requestCap ?? Infinity;
    assert.ok(cap < 100 * KiB, `request cap ${cap}`);
  });

  test('a limit the probes settled on a fast line is kept across a pause, not grown again', () => {
    const link = scripted(100);
    /** Answers at 1 Gbit/s, a round trip after 80 requests went out. */
    const answers = (count: number): void => {
      for (let i = 0; i < 80; i++) {
        void link.flow.admit(255 * KiB);
      }
      link.advance(100);
      for (let i = 0; i < count; i++) {
        link.advance(2);
        link.flow.done(255 * KiB, 255 * KiB);
      }
    };
    answers(80);
    link.flow.observeProbe(100 + 200); // queueing beyond the 150 ms allowed: the limit settles
    const settled = link.flow.currentLimit;
    // A minute later the next transfer: its answers do not grow the limit again.
    link.advance(60_000);
    answers(20);
    assert.equal(link.flow.currentLimit, settled);
  });

  test('a thin line is remembered across a pause: the next transfer does not queue 2 MiB again', async () => {
    const link = thinLineAnswering(8);
    // Ten seconds later the next transfer asks for as much as it may have.
    link.advance(10_000);
    let admitted = 0;
    for (let i = 0; i < 40; i++) {
      void link.flow.admit(255 * KiB).then((bytes) => (admitted += bytes));
    }
    await Promise.resolve();
    // One and a half round trips' worth: the line is full from the start (one round trip's worth is
    // on the way), and a STAT in the first flight does not queue behind a second round trip's worth.
    const roundTrip = 2.5 * KiB * 40;
    assert.ok(admitted <= 1.6 * roundTrip, `${admitted} bytes in flight at the start`);
    assert.ok(admitted >= 1.3 * roundTrip, `${admitted} bytes in flight at the start`);
    const cap = link.flow.requestCap ?? Infinity;
    assert.ok(cap < 100 * KiB, `request cap ${cap}: a small answer is not stuck behind a long one`);
    // Once the answers show the rate again, a probe brings it to two round trips' worth.
    for (let i = 0; i < 6; i++) {
      link.advance(admitted / 3 / (2.5 * KiB));
      link.flow.done(admitted / 3, admitted / 3);
    }
    link.flow.observeProbe(40 + 5);
    assert.ok(
      Math.abs(link.flow.currentLimit - 2 * roundTrip) < 0.1 * roundTrip,
      `limit ${link.flow.currentLimit} once the rate showed, two round trips are ${2 * roundTrip}`,
    );
  });

  test('a line remembered as thin grows again once it answers faster', async () => {
    const link = thinLineAnswering(8);
    link.advance(10_000);
    const restarted = link.flow.currentLimit;
    // Now the line carries 200 Mbit/s: every request is answered a round trip after it went out.
    const inFlight: number[] = [];
    const ask = (): void => {
      void link.flow.admit(50 * KiB).then((bytes) => inFlight.push(bytes));
    };
    for (let i = 0; i < 30; i++) {
      ask();
    }
    for (let step = 0; step < 200; step++) {
      await Promise.resolve();
      link.advance(2);
      const bytes = inFlight.shift();
      if (bytes !== undefined) {
        link.flow.done(bytes, bytes);
        ask();
        ask();
      }
    }
    assert.ok(
      link.flow.currentLimit > 4 * restarted,
      `limit ${link.flow.currentLimit} after restarting at ${restarted}`,
    );
  });

  test('requests are never held back forever: with nothing in flight one is always admitted', async () => {
    const link = scripted(40);
    link.flow.observeProbe(10_000); // a terrible probe
    assert.equal(await link.flow.admit(10 * MiB), 10 * MiB);
  });

  test('a transfer after a pause is not taken for a thin line: answers from before the pause are forgotten', async () => {
    const link = scripted(50);
    /** A transfer on a fast link: 40 answers, 2 ms apart, a round trip after they were asked. */
    const fastTransfer = (): void => {
      for (let i = 0; i < 40; i++) {
        void link.flow.admit(255 * KiB);
      }
      link.advance(50);
      for (let i = 0; i < 40; i++) {
        link.advance(2);
        link.flow.done(255 * KiB, 255 * KiB);
      }
    };
    fastTransfer();
    const learned = link.flow.currentLimit;
    assert.ok(learned > 16 * MiB, `limit ${learned}`);
    // Five minutes later, the next transfer: its first answers must not be averaged with the old ones.
    link.advance(5 * 60 * 1000);
    fastTransfer();
    assert.ok(link.flow.currentLimit >= Math.min(learned, 2 * MiB), `limit ${link.flow.currentLimit}`);
    assert.ok(link.flow.currentLimit > 16 * MiB, 'the fast link is seen as fast again');
  });
});
