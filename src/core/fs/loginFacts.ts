import { isRemoteFsError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { SftpSession } from '../sftp/session';
import {
  certainlyNotWritable,
  primaryIdentity,
  type EntryOwnership,
  type ReportedIdentity,
} from './permissions';
import type { Identity } from './save/savePlan';

/**
 * What a host tells about the login user and its right to write: who the user is (from `id` on the
 * server, or from a file a save created) and, per session, whether the server refuses every write.
 */
export class LoginFacts {
  /** Learned from the first file a save created (the same on every connection to this host). */
  private learned: Identity | undefined;
  /** As `id` on the server told, where the account has a shell. */
  private reported: ReportedIdentity | undefined;
  private readonly writesRefused = new WeakMap<SftpSession, Promise<boolean>>();

  constructor(
    private readonly logger: Logger,
    private readonly userName: () => string | undefined,
    private readonly askIdentity: () => Promise<ReportedIdentity | undefined>,
  ) {}

  /**
   * Asked once per session, in the background (the first stat waits only for what it needs): whether
   * the server refuses writes, and who the login user is.
   */
  learnAbout(session: SftpSession): void {
    if (this.writesRefused.has(session)) {
      return;
    }
    this.writesRefused.set(session, serverRefusesWrites(session, this.logger));
    void this.askIdentity().then((identity) => {
      if (identity !== undefined) {
        this.reported = identity;
      }
    });
  }

  /** The login user's uid and primary group, for the save plan. */
  identity(): Identity | undefined {
    return this.learned ?? primaryIdentity(this.reported);
  }

  learnIdentity(identity: Identity): void {
    this.learned = identity;
  }

  /** True when the login user certainly cannot write an entry with these attributes on `session`. */
  async notWritable(session: SftpSession, attrs: EntryOwnership): Promise<boolean> {
    if ((await this.writesRefused.get(session)) === true) {
      return true;
    }
    const { reported, learned } = this;
    return certainlyNotWritable(attrs, {
      name: this.userName(),
      uid: reported?.uid ?? learned?.uid,
      groups: reported?.groups ?? (learned === undefined ? undefined : [learned.gid]),
    });
  }
}

/**
 * Whether the server refuses every write: the home folder's filesystem is mounted read-only, or
 * OpenSSH's sftp-server runs read-only (`-R`). The latter refuses every request that could write
 * before looking at it, so a SETSTAT that changes nothing is refused there and answered OK otherwise.
 * It is asked only of servers offering OpenSSH's extensions (limits@openssh.com is offered read-only
 * too, the write extensions are not), whose answer is known.
 */
async function serverRefusesWrites(session: SftpSession, logger: Logger): Promise<boolean> {
  const noChange = session.hasExtension('limits@openssh.com')
    ? session.setstat('.', {}).then(
        () => false,
        (error: unknown) => isRemoteFsError(error, 'EACCES'),
      )
    : Promise.resolve(false);
  const readOnlyMount = session.isReadOnlyFilesystem('.').catch(() => undefined);
  const [refused, mounted] = await Promise.all([noChange, readOnlyMount]);
  if (refused || mounted === true) {
    logger.info(
      `The server refuses writes (${mounted === true ? 'a read-only filesystem' : 'a read-only SFTP server'}): every file is shown read-only`,
    );
  }
  return refused || mounted === true;
}
