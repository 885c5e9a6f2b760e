/**
 * How much a connection's transfers keep in flight, sized from what the link shows instead of fixed.
 *
 * Fixed depths (64 READs of 255 KiB per channel, eight channels) fill any pipe, but on a thin line
 * everything beyond the bandwidth-delay product only waits in queues (the server's socket, a router),
 * and a STAT or a listing the user asks for meanwhile waits behind it: seconds on a 20 Mbit/s line.
 * So transfers ask for admission here. The limit:
 * - starts at 2 MiB (about what OpenSSH's sftp keeps in flight) and grows by every byte answered;
 *   once a quarter of a round trip of answers shows the delivery rate it jumps to what that rate
 *   carries in a round trip plus the allowed delay, so a fast link is not made to double its way up;
 * - stops growing, and drops to what the rate carries in that time, when more is in flight than
 *   twice that (a thin line, found from the answers alone) or when a probe waits too long;
 * - follows probes (a REALPATH, answered at once by any server, at most one per two round trips
 *   while a transfer runs): down by a tenth while they wait longer than the allowed delay, up by a
 *   tenth while they wait less than half of it (on a thin line, no further than what the rate
 *   carries within the delay budget), never below two round trips' worth at the rate;
 * - after a pause, starts again from what the line showed while it was full (restartAfterIdle): a
 *   thin line at one and a half round trips' worth at its rate, a fast one at the limit its probes
 *   settled.
 * The allowed delay is one round trip on a thin line and 1.5 elsewhere (at least 20 ms), so a small
 * request is answered within about two to three round trips while a transfer runs. Links under 5 ms
 * round trip are not governed: their queues drain in milliseconds, and every request in flight keeps
 * this client busy.
 *
 * Requests are also kept short on thin lines (`requestCap`): one 255 KiB reply takes 100 ms on a
 * 20 Mbit/s line, and a small answer on the same channel waits behind it.
 */
export class FlowControl {
  private limit = INITIAL_LIMIT;
  private inFlight = 0;
  private growing = true;
  private readonly waiting: Array<{ readonly wanted: number; readonly admitted: (bytes: number) => void }> =
    [];
  private probing = false;
  private lastProbeAt = -Infinity;
  /** Completions in the last rate window: when, and how many bytes. */
  private readonly completions: Array<{ readonly at: number; readonly bytes: number }> = [];
  private deliveredInWindow = 0;
  /** When the requests in flight were admitted, oldest first, with their bytes not yet answered. */
  private readonly admissions: Array<{ readonly at: number; bytes: number }> = [];
  /**
   * The delivery rate (bytes per ms) of a line last found thin while it was full: kept across pauses,
   * when the answers that showed it are forgotten, so that the next transfer does not queue seconds.
   */
  private thinLineRate: number | undefined;

