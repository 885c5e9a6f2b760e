import { RemoteFsError } from '../common/errors';
import { isSafeHostName, isSafeUserName } from './authority';

/** A host defined in the extension's settings, for people without an ssh_config. */
export interface HostSetting {
  readonly name: string;
  readonly hostName?: string;
  readonly user?: string;
  readonly port?: number;
  readonly identityFile?: string | readonly string[];
  readonly proxyJump?: string;
}

/**
 * Turns the settings' host list into ssh_config text, read before ~/.ssh/config so the same rules
 * (first value wins, tokens, ProxyJump, known_hosts) apply to both. Values are validated: a setting
 * cannot smuggle extra directives in through a newline.
 */
export function hostsToConfig(hosts: readonly HostSetting[]): string {
  return hosts
    .map((host) => {
      if (!isSafeHostName(host.name)) {
        throw new RemoteFsError('EINVAL', `Invalid host name in the setting sftpfs.hosts: "${host.name}"`);
      }
      const lines = [`Host ${host.name}`];
      const add = (keyword: string, value: string | number | undefined): void => {
        if (value === undefined || value === '') {
          return;
        }
        const text = String(value);
        if (/[\r\n"]/.test(text)) {
          throw new RemoteFsError(
            'EINVAL',
            `Invalid ${keyword} for ${host.name} in the setting sftpfs.hosts`,
          );
        }
        lines.push(`  ${keyword} ${/\s/.test(text) ? `"${text}"` : text}`);
      };
      if (host.hostName !== undefined && !isSafeHostName(host.hostName)) {
        throw new RemoteFsError('EINVAL', `Invalid hostName for ${host.name} in the setting sftpfs.hosts`);
      }
      if (host.user !== undefined && !isSafeUserName(host.user)) {
        throw new RemoteFsError('EINVAL', `Invalid user for ${host.name} in the setting sftpfs.hosts`);
      }
      add('HostName', host.hostName);
      add('User', host.user);
      add('Port', host.port);
      for (const file of typeof host.identityFile === 'string'
        ? [host.identityFile]
        : (host.identityFile ?? [])) {
        add('IdentityFile', file);
      }
      add('ProxyJump', host.proxyJump);
      return lines.join('\n');
    })
    .join('\n');
}

/**
 * The settings' host list as ssh_config text, leaving out entries that are not valid: one mistyped
 * entry must not stop every other host (those from ~/.ssh/config too) from connecting. Says what was
 * left out and why.
 */
export function usableHostsToConfig(hosts: readonly unknown[]): { text: string; problems: string[] } {
  const blocks: string[] = [];
  const problems: string[] = [];
  hosts.forEach((host, index) => {
    if (typeof host !== 'object' || host === null || typeof (host as { name?: unknown }).name !== 'string') {
      problems.push(`Entry ${index + 1} of the setting sftpfs.hosts has no "name"; it is ignored`);
      return;
    }
    try {
      blocks.push(hostsToConfig([host as HostSetting]));
    } catch (error) {
      problems.push(`${error instanceof Error ? error.message : String(error)}; that entry is ignored`);
    }
  });
  return { text: blocks.join('\n'), problems };
}
