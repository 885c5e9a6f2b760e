import { forget, runCommand } from './remoteCommand';
import type { SshConnection } from './sshConnection';

/** The login user's numeric identity on the server, as `id` reports it. */
export interface RemoteIdentity {
  readonly uid: number;
  /** Every group it is in, the primary one first. */
  readonly groups: readonly number[];
}

const IDENTITY_TIMEOUT_MS = 10_000;
const asked = new WeakMap<SshConnection, Promise<RemoteIdentity | undefined>>();

/**
 * Who the login user is, asked once per connection with `id -u; id -G` where the account has a shell.
 * Undefined on an SFTP-only account, or when the answer is not two lines of numbers; a failure to
 * run the command is not remembered (asked again next time).
 */
export function remoteIdentity(connection: SshConnection): Promise<RemoteIdentity | undefined> {
  let identity = asked.get(connection);
  if (identity === undefined) {
    const asking: Promise<RemoteIdentity | undefined> = runCommand(connection, 'id -u; id -G', {
      timeoutMs: IDENTITY_TIMEOUT_MS,
      maxCollectedBytes: 64 * 1024,
    }).then(
      (result) => parseIdentity(result.stdout.toString('utf8')),
      () => {
        forget(asked, connection, asking);
        return undefined;
      },
    );
    identity = asking;
    asked.set(connection, identity);
  }
  return identity;
}

/** The output of `id -u; id -G`; a startup file's banner before it is skipped. */
export function parseIdentity(output: string): RemoteIdentity | undefined {
  const lines = output.trim().split(/\r?\n/);
  const [uidLine, groupsLine] = lines.slice(-2);
  if (uidLine === undefined || groupsLine === undefined || !/^\d+$/.test(uidLine.trim())) {
    return undefined;
  }
  const groups = groupsLine.trim().split(/\s+/);
  if (!groups.every((group) => /^\d+$/.test(group))) {
    return undefined;
  }
  return { uid: Number(uidLine.trim()), groups: groups.map(Number) };
}
