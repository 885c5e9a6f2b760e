import { connect, createServer, type Server, type Socket } from 'node:net';

export type Direction = 'up' | 'down';

/** A line's shape: how late and how fast bytes arrive (tc/netem is not available on these machines). */
export interface LineShape {
  /** Propagation delay each way. */
  readonly oneWayDelayMs?: number;
  /** The bottleneck's rate each way (bits per second); unlimited when absent. */
  readonly bitsPerSecond?: number;
  /**
   * The bottleneck's queue (bytes waiting to be sent at the line rate) before the relay stops reading
   * from the sender, as a router's full buffer does. Default: one bandwidth-delay product (at least
   * 64 KiB), what a well-sized router keeps.
   */
  readonly queueBytes?: number;
}

/**
 * A TCP relay on 127.0.0.1 in front of a real server. It can be a slow line (see LineShape: a delay,
 * and a rate limit with a bounded queue, each way, bytes kept in order, one bottleneck for all its
 * connections), and it injects link faults on command: cut a connection after exactly N more bytes in
 * one direction, stall it (hold every byte, answer nothing), refuse new connections. "up" is client to server, "down" server
 * to client. Both sides use TCP_NODELAY, so the relay adds no batching delay of its own.
 */
export class FaultProxy {
  private readonly links = new Set<Link>();
  private readonly sockets = new Set<Socket>();
  /** Bytes relayed by connections that have closed, so that totals survive them. */
  private readonly closedRelayed: Record<Direction, number> = { up: 0, down: 0 };
  /**
   * The line's bottleneck each way, shared by every connection through it, as one link's router is:
   * a second connection (a reader thread's, OpenSSH's) gets no line of its own, and what one
   * connection has queued delays the others' packets.
   */
  private readonly bottleneck: Record<Direction, Bottleneck> = {
    up: { busyUntil: 0 },
    down: { busyUntil: 0 },
  };
  private refusing = false;
  private stalling = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly shape: LineShape,
  ) {}

  static start(targetPort: number, options: LineShape = {}): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetPort));
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        proxy = new FaultProxy(server, port, options);
        resolve(proxy);
      });
    });
  }

  /** Bytes relayed so far in `direction` over every open connection. */
  relayed(direction: Direction): number {
    let total = 0;
    for (const link of this.links) {
      total += link.relayed[direction];
    }
    return total;
  }

  /** Bytes relayed so far in `direction` over every connection, open or closed, since the relay started. */
  totalRelayed(direction: Direction): number {
    return this.closedRelayed[direction] + this.relayed(direction);
  }

  /** Cuts every open connection once it has relayed `bytes` more in `direction`. */
  cutAfter(direction: Direction, bytes: number): void {
    for (const link of this.links) {
      link.cutAt[direction] = link.relayed[direction] + bytes;
      link.checkCut(direction);
    }
  }

  /** Cuts the connection that arrived last, alone, once it has relayed `bytes` more in `direction`. */
  cutNewestAfter(direction: Direction, bytes: number): void {
    const newest = [...this.links].at(-1);
    if (newest !== undefined) {
      newest.cutAt[direction] = newest.relayed[direction] + bytes;
      newest.checkCut(direction);
    }
  }

  /**
   * Changes one byte (inverts its bits) on every open connection once it has relayed `bytes` more in
   * `direction`: a line that corrupts what it carries, which SSH's integrity check must catch.
   */
  corruptAfter(direction: Direction, bytes: number): void {
    for (const link of this.links) {
      link.corruptAt[direction] = link.relayed[direction] + bytes;
    }
  }

  /** Forgets cuts armed by `cutAfter` that have not happened yet. */
  disarm(): void {
    for (const link of this.links) {
      link.cutAt.up = Infinity;
      link.cutAt.down = Infinity;
    }
  }

  /** Cuts every open connection now. */
  cutAll(): void {
    for (const link of [...this.links]) {
      link.destroy();
    }
  }

  /** While on, new connections are closed as soon as they arrive (the server looks down). */
  refuseNew(refusing: boolean): void {
    this.refusing = refusing;
  }

  /**
   * Holds every byte in both directions, on open connections and new ones, until `resume`: a server
   * that stopped answering.
   */
  stall(): void {
    this.stalling = true;
    for (const link of this.links) {
      link.stalled = true;
    }
  }

  resume(): void {
    this.stalling = false;
    for (const link of this.links) {
      link.stalled = false;
      link.flush();
    }
  }

  close(): Promise<void> {
    this.cutAll();
    for (const socket of this.sockets) {
      socket.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    }
    const link = new Link(client, upstream, this.shape, this.bottleneck, () => {
      this.links.delete(link);
      this.closedRelayed.up += link.relayed.up;
      this.closedRelayed.down += link.relayed.down;
    });
    link.stalled = this.stalling;
    this.links.add(link);
  }
}

/** One direction of a line's bottleneck, shared by its connections. */
interface Bottleneck {
  /** When the bottleneck finishes sending what it has accepted so far, from any connection. */
  busyUntil: number;
}

/**
 * One direction of one connection over a shaped line: its bytes in arrival order, each with the time
 * it reaches the far end.
 */
interface Lane {
  readonly queue: Array<{ chunk: Buffer; deliverAt: number }>;
  timer: NodeJS.Timeout | undefined;
  /** Set while the sender is paused: when the queue will have drained to half. */
  resumeTimer: NodeJS.Timeout | undefined;
}

