import type { Attributes } from 'ssh2';

import { RemoteFsError, isConnectionError } from '../common/errors';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';
import type { KnownAttributes } from './attributeCache';
import type { EntryStat, EntryType } from './entryType';

function plainKind(attrs: Attributes): EntryType['kind'] {
  const kind = kindOfMode(attrs.mode);
  return kind === 'directory' ? 'directory' : kind === 'file' ? 'file' : 'unknown';
}

export function describe(known: KnownAttributes): EntryStat {
  if (kindOfMode(known.own.mode) !== 'symlink') {
    return toEntryStat(known.own, false);
  }
  // A broken link has no target type; it still exists, so it is reported rather than hidden.
  return known.target === null || known.target === undefined
    ? toEntryStat(known.own, true, 'unknown')
    : toEntryStat(known.target, true);
}

function toEntryStat(
  attrs: Attributes,
  symlink: boolean,
  kind: EntryType['kind'] = plainKind(attrs),
): EntryStat {
  const mtimeMs = typeof attrs.mtime === 'number' ? attrs.mtime * 1000 : 0;
  const size =
    typeof attrs.size === 'number' && Number.isFinite(attrs.size) && attrs.size >= 0 ? attrs.size : 0;
  return { type: { kind, symlink }, size, mtimeMs, ctimeMs: mtimeMs };
}

/** stat that answers `undefined` for a broken link or a loop instead of throwing. */
export async function statOrUndefined(session: SftpSession, path: string): Promise<Attributes | undefined> {
  try {
    return await session.stat(path);
  } catch (error) {
    if (error instanceof RemoteFsError && !isConnectionError(error)) {
      return undefined;
    }
    throw error;
  }
}
