/**
 * The buffer a large download will be read into, allocated when its OPEN goes out and touched page by
 * page while that OPEN's round trip is under way.
 *
 * A fresh buffer's pages cost the kernel a fault each the first time they are written (2.4-3.6 µs per
 * 4 KiB page on the bench machine: 40-60 ms for 64 MiB). Left alone, those faults fall inside the
 * copies of DATA into the buffer, while the transfer is under way; on a slow line the client has
 * nothing to do while it waits for the OPEN's answer, and the faults can be taken then.
 *
 * It is written only before it is claimed, and a download claims it before it sends its first READ:
 * no byte of the file can be overwritten. The touching goes a slice per turn of the event loop, so the
 * OPEN's answer is taken up as soon as it comes (and claims the buffer, which ends the touching).
 */
export class PrefaultedBuffer {
  private buffer: Buffer | undefined;
  private touched = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
    setImmediate(() => this.touchSlice());
  }

  /** Bytes touched so far (from the start). */
  get touchedBytes(): number {
    return this.touched;
  }

  /**
   * Takes the buffer, if it has the size wanted; undefined otherwise (the file's size changed since it
   * was last seen), and after a first claim. Nothing touches it from then on.
   */
  claim(size: number): Buffer | undefined {
    const buffer = this.buffer;
    this.buffer = undefined;
    return buffer !== undefined && buffer.length === size ? buffer : undefined;
  }

  /** The download will not use it (it went elsewhere, or failed): the touching stops, the memory goes. */
  discard(): void {
    this.buffer = undefined;
  }

  private touchSlice(): void {
    const buffer = this.buffer;
    if (buffer === undefined || this.touched >= buffer.length) {
      return;
    }
    const end = Math.min(buffer.length, this.touched + SLICE_BYTES);
    // A write is what faults a page in for good: a read would only map the shared zero page.
    buffer.fill(0, this.touched, end);
    this.touched = end;
    setImmediate(() => this.touchSlice());
  }
}

/** About a millisecond of faults: the OPEN's answer never waits longer than that to be taken up. */
const SLICE_BYTES = 256 * 4096;
