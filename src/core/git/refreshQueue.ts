/**
 * When a repository's status is read again: a burst of requests (a save, then the watcher's events for
 * the same file) makes one run `delayMs` after the first of them, and runs never overlap: a request
 * during a run makes one more run after it.
 */
export class RefreshQueue {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;

  constructor(
    private readonly refresh: () => Promise<void>,
    private readonly delayMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** A run soon, together with any other request made before it starts. */
  request(): void {
    if (this.disposed || this.timer !== undefined) {
      return;
    }
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.start();
    }, this.delayMs);
  }

  /** A run now (after the one under way, if any): what the Refresh command and our own git commands use. */
  async now(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running !== undefined) {
      this.again = false; // this call's run covers what was asked during the current one
      await this.running;
    }
    // A run another caller started meanwhile began after this call, so it is shared.
    await this.start();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private start(): Promise<void> {
    if (this.disposed) {
      return Promise.resolve();
    }
    if (this.running !== undefined) {
      return this.running;
    }
    const run = this.refresh()
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
    this.running = run;
    return run;
  }
}
