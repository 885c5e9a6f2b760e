/**
 * Bounds how many async tasks run at once. VS Code issues unbounded parallel calls (folder copies,
 * Explorer sorting by date); without a bound they would exhaust the server's handle limit.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly maxConcurrent: number) {
    if (!(maxConcurrent >= 1)) {
      throw new RangeError(`maxConcurrent must be at least 1, got ${maxConcurrent}`);
    }
  }

  get active(): number {
    return this.running;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        // The slot passes straight to the next task, so `running` stays the same.
        next();
      } else {
        this.running--;
      }
    }
  }
}

/** Runs `task` over every item with at most `concurrency` in flight; rejects with the first error. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== undefined) {
    throw failure.error;
  }
}