function newLane(): Lane {
  return { queue: [], timer: undefined, resumeTimer: undefined };
}

class Link {
  readonly relayed = { up: 0, down: 0 };
  readonly cutAt: Record<Direction, number> = { up: Infinity, down: Infinity };
  readonly corruptAt: Record<Direction, number> = { up: Infinity, down: Infinity };
  stalled = false;
  private readonly held: Array<{ direction: Direction; chunk: Buffer }> = [];
  private destroyed = false;
  private readonly lanes: Record<Direction, Lane> = { up: newLane(), down: newLane() };
  private readonly delayMs: number;
  /** Bytes per millisecond through the bottleneck; Infinity for none. */
  private readonly bytesPerMs: number;
  private readonly queueBytes: number;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    shape: LineShape,
    private readonly bottleneck: Record<Direction, Bottleneck>,
    private readonly onClose: () => void,
  ) {
    this.delayMs = shape.oneWayDelayMs ?? 0;
    this.bytesPerMs = shape.bitsPerSecond === undefined ? Infinity : shape.bitsPerSecond / 8 / 1000;
    const bandwidthDelay = Number.isFinite(this.bytesPerMs) ? this.bytesPerMs * 2 * this.delayMs : 0;
    this.queueBytes = shape.queueBytes ?? Math.max(64 * 1024, bandwidthDelay);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', () => this.destroy());
      socket.on('close', () => this.destroy());
    }
    client.on('data', (chunk: Buffer) => this.receive('up', chunk));
    upstream.on('data', (chunk: Buffer) => this.receive('down', chunk));
  }

  private receive(direction: Direction, chunk: Buffer): void {
    if (this.delayMs === 0 && !Number.isFinite(this.bytesPerMs)) {
      this.forward(direction, chunk);
      return;
    }
    // Store and forward: a chunk leaves the bottleneck after everything before it (from any connection)
    // plus its own transmission time, then travels for the delay. One queue per direction and
    // connection keeps the byte order.
    const lane = this.lanes[direction];
    const bottleneck = this.bottleneck[direction];
    const now = performance.now();
    const sent = Math.max(now, bottleneck.busyUntil) + chunk.length / this.bytesPerMs;
    bottleneck.busyUntil = sent;
    lane.queue.push({ chunk, deliverAt: sent + this.delayMs });
    // The bottleneck's queue is what it has yet to send: the time left times the rate. When it is
    // full the relay stops reading, so the sender's TCP window closes, as behind a full router buffer.
    const queued = (sent - now) * this.bytesPerMs;
    if (queued > this.queueBytes && lane.resumeTimer === undefined) {
      const sender = this.sender(direction);
      sender.pause();
      const drained = sent - this.queueBytes / 2 / this.bytesPerMs;
      lane.resumeTimer = setTimeout(
        () => {
          lane.resumeTimer = undefined;
          sender.resume();
        },
        Math.max(0, drained - now),
      );
    }
    this.schedule(direction);
  }

  private schedule(direction: Direction): void {
    const lane = this.lanes[direction];
    const head = lane.queue[0];
    if (lane.timer !== undefined || head === undefined || this.destroyed) {
      return;
    }
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        const now = performance.now();
        while (lane.queue[0] !== undefined && lane.queue[0].deliverAt <= now + 0.5) {
          const { chunk } = lane.queue.shift() as { chunk: Buffer };
          this.forward(direction, chunk);
        }
        this.schedule(direction);
      },
      Math.max(0, head.deliverAt - performance.now()),
    );
  }

  private sender(direction: Direction): Socket {
    return direction === 'up' ? this.client : this.upstream;
  }

  private forward(direction: Direction, chunk: Buffer): void {
    if (this.destroyed) {
      return;
    }
    if (this.stalled || this.held.length > 0) {
      this.held.push({ direction, chunk });
      return;
    }
    const corruptAt = this.corruptAt[direction] - this.relayed[direction];
    if (corruptAt >= 0 && corruptAt < chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[corruptAt] = (chunk[corruptAt] ?? 0) ^ 0xff;
      this.corruptAt[direction] = Infinity;
    }
    const room = this.cutAt[direction] - this.relayed[direction];
    const part = room < chunk.length ? chunk.subarray(0, Math.max(0, room)) : chunk;
    if (part.length > 0) {
      (direction === 'up' ? this.upstream : this.client).write(part);
      this.relayed[direction] += part.length;
    }
    this.checkCut(direction);
  }

  flush(): void {
    const held = this.held.splice(0);
    for (const { direction, chunk } of held) {
      this.forward(direction, chunk);
    }
  }

  checkCut(direction: Direction): void {
    if (this.destroyed || this.relayed[direction] < this.cutAt[direction]) {
      return;
    }
    // The receiving side gets the bytes already relayed, then the end of the stream; the sending side
    // is reset. Nothing more passes either way.
    this.destroyed = true;
    this.onClose();
    const [receiving, sending] =
      direction === 'up' ? [this.upstream, this.client] : [this.client, this.upstream];
    receiving.end(() => receiving.destroy());
    sending.destroy();
  }

  destroy(): void {
    for (const lane of Object.values(this.lanes)) {
      clearTimeout(lane.timer);
      clearTimeout(lane.resumeTimer);
      lane.queue.length = 0;
    }
    this.client.destroy();
    this.upstream.destroy();
    if (!this.destroyed) {
      this.destroyed = true;
      this.onClose();
    }
  }
}
