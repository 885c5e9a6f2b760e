import { randomBytes } from 'node:crypto';

import { baseName, joinRemote, parentOf } from '../../common/remotePath';

/** Every temporary file and backup of ours carries this marker, so leftovers can be recognised later. */
export const TEMP_MARKER = '.sftpfs-';

/**
 * What makes temporary names unique: random per process (other clients and earlier runs), then a
 * counter (this process). Drawing random bytes for every save cost more CPU than the save's requests
 * when VS Code copies a folder of small files.
 */
const temporaryPrefix = randomBytes(6).toString('hex');
let temporaryCount = 0;

/** `.name.sftpfs-<unique>.<suffix>` beside `target`; names stay under NAME_MAX (255 bytes) even for long originals. */
function siblingOf(target: string, suffix: 'tmp' | 'bak'): string {
  const name = Buffer.from(baseName(target))
    .subarray(0, 180)
    .toString()
    .replace(/\uFFFD+$/, '');
  const unique = `${temporaryPrefix}${(temporaryCount++).toString(36)}`;
  return joinRemote(parentOf(target), `.${name}${TEMP_MARKER}${unique}.${suffix}`);
}

/** Where new content is written before it is renamed over `target`. */
export function temporarySiblingOf(target: string): string {
  return siblingOf(target, 'tmp');
}

/** Where a copy of `target`'s content is kept while it is overwritten in place. */
export function backupSiblingOf(target: string): string {
  return siblingOf(target, 'bak');
}

const OWN_NAME = /^\..*\.sftpfs-[0-9a-z]+\.(tmp|bak)$/;

/** True for the name of a temporary or backup of ours: never a change the user made. */
export function isOwnTemporaryName(name: string): boolean {
  return OWN_NAME.test(name);
}
