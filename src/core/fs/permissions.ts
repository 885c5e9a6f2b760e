/** The parts of an entry's attributes that decide who may write it (a server may leave any out). */
export interface EntryOwnership {
  readonly mode?: number | undefined;
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
}

/** The login user's numeric identity as the server's `id` reports it. */
export interface ReportedIdentity {
  readonly uid: number;
  /** Every group it is in, the primary one first. */
  readonly groups: readonly number[];
}

/** The uid and primary group of a reported identity. */
export function primaryIdentity(
  reported: ReportedIdentity | undefined,
): { uid: number; gid: number } | undefined {
  const gid = reported?.groups[0];
  return reported === undefined || gid === undefined ? undefined : { uid: reported.uid, gid };
}

/** What is known of the login user on a host; each part may be missing. */
export interface LoginUser {
  /** The name it logs in with. */
  readonly name?: string | undefined;
  readonly uid?: number | undefined;
  /** Groups it is known to be in (from `id -G`, or the primary group of a file it created). */
  readonly groups?: readonly number[] | undefined;
}

/**
 * True when the login user certainly may not write the entry, from its mode bits: the editor then
 * shows it read-only instead of failing at save. Where the facts leave any doubt (an unknown uid, a
 * group the user may be in, ACL entries the mode's group bits would allow) it answers false.
 * Root may write anything.
 */
export function certainlyNotWritable(attrs: EntryOwnership, user: LoginUser): boolean {
  const { mode } = attrs;
  if (mode === undefined) {
    return false;
  }
  if (user.uid === 0 || (user.uid === undefined && (user.name === undefined || user.name === 'root'))) {
    return false;
  }
  if (user.uid === undefined) {
    // Only the name is known (and it is not root's): certain only when nobody but root may write.
    return (mode & 0o222) === 0;
  }
  if (attrs.uid === user.uid) {
    return (mode & 0o200) === 0; // the owner's bits, and only those, apply to the owner
  }
  if (attrs.gid !== undefined && user.groups?.includes(attrs.gid) === true) {
    return (mode & 0o020) === 0; // the group class, ACL entries included, is capped by these bits
  }
  // Perhaps in the group after all, or named in an ACL (capped by the group bits): both must say no.
  return (mode & 0o022) === 0;
}
