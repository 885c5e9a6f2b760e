import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  completeFixture,
  launchServer,
  prepareFixture,
  requireServer,
  type SftpServerFixture,
} from './sftpServerFixture';

const PROFTPD = '/usr/sbin/proftpd';
const MOD_SFTP = '/usr/lib/proftpd/mod_sftp.so';

/**
 * ProFTPD 1.3.8 with mod_sftp on 127.0.0.1, as a fixture (see SftpServerFixture): its own instance in
 * the foreground as root (`proftpd -n`), sessions switched to the test account, public-key login only,
 * no chroot (absolute paths are those on disk). Its logs stay in the temp dir: `sftp.log` (mod_sftp)
 * and `system.log`.
 */
export async function startProftpd(options: { alias?: string } = {}): Promise<SftpServerFixture> {
  requireServer('proftpd', [PROFTPD, MOD_SFTP]);
  const base = await prepareFixture('proftpd');
  const { dir } = base;
  try {
    // mod_sftp reads OpenSSH-format ed25519 host keys since 1.3.7.
    const hostKey = join(dir, 'host_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sftpfs-proftpd-host', '-f', hostKey]);
    // mod_sftp's `file:` keystore wants RFC 4716 public keys, not OpenSSH's one-line form.
    const authorizedKeys = join(dir, 'authorized_keys.rfc4716');
    writeFileSync(authorizedKeys, execFileSync('ssh-keygen', ['-e', '-f', `${base.clientKey}.pub`]));

    const systemLog = join(dir, 'system.log');
    const sftpLog = join(dir, 'sftp.log');
    const config = join(dir, 'proftpd.conf');
    writeFileSync(
      config,
      [
        'ServerType standalone',
        'ServerName "sftpfs-test ProFTPD"',
        // The default server takes no connections (port 0); the virtual host below is the SFTP server,
        // bound to 127.0.0.1 alone (without SocketBindTight it would listen on every address).
        'Port 0',
        'DefaultServer off',
        'SocketBindTight on',
        'UseIPv6 off',
        'UseReverseDNS off',
        'User nobody',
        'Group nogroup',
        'ModulePath /usr/lib/proftpd',
        'LoadModule mod_sftp.c',
        `PidFile ${join(dir, 'proftpd.pid')}`,
        `ScoreboardFile ${join(dir, 'proftpd.scoreboard')}`,
        'DelayTable none',
        'WtmpLog off',
        'TransferLog none',
        `SystemLog ${systemLog}`,
        'AuthOrder mod_auth_unix.c',
        'RequireValidShell off',
        'MaxInstances 100',
        '',
        '<VirtualHost 127.0.0.1>',
        `  Port ${base.port}`,
        '  SFTPEngine on',
        `  SFTPLog ${sftpLog}`,
        `  SFTPHostKey ${hostKey}`,
        '  SFTPAuthMethods publickey',
        `  SFTPAuthorizedUserKeys file:${authorizedKeys}`,
        '  SFTPCompression off',
        '  AllowOverwrite on',
        '  Umask 022',
        '</VirtualHost>',
        '',
      ].join('\n'),
    );
    try {
      execFileSync(PROFTPD, ['-t', '-c', config], { stdio: 'pipe' });
    } catch (error) {
      const detail = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
      throw new Error(`proftpd refused its configuration ${config}:\n${detail}`);
    }
    const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const server = await launchServer(base, PROFTPD, ['-n', '-q', '-c', config], [systemLog, sftpLog]);
    return completeFixture(base, {
      alias: options.alias ?? 'sftpfs-proftpd',
      hostPublicKey,
      stopServer: () => server.stop(),
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
