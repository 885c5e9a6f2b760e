import type { Attributes } from 'ssh2';

import { RemoteFsError } from '../../common/errors';
import { kindOfMode, specialKindName } from '../../sftp/attrs';
import type { WriteOptions } from '../entryType';

/** What VS Code's writeFile options and the current entry allow; throws the error VS Code expects. */
export function checkSavePreconditions(
  path: string,
  existing: Attributes | undefined,
  options: WriteOptions,
): void {
  if (existing !== undefined && kindOfMode(existing.mode) === 'directory') {
    throw new RemoteFsError('EISDIR', 'Cannot write to a folder', { path });
  }
  refuseSpecialFile(path, existing, 'saved');
  if (existing === undefined && !options.create) {
    throw new RemoteFsError('ENOENT', 'No such file', { path });
  }
  if (existing !== undefined && options.create && !options.overwrite) {
    throw new RemoteFsError('EEXIST', 'File already exists', { path });
  }
}

/**
 * FIFOs, sockets and devices are not files to edit: opening a FIFO blocks OpenSSH's SFTP server, which
 * handles one request at a time, until someone writes to it, and every other request waits behind it.
 */
export function refuseSpecialFile(
  path: string,
  attrs: Attributes | undefined,
  action: 'opened' | 'saved',
): void {
  const special = specialKindName(attrs?.mode);
  if (special !== undefined) {
    throw new RemoteFsError('EUNSUPPORTED', `This is ${special}, which cannot be ${action} as a file`, {
      path,
    });
  }
}
