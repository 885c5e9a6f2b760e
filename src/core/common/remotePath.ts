import { posix } from 'node:path';

import { RemoteFsError } from './errors';

/**
 * Remote paths are POSIX whatever the local OS is. These helpers are the only place that decides what
 * a valid remote path is, so hostile or malformed input is rejected in one way everywhere.
 */

/** Normalises an absolute remote path; rejects relative paths and NUL bytes. */
export function normalizeRemotePath(path: string): string {
  if (path.includes('\0')) {
    throw new RemoteFsError('EINVAL', 'Path contains a NUL character', { path: JSON.stringify(path) });
  }
  if (!path.startsWith('/')) {
    throw new RemoteFsError('EINVAL', 'Remote path must be absolute', { path });
  }
  const normalized = posix.normalize(path);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

export function joinRemote(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

export function parentOf(path: string): string {
  return posix.dirname(path);
}

export function baseName(path: string): string {
  return posix.basename(path);
}

/**
 * A directory entry name is safe only if it names exactly one child: a hostile server could otherwise
 * send `../x` or `a/b` and make us show or touch paths outside the folder that was listed.
 */
export function isSafeEntryName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** True when `inner` is `outer` or below it. */
export function isSameOrInside(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}
