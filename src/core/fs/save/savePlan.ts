import type { Attributes } from 'ssh2';

import { kindOfMode } from '../../sftp/attrs';

/** Who the login user is on the server, as learned from a file it created. */
export interface Identity {
  readonly uid: number;
  readonly gid: number;
}

/** What is known about a file before it is replaced; a fact not learned yet is left out. */
export interface SaveFacts {
  /** The file's current attributes (lstat, after links were followed). */
  readonly existing: Attributes;
  /** The server offers posix-rename@openssh.com (plain RENAME cannot replace a file). */
  readonly posixRename: boolean;
  readonly identity?: Identity | undefined;
  /** Hard links, from a listing of its folder; 'unknown' when the server's listing does not say. */
  readonly links?: number | 'unknown' | undefined;
  /** Whether a new file could be given the file's owner and group (FSETSTAT of uid and gid). */
  readonly ownerKept?: boolean | undefined;
}

/**
 * Why replacing the file by renaming a new one over it would show, or undefined when it would not (as
 * far as the facts go). Replacing creates a new inode: only when it has the same owner, group and
 * mode, and no other name shares the old one, is the result indistinguishable from the original. In
 * every other case the file is written in place, protected by a backup (see writeInPlace), as vim's
 * `backupcopy=auto` does.
 */
export function reasonAgainstRename(facts: SaveFacts): string | undefined {
  const { existing } = facts;
  if (!facts.posixRename) {
    return 'the server cannot replace a file in one step (no posix-rename@openssh.com)';
  }
  if (kindOfMode(existing.mode) !== 'file') {
    return 'it is not a regular file';
  }
  if (existing.uid === undefined || existing.gid === undefined) {
    return 'the server does not report its owner and group';
  }
  const { identity } = facts;
  if (identity !== undefined && identity.uid !== 0 && identity.uid !== existing.uid) {
    return `it belongs to another user (uid ${existing.uid})`;
  }
  if (facts.ownerKept === false) {
    return `a new file cannot be given its owner and group (${existing.uid}:${existing.gid})`;
  }
  if (facts.links === 'unknown') {
    return 'the server does not say how many hard links it has';
  }
  if (facts.links !== undefined && facts.links > 1) {
    return `it has ${facts.links} hard links`;
  }
  return undefined;
}

/**
 * True when the login user may not write the file although it owns it (mode without the owner's write
 * bit): such a file is refused, as a local editor would, never replaced behind the owner's back. Root
 * may write any file.
 */
export function ownerMayNotWrite(existing: Attributes, identity: Identity): boolean {
  return identity.uid !== 0 && identity.uid === existing.uid && ((existing.mode ?? 0) & 0o200) === 0;
}
