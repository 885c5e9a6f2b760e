import { normalizeRemotePath } from '../common/remotePath';
import { formatAuthority, isSafeHostName, isSafeUserName } from './authority';

/**
 * What a user typed or pasted where a remote folder is asked for, understood before anything connects:
 * the canonical authority (`user@host:port`, as connections are keyed) and the absolute path, if any;
 * or, when it cannot be a remote folder, a sentence saying what is wrong, to show where the user typed.
 */
export type TypedLocation =
  | { readonly ok: true; readonly authority: string; readonly path: string | undefined }
  | { readonly ok: false; readonly problem: string };

/**
 * Accepts `sftp://[user@]host[:port][/path]` (also `ssh://`, percent-encoding decoded),
 * `[user@]host[:port][/path]`, scp's `[user@]host:/path`, an ssh_config alias, and bracketed IPv6
 * addresses in each. Refuses, each with its own reason: nothing typed, a space in the host part, a port
 * that is not a number from 1 to 65535, a relative path (`host:dir`), another scheme, a host or user
 * name with characters a shell or ssh could misread, and a path holding a NUL.
 */
export function parseTypedLocation(typed: string): TypedLocation {
  const text = typed.trim();
  if (text === '') {
    return problem('Type a host, user@host:port, or an sftp:// address');
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (scheme !== null) {
    const name = (scheme[1] ?? '').toLowerCase();
    if (name !== 'sftp' && name !== 'ssh') {
      return problem(`Only sftp:// addresses can be opened here, not ${name}://`);
    }
    return parseUrlForm(text.slice(scheme[0].length), `${name}://`);
  }
  if (text.startsWith('/')) {
    return problem(`"${text}" is a path without a host: type the host first, as host:${text}`);
  }
  return parsePlainForm(text);
}

function parseUrlForm(rest: string, scheme: string): TypedLocation {
  const slash = rest.indexOf('/');
  const authorityText = slash === -1 ? rest : rest.slice(0, slash);
  if (authorityText === '') {
    return problem(`There is no host after ${scheme}`);
  }
  let path: string | undefined;
  if (slash !== -1) {
    try {
      path = decodeURIComponent(rest.slice(slash));
    } catch {
      return problem('The path has a % that is not followed by two hexadecimal digits');
    }
  }
  const hostPort = splitHostPort(authorityText);
  if ('problem' in hostPort) {
    return problem(hostPort.problem);
  }
  if (hostPort.separator === 'scp') {
    return problem(`A colon after the host needs a port number in an ${scheme} address`);
  }
  let user = hostPort.user;
  if (user !== undefined) {
    try {
      user = decodeURIComponent(user);
    } catch {
      return problem('The user name has a % that is not followed by two hexadecimal digits');
    }
  }
  return finish(user, hostPort.host, hostPort.port, path);
}

function parsePlainForm(text: string): TypedLocation {
  // The host part ends at the first slash, or at a colon that starts an scp-style path.
  const bracketClose = text.startsWith('[') || text.includes('@[') ? text.indexOf(']') : -1;
  const slash = text.indexOf('/', bracketClose + 1);
  const head = slash === -1 ? text : text.slice(0, slash);
  const hostPort = splitHostPort(head);
  if ('problem' in hostPort) {
    return problem(hostPort.problem);
  }
  const path = slash === -1 ? undefined : text.slice(slash);
  if (hostPort.separator === 'scp' && hostPort.afterColon !== '') {
    // `host:dir`: scp would read a path relative to the home folder.
    return problem(
      `"${hostPort.afterColon}" after the colon is neither a port number nor an absolute path: write host:/full/path`,
    );
  }
  return finish(hostPort.user, hostPort.host, hostPort.port, path);
}

interface HostPort {
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  /** `port` for `host:22`, `scp` for `host:` followed by something that is not a number. */
  readonly separator: 'none' | 'port' | 'scp';
  readonly afterColon: string;
}

function splitHostPort(authority: string): HostPort | { problem: string } {
  if (/\s/.test(authority)) {
    return {
      problem: `"${authority}" has a space in it: write the path right after the host, as host:/path or host/path`,
    };
  }
  const at = authority.lastIndexOf('@');
  const user = at === -1 ? undefined : authority.slice(0, at);
  if (user === '') {
    return { problem: 'There is nothing before the @: type user@host' };
  }
  const hostPort = at === -1 ? authority : authority.slice(at + 1);
  let host: string;
  let afterColon: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) {
      return { problem: 'The IPv6 address has a [ without its ]' };
    }
    host = hostPort.slice(1, close);
    const rest = hostPort.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) {
      return { problem: `Unexpected "${rest}" after the IPv6 address` };
    }
    afterColon = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = hostPort.indexOf(':');
    host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    afterColon = colon === -1 ? undefined : hostPort.slice(colon + 1);
  }
  if (host === '') {
    return { problem: user === undefined ? 'There is no host name' : `There is no host name after ${user}@` };
  }
  if (afterColon === undefined) {
    return { user, host, port: undefined, separator: 'none', afterColon: '' };
  }
  if (/^\d+$/.test(afterColon)) {
    const port = Number(afterColon);
    if (port < 1 || port > 65535) {
      return { problem: `Port ${afterColon} is out of range: ports go from 1 to 65535` };
    }
    return { user, host, port, separator: 'port', afterColon };
  }
  if (afterColon === '' || !/^\d/.test(afterColon)) {
    return { user, host, port: undefined, separator: 'scp', afterColon };
  }
  return { problem: `The port "${afterColon}" is not a number: ports go from 1 to 65535` };
}

function finish(
  user: string | undefined,
  host: string,
  port: number | undefined,
  path: string | undefined,
): TypedLocation {
  if (!isSafeHostName(host)) {
    return problem(
      `The host name "${host}" may contain only letters, digits, dots, dashes and underscores, and must not start with a dash`,
    );
  }
  if (user !== undefined && !isSafeUserName(user)) {
    return problem(`The user name "${user}" contains characters that are not allowed`);
  }
  let normalized: string | undefined;
  if (path !== undefined) {
    if (path.includes('\0')) {
      return problem('The path contains a NUL character');
    }
    normalized = normalizeRemotePath(path);
  }
  return { ok: true, authority: formatAuthority({ user, host, port }), path: normalized };
}

function problem(text: string): TypedLocation {
  return { ok: false, problem: text };
}
