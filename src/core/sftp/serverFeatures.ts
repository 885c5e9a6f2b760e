/**
 * What a server's missing SFTP extensions change for the user, in words: said once in the log when
 * a connection opens, and in Show Connection Info. Nothing is lost either way; the guarantees differ.
 */
export function featureGaps(extensions: ReadonlyMap<string, string>): string[] {
  const gaps: string[] = [];
  if (!extensions.has('fsync@openssh.com')) {
    gaps.push('no fsync@openssh.com: a saved file is not flushed to disk before it replaces the original');
  }
  if (!extensions.has('posix-rename@openssh.com')) {
    gaps.push(
      'no posix-rename@openssh.com: existing files are saved in place behind a copy of the original, not replaced in one step',
    );
  }
  if (!extensions.has('limits@openssh.com')) {
    // Reads learn the server's length from its answers (see ReadSize); a WRITE too long for a server
    // can end the session, so writes are not tried longer.
    gaps.push(
      'no limits@openssh.com: reads ask for 255 KiB and settle on what the server answers; writes use the size every server accepts (about 32 KiB)',
    );
  }
  if (!extensions.has('copy-data')) {
    gaps.push('no copy-data: copies on the server pass through this machine');
  }
  return gaps;
}
