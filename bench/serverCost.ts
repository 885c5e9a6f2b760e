import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import type { SftpSession } from '../src/core/sftp/session';
import { descendantsOf } from '../test/support/sshd';

/**
 * What one connection costs, counted where it happens: SFTP requests from the session's request
 * counter, bytes on the counted line, and the CPU time of the sshd processes serving that connection
 * (its privileged and user processes, internal-sftp in the latter, and any shell or inotifywait below).
 */
export interface CostSnapshot {
  readonly at: number;
  readonly requests: number;
  readonly bytes: number;
  /** utime + stime + cutime + cstime, in clock ticks, of each process serving the connection. */
  readonly ticks: ReadonlyMap<number, number>;
}

export interface Cost {
  readonly seconds: number;
  readonly requests: number;
  readonly bytes: number;
  readonly cpuSeconds: number;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** ssh2 numbers each SFTP request it sends (`_writeReqid`): the difference is the requests sent. */
export function requestsSent(session: SftpSession): number {
  const id = (session.channel as unknown as { _writeReqid?: number })._writeReqid;
  if (typeof id !== 'number') {
    throw new Error("ssh2's SFTP request counter is not where the bench expects it");
  }
  return id + 1;
}

/** The sshd listener's children now: taken before connecting, so the new ones are that connection's. */
export function serverChildren(sshdPid: number): Set<number> {
  return new Set(childrenOf(sshdPid));
}

/** The processes serving the connections made since `before` was taken, and everything they started. */
export function connectionProcesses(sshdPid: number, before: ReadonlySet<number>): number[] {
  const fresh = childrenOf(sshdPid).filter((pid) => !before.has(pid));
  return fresh.flatMap((pid) => [pid, ...descendantsOf(pid)]);
}

export async function snapshot(
  session: SftpSession,
  relayed: () => Promise<{ up: number; down: number }>,
  processes: readonly number[],
): Promise<CostSnapshot> {
  const { up, down } = await relayed();
  const ticks = new Map<number, number>();
  for (const pid of processes) {
    const used = cpuTicksOf(pid);
    if (used !== undefined) {
      ticks.set(pid, used);
    }
  }
  return { at: Date.now(), requests: requestsSent(session), bytes: up + down, ticks };
}

/** From `before` to `after`; a process that started in between counts in full. */
export function costBetween(before: CostSnapshot, after: CostSnapshot): Cost {
  let ticks = 0;
  for (const [pid, used] of after.ticks) {
    ticks += used - (before.ticks.get(pid) ?? 0);
  }
  return {
    seconds: (after.at - before.at) / 1000,
    requests: after.requests - before.requests,
    bytes: after.bytes - before.bytes,
    cpuSeconds: ticks / TICKS_PER_SECOND,
  };
}

function childrenOf(pid: number): number[] {
  return descendantsOf(pid).filter((child) => parentOf(child) === pid);
}

function parentOf(pid: number): number | undefined {
  return statFields(pid)?.[1];
}

function cpuTicksOf(pid: number): number | undefined {
  const fields = statFields(pid);
  // Fields 14-17 of /proc/<pid>/stat (utime, stime, cutime, cstime); after the name, index 11-14.
  return fields === undefined ? undefined : fields.slice(11, 15).reduce((sum, value) => sum + value, 0);
}

/** /proc/<pid>/stat after the command name (which may hold spaces): field 3 onwards. */
function statFields(pid: number): number[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map((field) => Number(field));
  } catch {
    return undefined; // ended meanwhile
  }
}
