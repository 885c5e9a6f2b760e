import type { Handle, SftpSession } from './session';
import type { Lanes } from './stripedUpload';

/** What a lane does with its handle once it is given a stripe. */
export type LaneRead = (handle: Handle) => Promise<void>;

/**
 * The lanes of a download that open the file before the main channel knows its size: their OPENs go
 * out in the same flight as the main channel's OPEN and STAT, so their READs can leave in the main
 * channel's first flight instead of a round trip later (when the OPEN waited for the STAT's answer).
 *
 * Each lane holds its handle until it is given a stripe (`read`) or let go (`release`); a lane given
 * nothing closes its handle unused. An OPEN that fails is reported to the stripe's read, and to nobody
 * when the lane was let go.
 */
export class PreopenedLanes {
  /** Per lane: hands it its read (undefined: close unused). Set once the lane's OPEN was sent. */
  private readonly assign: Array<((read: LaneRead | undefined) => void) | undefined> = [];
  /** Per lane: settles once its read ended (its CLOSE is not waited for). */
  private readonly used: Array<Promise<void>> = [];
  private released = false;

  constructor(
    readonly sessions: Lanes,
    path: string,
  ) {
    const open = (lanes: readonly SftpSession[]): void => {
      lanes.forEach((lane, index) => {
        const given = new Promise<LaneRead | undefined>((resolve) => (this.assign[index] = resolve));
        const used = lane.withFile(path, 'r', {}, async (handle) => {
          const read = await given;
          await read?.(handle);
        });
        used.catch(() => undefined); // reported through `read`; nobody else waits for an unused lane
        this.used[index] = used;
        if (this.released) {
          this.assign[index]?.(undefined);
        }
      });
    };
    if ('then' in sessions) {
      sessions.then(open, () => undefined);
    } else {
      open(sessions);
    }
  }

  /**
   * Reads through lane `index`'s handle; settles once `read` did (or the lane's OPEN failed). A lane
   * is read through at most once.
   */
  read(index: number, read: LaneRead): Promise<void> {
    const assign = this.assign[index];
    const used = this.used[index];
    if (assign === undefined || used === undefined) {
      return Promise.reject(new Error(`lane ${index} was not opened, or was given a read before`));
    }
    this.assign[index] = undefined;
    assign(read);
    return used;
  }

  /** The lanes given no read close their handles, now or as soon as their OPEN is answered. */
  release(): void {
    this.released = true;
    this.assign.forEach((assign, index) => {
      this.assign[index] = undefined;
      assign?.(undefined);
    });
  }
}