  constructor(
    /** Times one small request on the connection; resolves with its round trip in ms. */
    private readonly probe: () => Promise<number>,
    /** The link's own round trip (the fastest small answer seen), once known. */
    private readonly baseRoundTripMs: () => number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Bytes the connection's transfers may have in flight now. */
  get currentLimit(): number {
    return this.limit;
  }

  /**
   * The longest request worth sending now (undefined: no cap). Half a round trip's worth of data at
   * the measured rate, at least 32 KiB: on fast links this is far above any server's limit.
   */
  get requestCap(): number | undefined {
    const base = this.baseRoundTripMs();
    const rate = base === undefined ? undefined : (this.deliveryRate(base) ?? this.thinLineRate);
    if (rate === undefined || base === undefined) {
      return undefined;
    }
    return Math.max(MIN_REQUEST, Math.floor((rate * Math.max(base, 10)) / 2));
  }

  /**
   * Resolves when a request may go out, with how long it may be: `wanted`, or less when the line is
   * thin (requestCap at that moment; the caller sends the rest as another request). `done` must
   * follow with the admitted length when it is answered or has failed.
   */
  admit(wanted: number): Promise<number> {
    if (!this.governs()) {
      this.inFlight += wanted;
      return Promise.resolve(wanted);
    }
    if (this.inFlight === 0) {
      this.restartAfterIdle();
    }
    this.maybeProbe();
    const bytes = this.capped(wanted);
    const fits = this.inFlight === 0 || this.inFlight + bytes <= this.limit;
    if (this.waiting.length === 0 && fits) {
      this.inFlight += bytes;
      this.admissions.push({ at: this.now(), bytes });
      return Promise.resolve(bytes);
    }
    return new Promise((admitted) => this.waiting.push({ wanted, admitted }));
  }

  done(bytes: number, delivered: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
    this.forgetQuietStretch();
    this.answered(bytes);
    if (this.inFlight === 0) {
      this.admissions.length = 0; // requests admitted while the link was not governed have no entry
    }
    this.recordDelivery(delivered);
    if (!this.governs()) {
      // The round trip turned out short after all: nothing waits any more.
      for (const { wanted, admitted } of this.waiting.splice(0)) {
        this.inFlight += wanted;
        admitted(wanted);
      }
      return;
    }
    const rate = this.deliveryRate(this.rateSpanMs());
    const fitted = rate === undefined ? undefined : rate * this.delayBudgetMs();
    this.noticeFasterLine();
    if (this.growing) {
      if (fitted !== undefined && this.inFlight > 2 * fitted) {
        // More in flight than twice what the link's rate can carry within the allowed delay: a thin
        // line. Stop here and let the queue drain, rather than wait for a probe stuck behind it.
        this.stopGrowing(rate);
        this.limit = Math.max(MIN_LIMIT, Math.floor(fitted));
      } else {
        // Slow start, with a shortcut: once the answers show the rate, the limit jumps to what that
        // rate fills in the budget, so a fast link does not double its way up for rounds.
        this.limit = Math.min(MAX_LIMIT, Math.max(this.limit + delivered, fitted ?? 0));
      }
    }
    this.admitWaiting();
    this.maybeProbe();
  }

  /**
   * A transfer starting after a pause: answers from before it would make the rate look as low as the
   * pause is long (and the link as thin), so they are forgotten. What the link showed while it was
   * full is kept:
   * - on a fast line, a limit the probes have settled: growing again from it put 50-80 MiB in flight
   *   on a 1 Gbit/s, 100 ms line before the first probe came back, and the queues that built at the
   *   server slowed the transfer for a second or more (warm 256 MiB reads under 2410 ms: 6 of 10
   *   regrowing, 9 of 10 kept); quick probes still let it grow by a tenth each;
   * - on a thin line, its rate: the limit restarts at one and a half round trips' worth at that rate,
   *   with requests as short as before, and returns to two once the answers show the rate again (the
   *   probes' floor). Restarting from 2 MiB queued 0.8 s at 20 Mbit/s, and a STAT sent in the first
   *   second of every transfer waited that long; restarting at two round trips' worth, the whole first
   *   flight is answered at once and a STAT right behind it waited 100-115 ms at 20 Mbit/s and 40 ms
   *   (74-80 ms from one and a half, the line full either way).
   * Otherwise the limit grows again from at least its starting value, as TCP restarts its window
   * after idle (RFC 2861).
   */
  private restartAfterIdle(): void {
    const last = this.completions[this.completions.length - 1];
    if (last === undefined || this.now() - last.at <= this.rateWindowMs()) {
      return;
    }
    const base = this.baseRoundTripMs() ?? 0;
    // Over a whole round trip of answers, as allowedDelayMs judges thinness: clusters average out.
    const rate = this.deliveryRate(base);
    const settledOnFastLine = !this.growing && rate !== undefined && !this.isThin(rate, base);
    this.completions.length = 0;
    this.deliveredInWindow = 0;
    if (this.thinLineRate !== undefined) {
      this.growing = false;
      this.limit = Math.max(MIN_LIMIT, Math.floor(THIN_RESTART_ROUND_TRIPS * this.thinLineRate * base));
    } else if (!settledOnFastLine) {
      this.growing = true;
      this.limit = Math.max(this.limit, INITIAL_LIMIT);
    }
  }

  /**
   * A line remembered as thin that now answers half as fast again as it did (what it carries once
   * another transfer on it ended): it grows again as a line not known, from the limit it has.
   */
  private noticeFasterLine(): void {
    const base = this.baseRoundTripMs();
    if (this.thinLineRate === undefined || base === undefined) {
      return;
    }
    const rate = this.deliveryRate(base);
    if (rate !== undefined && rate > 1.5 * this.thinLineRate) {
      this.thinLineRate = undefined;
      this.growing = true;
    }
  }

  /**
   * The link is full: more in flight would only wait in a queue. Remembers its rate when one round
   * trip carries less than THIN_LINE_BYTES at it (see restartAfterIdle), and forgets an earlier thin
   * rate otherwise (the line got faster, or it was never thin).
   */
  private stopGrowing(rate: number | undefined): void {
    this.growing = false;
    const base = this.baseRoundTripMs() ?? 0;
    if (rate !== undefined) {
      this.thinLineRate = this.isThin(rate, base) ? rate : undefined;
    }
  }

  /**
   * Forgets the answers before this one when the line had nothing to carry for a while before it:
   * a pause far longer than the answers' usual spacing, and the oldest request in flight went out so
   * recently that it could not have been answered much sooner (a quarter of a round trip or more
   * after the last answer). The rate over such a stretch is the sender's, not the line's: right
   * after the limit has jumped, the small first flight is all that came back, and averaged with the
   * quiet round trip before the larger second flight answers, it made a long fat line look thin. On
   * a thin line answers are evenly spaced and nothing is forgotten.
   */
  private forgetQuietStretch(): void {
    const first = this.completions[0];
    const last = this.completions[this.completions.length - 1];
    const oldest = this.admissions[0];
    const base = this.baseRoundTripMs();
    if (first === undefined || last === undefined || oldest === undefined || base === undefined) {
      return;
    }
    const now = this.now();
    const usualSpacing = (last.at - first.at) / Math.max(1, this.completions.length - 1);
    const quietMs = Math.min(oldest.at + base, now) - last.at;
    if (now - last.at > 4 * usualSpacing && quietMs > base / 4) {
      this.completions.length = 0;
      this.deliveredInWindow = 0;
    }
  }

  /** Takes `bytes` answered off the oldest admissions (answers come mostly in the order asked). */
  private answered(bytes: number): void {
    let left = bytes;
    for (let oldest = this.admissions[0]; oldest !== undefined && left > 0; oldest = this.admissions[0]) {
      const taken = Math.min(left, oldest.bytes);
      oldest.bytes -= taken;
      left -= taken;
      if (oldest.bytes === 0) {
        this.admissions.shift();
      }
    }
  }

  /** Applies what one probe saw; public for tests that script the link. */
  observeProbe(roundTripMs: number): void {
    const base = this.baseRoundTripMs() ?? roundTripMs;
    const queueing = roundTripMs - base;
    const allowed = this.allowedDelayMs(base);
    const rate = this.deliveryRate(base);
    /** What the measured rate keeps busy for a round trip plus the allowed delay. */
    const fitted = rate === undefined ? Infinity : rate * (base + allowed);
    if (queueing > allowed) {
      this.stopGrowing(rate);
      // Down to that at once (each probe waits behind the queue, so shrinking a little per probe
      // would take seconds), and by a tenth when already there.
      this.limit = this.limit > fitted ? fitted : this.limit * 0.9;
    } else if (!this.growing && queueing < allowed / 2) {
      // On a thin line the rate was measured while the line was full, and what it carries within the
      // delay budget keeps it busy: more only queues ahead of the next small request. Growing past it
      // whenever a probe slipped through a short queue put 275 KB in flight on a 20 Mbit/s, 40 ms line,
      // and a STAT behind that took 124 ms, over three round trips.
      const ceiling = rate !== undefined && this.isThin(rate, base) ? fitted : Infinity;
      this.limit = Math.max(this.limit, Math.min(this.limit * 1.1, ceiling));
    }
    // Never less than keeps the line busy: two round trips' worth at the measured rate.
    const busy = rate === undefined ? 0 : 2 * rate * base;
    this.limit = Math.floor(Math.min(MAX_LIMIT, Math.max(MIN_LIMIT, busy, this.limit)));
    this.admitWaiting();
  }

  /**
   * Only links with a real round trip are governed: below GOVERNED_FROM_MS (loopback, a LAN) a queue
   * drains in tens of milliseconds at most, and every request in flight keeps this client busy.
   */
  private governs(): boolean {
    const base = this.baseRoundTripMs();
    return base !== undefined && base >= GOVERNED_FROM_MS;
  }

  /**
   * How much queueing a small request may meet, at least 20 ms: one round trip on a thin line (one
   * round trip carries less than THIN_LINE_BYTES at the measured rate), where the queue the transfer
   * builds at the bottleneck is what a STAT waits behind, so it is answered within about two round
   * trips; 1.5 elsewhere, where probes mostly wait behind the transfer's own requests at the server
   * and a tighter budget would only shrink a fast upload's window.
   */
  private allowedDelayMs(base: number): number {
    const rate = this.deliveryRate(base);
    const thin = rate !== undefined && this.isThin(rate, base);
    return Math.max((thin ? 1 : 1.5) * base, MIN_ALLOWED_DELAY_MS);
  }

  /** One round trip carries less than THIN_LINE_BYTES at `rate`. */
  private isThin(rate: number, base: number): boolean {
    return rate * base < THIN_LINE_BYTES;
  }

  /** A round trip plus the allowed delay: the time whose worth of data may be in flight. */
  private delayBudgetMs(): number {
    const base = this.baseRoundTripMs() ?? 0;
    return base + this.allowedDelayMs(base);
  }

  private admitWaiting(): void {
    for (let next = this.waiting[0]; next !== undefined; next = this.waiting[0]) {
      const bytes = this.capped(next.wanted);
      if (this.inFlight > 0 && this.inFlight + bytes > this.limit) {
        return;
      }
      this.waiting.shift();
      this.inFlight += bytes;
      this.admissions.push({ at: this.now(), bytes });
      next.admitted(bytes);
    }
  }

  private capped(wanted: number): number {
    return Math.min(wanted, this.requestCap ?? wanted);
  }

  /** While requests are in flight, one probe at a time, at most every two round trips (25 ms at least). */
  private maybeProbe(): void {
    const base = this.baseRoundTripMs();
    if (this.probing || base === undefined || this.inFlight === 0) {
      return;
    }
    const now = this.now();
    if (now - this.lastProbeAt < Math.max(2 * base, MIN_PROBE_INTERVAL_MS)) {
      return;
    }
    this.probing = true;
    this.lastProbeAt = now;
    this.probe().then(
      (roundTripMs) => {
        this.probing = false;
        this.observeProbe(roundTripMs);
      },
      () => {
        this.probing = false; // a failed probe says nothing about the link
      },
    );
  }

  private recordDelivery(bytes: number): void {
    const now = this.now();
    this.completions.push({ at: now, bytes });
    this.deliveredInWindow += bytes;
    const window = this.rateWindowMs();
    // The window keeps its last eight answers however old: on a thin line they are 100 ms apart.
    while (this.completions.length > 8 && now - (this.completions[0]?.at ?? now) > window) {
      this.deliveredInWindow -= this.completions.shift()?.bytes ?? 0;
    }
  }

  /** Bytes per ms answered over the last window, once at least four answers span `minSpanMs`. */
  private deliveryRate(minSpanMs: number): number | undefined {
    const first = this.completions[0];
    const last = this.completions[this.completions.length - 1];
    if (first === undefined || last === undefined || this.completions.length < 4) {
      return undefined;
    }
    const span = last.at - first.at;
    if (span <= 0 || span < minSpanMs) {
      return undefined;
    }
    return (this.deliveredInWindow - first.bytes) / span;
  }

  /**
   * How long a stretch of answers must be before its rate sizes the limit: a quarter of a round trip
   * (10 ms at least). Answers on several channels arrive interleaved and finish in clusters (eight
   * 255 KiB answers within a millisecond at 1 Gbit/s), so a few answers make a line look twice as
   * fast as it is or more. Sized from a few answers, the limit reached 100-150 MiB on a 1 Gbit/s,
   * 100 ms line before a probe cut it, and with that much in flight the queues at the server slowed
   * the transfer for a second or more.
   */
  private rateSpanMs(): number {
    return Math.max(MIN_RATE_SPAN_MS, (this.baseRoundTripMs() ?? 0) / 4);
  }

  private rateWindowMs(): number {
    return Math.max(4 * (this.baseRoundTripMs() ?? 25), 100);
  }
}

const MiB = 1024 * 1024;
/** OpenSSH's sftp keeps about this much in flight; a thin line drains it in under a second. */
const INITIAL_LIMIT = 2 * MiB;
/** Never below what a thin line needs to stay busy. */
const MIN_LIMIT = 64 * 1024;
const MAX_LIMIT = 256 * MiB;
const MIN_REQUEST = 32 * 1024;
const MIN_ALLOWED_DELAY_MS = 20;
/** A line whose round trip carries less than this at its rate is thin (20 Mbit/s at 40 ms: 100 KB). */
const THIN_LINE_BYTES = 1 * MiB;
/** Round trips' worth at its remembered rate a thin line restarts with (see restartAfterIdle). */
const THIN_RESTART_ROUND_TRIPS = 1.5;
const MIN_PROBE_INTERVAL_MS = 25;
const GOVERNED_FROM_MS = 5;
/** The shortest stretch of answers whose rate the limit is sized from (see rateSpanMs). */
const MIN_RATE_SPAN_MS = 10;
