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

/**
 * Work started as it is found (a walk's files to read, remove or copy), at most `concurrency` at once.
 * A failing task does not stop the others; `finished` waits for all and rejects with the first failure.
 */
export class TaskPool {
  private readonly limiter: Limiter;
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(concurrency: number) {
    this.limiter = new Limiter(concurrency);
  }

  /** A task has failed: callers stop adding work. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  add(task: () => Promise<void>): void {
    const running: Promise<void> = this.limiter
      .run(task)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(running));
    this.running.add(running);
  }

  /** Waits for every task added, including those added meanwhile; rejects with the first failure. */
  async finished(): Promise<void> {
    while (this.running.size > 0) {
      await Promise.all(this.running);
    }
    if (this.failure !== undefined) {
      throw this.failure.error;
    }
  }
}
