import type { Attributes } from 'ssh2';

import { RemoteFsError } from '../common/errors';
import { baseName, joinRemote, normalizeRemotePath, parentOf } from '../common/remotePath';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';

/** OpenSSH's own limit on symlink hops (SYMLOOP_MAX is 40 on Linux). */
const MAX_LINK_HOPS = 40;

/**
 * Follows symlinks from `path` to the final target, which may not exist yet (a save through a broken
 * link creates its target, as locally). Answers the target's path and attributes.
 */
export async function resolveLinks(
  session: SftpSession,
  path: string,
  lstat: (path: string) => Promise<Attributes | undefined>,
): Promise<{ path: string; attrs: Attributes | undefined }> {
  let current = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    const attrs = await lstat(current);
    if (attrs === undefined || kindOfMode(attrs.mode) !== 'symlink') {
      return { path: current, attrs };
    }
    current = await whereLinkLeads(session, current, await session.readlink(current));
  }
  throw new RemoteFsError('EINVAL', 'Too many levels of symbolic links', { path });
}

/**
 * The path a link's target names, resolved by the server. Text cannot do it: in `/srv/site/a ->
 * ../common/a`, `..` leaves the folder `/srv/site` really is (itself perhaps a link to `/var/www/site`),
 * not the string. So the folder part of the target is given to REALPATH as it stands, and only the
 * last name, which may not exist yet, is joined.
 */
async function whereLinkLeads(session: SftpSession, link: string, target: string): Promise<string> {
  if (target.includes('\0') || target.length === 0) {
    throw new RemoteFsError('EPROTO', 'The server answered an empty or malformed link target', {
      path: link,
    });
  }
  const spelled = target.startsWith('/') ? target : `${parentOf(link)}/${target}`;
  const name = baseName(spelled);
  if (name === '' || name === '.' || name === '..' || spelled.endsWith('/')) {
    // A link to a folder: the save fails on it as a folder, wherever it is.
    return normalizeRemotePath(await session.realpath(spelled));
  }
  const folder = normalizeRemotePath(await session.realpath(spelled.slice(0, -name.length - 1) || '/'));
  return joinRemote(folder, name);
}
