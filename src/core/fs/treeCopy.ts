import type { Attributes } from 'ssh2';

import { RemoteFsError, throwIfCancelled, withCode } from '../common/errors';
import { TaskPool } from '../common/limiter';
import type { Logger } from '../common/logger';
import { isSameOrInside, joinRemote } from '../common/remotePath';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';
import { streamCopyBetween } from '../sftp/transfer';
import { explainCreateFailure, lstatOrUndefined } from './refine';
import type { SaveContext } from './save/saveContext';
import { saveFile } from './save/saveFile';
import { refuseSpecialFile } from './save/savePreconditions';
import { temporarySiblingOf } from './save/temporaries';
import { walkTree, walkingSession, type WalkedEntry } from './treeWalker';
import { TREE_CONCURRENCY, removeTree, type TreeOperationOptions } from './trees';

/** A copy's source: a session (this host's, or another's) and a path there; and where it goes here. */
export interface Copying {
  readonly source: SftpSession;
  readonly from: string;
  readonly to: string;
}

/** What copies need from the file system they write into. */
export interface CopyTarget {
  readonly logger: Logger;
  saveContext(session: SftpSession): SaveContext;
  rememberOrphan(path: string): void;
}

/**
 * Copies of files and folders into one host, from the same session (server-side with copy-data when
 * offered) or from another host's (streamed between the two). Files are put in place like saves;
 * folders are built under a temporary name and renamed into place once complete.
 */
export class Copier {
  constructor(private readonly host: CopyTarget) {}

  /** Copies `copying.from` (on this host's session, or on another host's) to `copying.to` on `session`. */
  async copyInto(
    session: SftpSession,
    copying: Copying,
    options: { overwrite: boolean } & TreeOperationOptions,
  ): Promise<void> {
    const { from, to } = copying;
    const sameSession = copying.source === session;
    // Like cp: the top-level source is followed if it is a link; links inside folders stay links.
    const source = await copying.source.stat(from);
    if (sameSession && from === to) {
      if (!options.overwrite) {
        throw new RemoteFsError('EEXIST', 'Target already exists', { path: to });
      }
      return;
    }
    if (sameSession && kindOfMode(source.mode) === 'directory' && isSameOrInside(from, to)) {
      throw new RemoteFsError('EINVAL', `Cannot copy a folder into itself (${to})`, { path: from });
    }
    const target = await lstatOrUndefined(session, to);
    if (target !== undefined && !options.overwrite) {
      throw new RemoteFsError('EEXIST', 'Target already exists', { path: to });
    }
    if (target !== undefined && kindOfMode(target.mode) === 'directory') {
      await removeTree(session, to);
    }
    const existing = target !== undefined && kindOfMode(target.mode) !== 'directory' ? target : undefined;
    if (kindOfMode(source.mode) === 'directory') {
      await this.copyTreeIntoPlace(session, copying, source, options);
    } else {
      refuseSpecialFile(from, source, 'opened');
      await this.copyFile(session, copying, source, existing, options.signal);
    }
  }

  /**
   * Copies a file's content to `to` like a save: a new file gets the source's mode; an existing one
   * keeps its own owner, group, mode and links. The source is opened only while the content is written.
   */
  private async copyFile(
    session: SftpSession,
    { source: sourceSession, from, to }: Copying,
    source: Attributes,
    existing: Attributes | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const serverSide = sourceSession === session && session.hasExtension('copy-data');
    await saveFile(this.host.saveContext(session), {
      target: to,
      existing,
      ...(source.size === undefined ? {} : { size: source.size }),
      permissions: (source.mode ?? 0o644) & 0o7777,
      fill: (targetHandle, into) =>
        sourceSession.withFile(
          from,
          'r',
          {},
          async (sourceHandle) => {
            if (serverSide) {
              // The server copies; no file data crosses the network.
              await session.copyData(sourceHandle, targetHandle, into);
              // The source's length, not the target's: a file written in place is cut to it afterwards.
              return { bytes: (await session.fstat(sourceHandle, from)).size ?? 0 };
            }
            const bytes = await streamCopyBetween(
              { session: sourceSession, handle: sourceHandle, path: from },
              { session, handle: targetHandle, path: into },
              { signal, sizeHint: source.size },
            );
            const now = (await sourceSession.fstat(sourceHandle, from)).size;
            if (now !== undefined && now !== bytes) {
              throw new RemoteFsError(
                'EFAILURE',
                `The file changed while it was copied (${bytes} bytes copied, now ${now}); not put in place`,
                { path: from },
              );
            }
            return { bytes };
          },
          true,
        ),
    });
  }

