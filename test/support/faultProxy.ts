import { connect, createServer, type Server, type Socket } from 'node:net';

export type Direction = 'up' | 'down';

/**
 * A TCP relay on 127.0.0.1 in front of a real server. It can be a slow link (every chunk delayed by
 * `oneWayDelayMs` each way, order kept: tc/netem is not available on these machines), and it injects
 * link faults on command: cut a connection after exactly N more bytes in one direction, stall it
 * (hold every byte, answer nothing), refuse new connections. "up" is client to server, "down" server
 * to client. Both sides use TCP_NODELAY, so the relay adds no batching delay of its own.
 */
export class FaultProxy {
  private readonly links = new Set<Link>();
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  private stalling = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly oneWayDelayMs: number,
  ) {}

  static start(targetPort: number, options: { oneWayDelayMs?: number } = {}): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetPort));
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        proxy = new FaultProxy(server, port, options.oneWayDelayMs ?? 0);
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

  /** Cuts every open connection once it has relayed `bytes` more in `direction`. */
  cutAfter(direction: Direction, bytes: number): void {
    for (const link of this.links) {
      link.cutAt[direction] = link.relayed[direction] + bytes;
      link.checkCut(direction);
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
    const link = new Link(client, upstream, this.oneWayDelayMs, () => this.links.delete(link));
    link.stalled = this.stalling;
    this.links.add(link);
  }
}

class Link {
  readonly relayed = { up: 0, down: 0 };
  readonly cutAt: Record<Direction, number> = { up: Infinity, down: Infinity };
  stalled = false;
  private readonly held: Array<{ direction: Direction; chunk: Buffer }> = [];
  private destroyed = false;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly delayMs: number,
    private readonly onClose: () => void,
  ) {
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', () => this.destroy());
      socket.on('close', () => this.destroy());
    }
    client.on('data', (chunk: Buffer) => this.receive('up', chunk));
    upstream.on('data', (chunk: Buffer) => this.receive('down', chunk));
  }

  private receive(direction: Direction, chunk: Buffer): void {
    if (this.delayMs > 0) {
      // Timers of equal delay fire in order, so the order of chunks is kept.
      setTimeout(() => this.forward(direction, chunk), this.delayMs);
    } else {
      this.forward(direction, chunk);
    }
  }

  private forward(direction: Direction, chunk: Buffer): void {
    if (this.destroyed) {
      return;
    }
    if (this.stalled || this.held.length > 0) {
      this.held.push({ direction, chunk });
      return;
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
    this.client.destroy();
    this.upstream.destroy();
    if (!this.destroyed) {
      this.destroyed = true;
      this.onClose();
    }
  }
}
