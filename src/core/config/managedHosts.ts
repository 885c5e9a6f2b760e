import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

import { parseAuthority } from './authority';
import type { HostSetting } from './settingsHosts';
import { parseTypedLocation } from './typedLocation';

/**
 * Hosts the user adds, edits and removes from the editor: the pure rules (what may be typed, the
 * alias, the `Host` block, where a host's `Host` line is, the settings entry) and the one file write,
 * an append that never touches what the file already holds.
 */

/** What Add Host was given: the server, and an optional key file. */
export interface NewHost {
  readonly host: string;
  readonly user: string | undefined;
  readonly port: number | undefined;
  readonly identityFile: string | undefined;
}

/**
 * `user@host[:port]` (an sftp:// address without a path is accepted too), checked with the same rules
 * as Open Remote Folder: the server's parts, or the sentence saying what is wrong.
 */
export function parseNewHost(typed: string):
  | {
      readonly ok: true;
      readonly host: string;
      readonly user: string | undefined;
      readonly port: number | undefined;
    }
  | { readonly ok: false; readonly problem: string } {
  const location = parseTypedLocation(typed);
  if (!location.ok) {
    return location;
  }
  if (location.path !== undefined) {
    return { ok: false, problem: 'Type the server only (user@host:port), without a folder' };
  }
  const { host, user, port } = parseAuthority(location.authority);
  return { ok: true, host, user, port };
}

/** Why a key file path cannot be written into a Host block or the setting, or undefined when it can. */
export function identityFileProblem(path: string): string | undefined {
  if (/[\r\n"]/.test(path)) {
    return 'The key file path may not contain quotes or line breaks';
  }
  return undefined;
}

/**
 * A `Host` alias for the new host that no existing host uses (compared without case, as OpenSSH
 * matches host names): the host name itself, else `<host>-2`, `<host>-3`… An IPv6 address becomes a
 * name with dashes, since an alias cannot hold colons.
 */
export function chooseAlias(host: string, existing: Iterable<string>): string {
  const taken = new Set([...existing].map((name) => name.toLowerCase()));
  const base =
    host
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 200) || 'host';
  if (!taken.has(base.toLowerCase())) {
    return base;
  }
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate.toLowerCase())) {
      return candidate;
    }
  }
}

function configValue(value: string): string {
  return /\s/.test(value) ? `"${value}"` : value;
}

/** The `Host` block for ssh_config, as Remote-SSH writes it: alias, HostName, then what was given. */
export function renderHostBlock(alias: string, host: NewHost): string {
  const lines = [`Host ${alias}`, `  HostName ${host.host}`];
  if (host.user !== undefined) {
    lines.push(`  User ${host.user}`);
  }
  if (host.port !== undefined) {
    lines.push(`  Port ${host.port}`);
  }
  if (host.identityFile !== undefined) {
    lines.push(`  IdentityFile ${configValue(host.identityFile)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What to append to a config file holding `existing` so that `block` starts on a line of its own after
 * one blank line (none in an empty file). The existing text is never changed, only followed.
 */
export function textToAppend(existing: string, block: string): string {
  if (existing === '') {
    return block;
  }
  if (existing.endsWith('\n\n')) {
    return block;
  }
  return existing.endsWith('\n') ? `\n${block}` : `\n\n${block}`;
}

/** The `sftpfs.hosts` entry for the new host: `hostName` only where it differs from the name. */
export function hostSettingEntry(alias: string, host: NewHost): HostSetting {
  return {
    name: alias,
    ...(host.host === alias ? {} : { hostName: host.host }),
    ...(host.user === undefined ? {} : { user: host.user }),
    ...(host.port === undefined ? {} : { port: host.port }),
    ...(host.identityFile === undefined ? {} : { identityFile: host.identityFile }),
  };
}

/** The setting's entries without those named `alias` (other entries are kept as written). */
export function withoutHostSetting(hosts: readonly unknown[], alias: string): unknown[] {
  return hosts.filter(
    (entry) => typeof entry !== 'object' || entry === null || (entry as { name?: unknown }).name !== alias,
  );
}

/** Whether the setting has an entry named `alias`. */
export function hasHostSetting(hosts: readonly unknown[], alias: string): boolean {
  return withoutHostSetting(hosts, alias).length !== hosts.length;
}

/**
 * The zero-based line of the first `Host` line (any case; `Host=` too) whose patterns include `alias`
 * (compared without case), or undefined when the text has none.
 */
export function hostLineIndex(text: string, alias: string): number | undefined {
  const wanted = alias.toLowerCase();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const match = /^\s*host(?:\s*=\s*|\s+)(.*)$/i.exec(lines[index] ?? '');
    if (match === null) {
      continue;
    }
    const patterns = (match[1] ?? '')
      .replace(/#.*$/, '')
      .match(/"[^"]*"|\S+/g)
      ?.map((pattern) => pattern.replace(/^"|"$/g, '').toLowerCase());
    if (patterns?.includes(wanted) === true) {
      return index;
    }
  }
  return undefined;
}

/** The ssh_config file hosts are added to: `sftpfs.sshConfigFile` when set (`~` expanded), else ~/.ssh/config. */
export function userConfigFile(setting: string | undefined, home: string): string {
  const value = setting?.trim() ?? '';
  if (value === '') {
    return join(home, '.ssh', 'config');
  }
  const expanded = value === '~' ? home : /^~[/\\]/.test(value) ? join(home, value.slice(2)) : value;
  return isAbsolute(expanded) ? expanded : join(home, '.ssh', expanded);
}

/**
 * Appends `block` to the config file. A missing file is created with mode 0600 in a folder created
 * with mode 0700 (as ssh wants them); an existing file keeps its content and mode: only text is added
 * after it.
 */
export function appendHostBlock(file: string, block: string): void {
  const folder = dirname(file);
  if (!existsSync(folder)) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  }
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  appendFileSync(file, textToAppend(existing, block), { mode: 0o600 });
}

/**
 * The name of a workspace folder for a remote folder, so that roots of two hosts differ and stay short:
 * `project (pi)`; the host is the alias or host name, with the port when the authority has one, without
 * the user. The root folder is `/`.
 */
export function remoteFolderName(authority: string, path: string): string {
  const name =
    path
      .split('/')
      .filter((part) => part !== '')
      .pop() ?? '/';
  let host = authority;
  try {
    const parsed = parseAuthority(authority);
    const shown = parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host;
    host = parsed.port === undefined ? shown : `${shown}:${parsed.port}`;
  } catch {
    // an authority the provider will refuse: shown as it is
  }
  return `${name} (${host})`;
}
