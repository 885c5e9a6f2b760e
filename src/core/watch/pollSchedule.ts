/**
 * When polling checks what. Each watch is scanned on its own clock, and so are the files open in
 * editors: at most every `intervalMs` (the setting), and no more often than lets its scans take a
 * tenth of the time. A watch on one file costs one stat and keeps the interval; a big tree whose scan
 * takes 2 s is scanned every 18 s, so the link and the server are never kept busy by polling.
 */

/** The share of wall time one watch's scans may take. */
export const SCAN_SHARE = 0.1;

/** How long to wait after a scan that took `scanMs` before the next scan of the same thing. */
export function waitAfterScan(intervalMs: number, scanMs: number): number {
  return Math.max(intervalMs, Math.ceil(scanMs * (1 / SCAN_SHARE - 1)));
}

/** One thing polled on its own clock: a watch, or the set of open files. */
export interface PollClock {
  /** When its last check ended and how long it took; undefined before the first (due at once). */
  readonly last: { readonly endedAt: number; readonly tookMs: number } | undefined;
}

/** When a clock's next check is due. */
export function dueAt(clock: PollClock, intervalMs: number): number {
  return clock.last === undefined
    ? -Infinity
    : clock.last.endedAt + waitAfterScan(intervalMs, clock.last.tookMs);
}

/** The clocks due at `now`, and how long until the next one is due when none is; none when there are no clocks. */
export function duePolls<T extends PollClock>(
  clocks: readonly T[],
  intervalMs: number,
  now: number,
): { readonly due: T[]; readonly nextInMs: number | undefined } {
  const due = clocks.filter((clock) => dueAt(clock, intervalMs) <= now);
  if (due.length > 0 || clocks.length === 0) {
    return { due, nextInMs: due.length > 0 ? 0 : undefined };
  }
  const next = Math.min(...clocks.map((clock) => dueAt(clock, intervalMs)));
  return { due, nextInMs: Math.max(0, next - now) };
}

/**
 * The order of one round's checks: the files open in editors first, then watches of single files
 * (how VS Code watches an editor outside the workspace), then folders, smallest scan first.
 */
export function checkOrder<
  T extends { readonly kind: 'openFiles' | 'file' | 'folder'; readonly lastTookMs: number },
>(checks: readonly T[]): T[] {
  const rank = { openFiles: 0, file: 1, folder: 2 } as const;
  return [...checks].sort((a, b) => rank[a.kind] - rank[b.kind] || a.lastTookMs - b.lastTookMs);
}
