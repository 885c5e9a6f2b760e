/**
 * How long the READs of one session are, and what it has learned about the server's own limit.
 *
 * A server that states its limits (`limits@openssh.com`) is taken at its word. One that does not is
 * asked for large READs first, since the SFTP drafts let a server answer fewer bytes than asked
 * (draft-ietf-secsh-filexfer-02, 6.4) and the common ones do: ProFTPD 1.3.8 answers any length in
 * full, OpenSSH's sftp-server before 8.6 (no limits@openssh.com) answers at most 64 KiB. Transfers
 * with requests 8 times larger need 8 times fewer of them. What the first answers show is kept for
 * the session's later transfers:
 * - a READ of the large size answered in full: the server honours it;
 * - a READ answered short where the file goes on (the next bytes came with the following READ): the
 *   server's cap is the length it answered;
 * - a READ of the large size refused with an error where one of the safe size is answered: the
 *   server has a cap it enforces by refusing, and the safe size is used from then on.
 * Writes are not probed this way: a WRITE longer than a server accepts can end the session (OpenSSH's
 * sftp-server exits above 256 KiB, ProFTPD's mod_sftp drops the channel above 512 KiB).
 */

/**
 * The READ length every server answers: the SFTP drafts guarantee packets of 34000 bytes, and ssh2
 * keeps 2 KiB of that for headers.
 */
export const SAFE_READ_LENGTH = 34000 - 2048;

/**
 * The longest READ asked for: ssh2 refuses, as fatal, any reply packet over 256 KiB, so the data of
 * one reply must leave room for its header. 1 KiB of room, as OpenSSH's sftp-server keeps.
 */
export const MAX_READ_LENGTH = 256 * 1024 - 1024;

/**
 * Below this, a server's short answers are not taken as its cap: a request this small is already
 * costly, and one odd short answer (a file on a network mount, a pipe) must not slow every later
 * transfer of the session down to it. Shorter answers are still re-requested, so nothing is lost.
 */
export const MIN_LEARNED_READ_LENGTH = 4096;

export type ReadSizeBasis =
  /** The server stated it (limits@openssh.com), or it cannot be changed. */
  | 'fixed'
  /** Not known yet: the large size is being tried. */
  | 'trying'
  /** The server answered a READ of this size in full. */
  | 'honoured'
  /** The server answered short, and the file went on: this is its cap. */
  | 'capped'
  /** The server refused a larger READ and answered one of this size. */
  | 'refused';

export class ReadSize {
  private currentLength: number;
  private currentBasis: ReadSizeBasis;

  /**
   * `fixed`: the server's max-read-length from limits@openssh.com, when it gave one (kept within what
   * ssh2 can receive), or the length to keep when no other can be asked for; otherwise the large size
   * is tried.
   */
  constructor(fixed: number | undefined) {
    if (fixed !== undefined) {
      this.currentLength = Math.max(1, Math.min(fixed, MAX_READ_LENGTH));
      this.currentBasis = 'fixed';
    } else {
      this.currentLength = MAX_READ_LENGTH;
      this.currentBasis = 'trying';
    }
  }

  /** The length to ask for now. */
  get length(): number {
    return this.currentLength;
  }

  get basis(): ReadSizeBasis {
    return this.currentBasis;
  }

  /** True once the length is known, stated or learned; after that, answers teach nothing more. */
  get settled(): boolean {
    return this.currentBasis !== 'trying';
  }

  /**
   * True when a READ of `length` that the server refused may have been refused for its size alone,
   * and is worth asking again at the safe size.
   */
  mayBeTooLong(length: number): boolean {
    return !this.settled && length > SAFE_READ_LENGTH;
  }

  /** A READ of `asked` bytes was answered in full. Answers true when that settled the length. */
  answeredInFull(asked: number): boolean {
    if (this.settled || asked < this.currentLength) {
      return false; // a shorter READ (a file's tail) says nothing about the length tried
    }
    this.currentBasis = 'honoured';
    return true;
  }

  /**
   * A READ was answered with `answered` bytes, fewer than asked, and the bytes after them were there
   * (the next READ brought more): the server caps READs at `answered`. Answers true when that
   * settled the length.
   */
  answeredShort(answered: number): boolean {
    if (this.settled || answered >= this.currentLength) {
      return false;
    }
    this.currentLength = Math.max(answered, MIN_LEARNED_READ_LENGTH);
    this.currentBasis = 'capped';
    return true;
  }

  /**
   * A READ longer than the safe size was refused and the same READ at the safe size was answered.
   * Answers true when that settled the length.
   */
  refusedLonger(): boolean {
    if (this.settled) {
      return false;
    }
    this.currentLength = SAFE_READ_LENGTH;
    this.currentBasis = 'refused';
    return true;
  }
}
