/**
 * The sizes of large files seen lately (listed, statted, read or saved), kept after the attribute
 * cache has let them go (it answers for a second). Whether a read is striped over extra channels has
 * to be guessed before the STAT sent with its OPEN answers, so that the extra channels' OPENs can go
 * out in the same flight; the size a file had when it was last seen is the best guess there is. A
 * wrong guess costs a few OPENs and CLOSEs that nobody waits for.
 */
export class LargeFileSizes {
  /** Path to size, oldest first (a Map keeps insertion order). */
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly threshold: number,
    private readonly capacity = 256,
  ) {}

  /** Records the size `path` was just seen with (a small size forgets it). */
  seen(path: string, size: number): void {
    this.sizes.delete(path);
    if (size < this.threshold) {
      return;
    }
    this.sizes.set(path, size);
    if (this.sizes.size > this.capacity) {
      const oldest = this.sizes.keys().next();
      if (oldest.done !== true) {
        this.sizes.delete(oldest.value);
      }
    }
  }

  /** The size `path` had when it was last seen large, if it was. */
  get(path: string): number | undefined {
    return this.sizes.get(path);
  }
}
