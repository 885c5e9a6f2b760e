import { errorMessage, isRemoteFsError } from '../common/errors';
import { forEachBounded } from '../common/limiter';
import type { Logger } from '../common/logger';
import { kindOfMode } from '../sftp/attrs';
import type { SftpSession } from '../sftp/session';
import type { Backup } from './save/saveContext';
import { restoreBackup } from './save/writeInPlace';
import { TREE_CONCURRENCY, removeTree } from './trees';

/** Removing a temporary left by an interrupted save is tried this often before it is left alone. */
const ORPHAN_REMOVAL_ATTEMPTS = 3;

/**
 * What cut saves and copies leave on a server, dealt with as soon as it can be reached again: first
 * the originals of in-place saves are put back, then our temporaries and copies are removed.
 */
export class Leftovers {
  /**
   * Temporaries of cut saves and copies, with how many more times removing one may fail for another
   * reason than a lost connection.
   */
  private readonly orphans = new Map<string, number>();
  /**
   * Originals of files being overwritten in place, by path: while one is here the write has not
   * completed, and if the connection dropped, the original is put back as soon as it is back.
   */
  private readonly protectedSaves = new Map<string, Backup>();

  constructor(
    private readonly logger: Logger,
    /** Told about each file whose original was put back: what was known about it is wrong. */
    private readonly onRestored: (path: string) => void,
  ) {}

  readonly rememberOrphan = (temporary: string): void => {
    this.orphans.set(temporary, ORPHAN_REMOVAL_ATTEMPTS);
  };

  /** Keeps `backup` until the returned release is called (see SaveContext.protect). */
  protect(backup: Backup): () => void {
    this.protectedSaves.set(backup.target, backup);
    return () => {
      if (this.protectedSaves.get(backup.target) === backup) {
        this.protectedSaves.delete(backup.target);
      }
    };
  }

  /** Runs before any operation on a session: nothing to do almost always, so nothing is awaited then. */
  async clearUp(session: SftpSession): Promise<void> {
    if (this.protectedSaves.size > 0) {
      await this.restoreInterruptedSaves(session);
    }
    if (this.orphans.size > 0) {
      await this.removeOrphans(session);
    }
  }

  /** Puts back the originals of in-place saves a dropped connection cut short, then drops their copies. */
  private async restoreInterruptedSaves(session: SftpSession): Promise<void> {
    const interrupted = [...this.protectedSaves.values()];
    this.protectedSaves.clear();
    await forEachBounded(interrupted, TREE_CONCURRENCY, async (backup) => {
      try {
        await session.withFile(backup.target, 'r+', {}, (handle) => restoreBackup(session, handle, backup));
        this.onRestored(backup.target);
        this.logger.info(`Put back the original content of ${backup.target}: its save was cut off`);
        if (backup.path !== undefined) {
          this.rememberOrphan(backup.path);
        }
      } catch (error) {
        if (session.stoppedBy(error)) {
          this.protectedSaves.set(backup.target, backup);
          return;
        }
        const kept = backup.path === undefined ? '' : `; its original content is kept in ${backup.path}`;
        this.logger.error(
          `Could not put back the original content of ${backup.target} after its save was cut off${kept}: ${errorMessage(error)}`,
        );
      }
    });
  }

  private async removeOrphans(session: SftpSession): Promise<void> {
    const orphans = [...this.orphans];
    this.orphans.clear();
    await forEachBounded(orphans, TREE_CONCURRENCY, async ([temporary, attemptsLeft]) => {
      try {
        const attrs = await session.lstat(temporary);
        if (kindOfMode(attrs.mode) === 'directory') {
          await removeTree(session, temporary);
        } else {
          await session.unlink(temporary);
        }
        this.logger.info(`Removed the temporary of an interrupted save or copy: ${temporary}`);
      } catch (error) {
        if (isRemoteFsError(error, 'ENOENT')) {
          return; // already gone
        }
        if (session.stoppedBy(error)) {
          this.orphans.set(temporary, attemptsLeft);
        } else if (attemptsLeft > 1) {
          this.orphans.set(temporary, attemptsLeft - 1);
        } else {
          this.logger.warn(`Could not remove the temporary ${temporary}; leaving it: ${errorMessage(error)}`);
        }
      }
    });
  }
}