  /**
   * Copies a folder into a temporary sibling and renames it into place once complete: a copy cut
   * halfway leaves no partial folder under the name the user asked for (and can simply be repeated).
   */
  private async copyTreeIntoPlace(
    session: SftpSession,
    copying: Copying,
    source: Attributes,
    control: TreeOperationOptions,
  ): Promise<void> {
    const { to } = copying;
    const temporary = temporarySiblingOf(to);
    try {
      await this.copyTree(session, { ...copying, to: temporary }, source, control);
      await session.rename(temporary, to);
    } catch (error) {
      if (session.stoppedBy(error)) {
        this.host.rememberOrphan(temporary);
      } else {
        await removeTree(session, temporary).catch(() => undefined);
      }
      throw error instanceof RemoteFsError && error.path === temporary
        ? withCode(error, error.code, `${error.summary} while copying`, to)
        : error;
    }
  }

  /**
   * Creates the folder, then walks the source (16 listings in flight) and copies each entry as it is
   * found, 16 at once: a folder once its parent is created, then its content once it is created.
   */
  private async copyTree(
    session: SftpSession,
    copying: Copying,
    source: Attributes,
    control: TreeOperationOptions,
  ): Promise<void> {
    const { source: sourceSession, from, to } = copying;
    const { signal } = control;
    const copies = new TaskPool(TREE_CONCURRENCY);
    const makeFolder = async (path: string, attributes: Attributes): Promise<void> => {
      try {
        await session.mkdir(path, { mode: (attributes.mode ?? 0o755) & 0o7777 });
      } catch (error) {
        throw await explainCreateFailure(session, error, path);
      }
      control.onEntry?.();
    };
    throwIfCancelled(signal);
    await makeFolder(to, source);
    // A folder's relative path -> its copy created; the root's is.
    const created = new Map<string, Promise<void>>([['', Promise.resolve()]]);
    const copyAfterParent = (entry: WalkedEntry<Attributes>, copy: (child: Copying) => Promise<void>) => {
      const parent = created.get(entry.depth === 1 ? '' : entry.relative.slice(0, -entry.name.length - 1));
      const child: Copying = { source: sourceSession, from: entry.path, to: joinRemote(to, entry.relative) };
      return new Promise<void>((resolve, reject) =>
        copies.add(async () => {
          try {
            await parent;
            throwIfCancelled(signal);
            await copy(child);
            resolve();
          } catch (error) {
            reject(error);
            throw error;
          }
        }),
      );
    };
    try {
      await walkTree(
        {
          root: from,
          list: walkingSession(sourceSession),
          ...(signal === undefined ? {} : { signal }),
          onUnsafeName: (folder, name) =>
            this.host.logger.warn(
              `Not copying an entry with an unsafe name in ${folder}: ${JSON.stringify(name)}`,
            ),
        },
        (entry) => {
          switch (entry.kind) {
            case 'directory': {
              const made = copyAfterParent(entry, (child) => makeFolder(child.to, entry.item));
              made.catch(() => undefined); // the pool reports the failure
              created.set(entry.relative, made);
              break;
            }
            case 'symlink':
              void copyAfterParent(entry, async (child) => {
                await session.symlink(await sourceSession.readlink(child.from), child.to);
                control.onEntry?.();
              }).catch(() => undefined);
              break;
            case 'file':
              void copyAfterParent(entry, async (child) => {
                await this.copyFile(session, child, entry.item, undefined, signal);
                control.onEntry?.();
              }).catch(() => undefined);
              break;
            default:
              this.host.logger.warn(`Not copying ${entry.path}: it is neither a file, a folder nor a link`);
          }
          return !copies.failed;
        },
      );
    } catch (error) {
      await copies.finished().catch(() => undefined); // the walk's own failure is the one to tell
      throw error;
    }
    await copies.finished();
  }
}
