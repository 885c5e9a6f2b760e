import { isConnectionError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { SessionSource } from '../fs/remoteFileSystem';
import type { ReportedIdentity } from '../fs/permissions';
import type { SftpSession } from '../sftp/session';
import type { SshConnection } from '../ssh/sshConnection';
import type { HostConnection } from './hostConnection';

/**
 * After a failed start (a cancelled or refused password, no sudo), calls within this long get the same
 * failure: VS Code asks several things at once when it opens a file, and the user answers one prompt.
 */
const FAILURE_HOLD_MS = 2000;

const ROOT: ReportedIdentity = { uid: 0, groups: [0] };

/**
 * The sessions of a host's files as root: an SFTP server run with sudo on the login's own connection
 * (see sudoSftp.ts), started when first needed and again after the connection came back. Callers at
 * the same time share one start, so the user is asked for the password once.
 */
export class RootSessions implements SessionSource {
  private current: { readonly session: SftpSession; readonly on: SshConnection } | undefined;
  private starting: Promise<SftpSession> | undefined;
  private failure: { readonly error: unknown; readonly until: number } | undefined;

  constructor(
    private readonly login: HostConnection,
    private readonly start: (connection: SshConnection) => Promise<SftpSession>,
    private readonly logger: Logger,
  ) {}

  async session(): Promise<SftpSession> {
    // Connects if needed, and counts as use of the connection (its idle close waits).
    const connection = await this.login.sshConnection();
    const current = this.current;
    if (current !== undefined && !current.session.isClosed && current.on === connection) {
      return current.session;
    }
    if (this.starting === undefined) {
      const held = this.failure;
      if (held !== undefined && Date.now() < held.until) {
        throw held.error;
      }
      const starting = this.startOn(connection).finally(() => {
        if (this.starting === starting) {
          this.starting = undefined;
        }
      });
      this.starting = starting;
    }
    return this.starting;
  }

  private async startOn(connection: SshConnection): Promise<SftpSession> {
    try {
      const session = await this.start(connection);
      this.current = { session, on: connection };
      this.failure = undefined;
      this.logger.info('Files of this host open as root through sudo');
      return session;
    } catch (error) {
      if (!isConnectionError(error)) {
        this.failure = { error, until: Date.now() + FAILURE_HOLD_MS };
      }
      throw error;
    }
  }

  willReconnect(): boolean {
    return this.login.willReconnect;
  }

  userName(): string {
    return 'root';
  }

  identity(): Promise<ReportedIdentity> {
    return Promise.resolve(ROOT);
  }

  dispose(): void {
    this.current?.session.close('the root session is no longer needed');
    this.current = undefined;
  }
}
