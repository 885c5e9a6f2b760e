/**
 * The content of a save that another thread is still copying in, front to back, while the save is
 * under way: each WRITE waits only until its own range is there, not for the whole copy. Copying
 * 256 MiB into fresh memory takes a quarter of a second (most of it the kernel handing out pages),
 * longer than the round trip of the temporary's OPEN that it overlaps on a fast line.
 */
export class ArrivingContent {
  private arrived = 0;
  private failure: Error | undefined;
  private waiters: Array<{ readonly end: number; resolve(): void; reject(error: Error): void }> = [];

  /** Bytes [0, `upTo`) are in place (after a failure, nothing more counts). */
  arrivedUpTo(upTo: number): void {
    if (upTo <= this.arrived || this.failure !== undefined) {
      return;
    }
    this.arrived = upTo;
    const stillWaiting = [];
    for (const waiter of this.waiters) {
      if (waiter.end <= upTo) {
        waiter.resolve();
      } else {
        stillWaiting.push(waiter);
      }
    }
    this.waiters = stillWaiting;
  }

  /** Nothing more will come: whatever waits, or asks from now on for what has not come, fails. */
  fail(reason: Error): void {
    this.failure ??= reason;
    for (const waiter of this.waiters) {
      waiter.reject(this.failure);
    }
    this.waiters = [];
  }

  /**
   * Undefined when bytes [0, `end`) are in place (a WRITE of them goes out in the same tick);
   * otherwise resolves once they are, or rejects if they never will be.
   */
  until(end: number): Promise<void> | undefined {
    if (end <= this.arrived) {
      return undefined;
    }
    if (this.failure !== undefined) {
      return Promise.reject(this.failure);
    }
    return new Promise<void>((resolve, reject) => this.waiters.push({ end, resolve, reject }));
  }
}
