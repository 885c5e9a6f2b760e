import { RemoteFsError } from '../common/errors';

/** The parts of `sftp://[user@]host[:port]/path` that name the server. */
export interface Authority {
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
}

// Host names, IPv4 and ssh_config aliases. Anything that could start an option (`-oProxyCommand=…`) or
// carry shell syntax into a ProxyCommand is refused here, before any lookup (cf. CVE-2023-51385).
const HOST_PATTERN = /^[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252}[A-Za-z0-9_])?$/;
const IPV6_PATTERN = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._-]+)?$/;
const USER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}$/;

/** A host name, alias or address that is safe to hand to a shell command or an ssh argument. */
export function isSafeHostName(host: string): boolean {
  return HOST_PATTERN.test(host) || (host.includes(':') && IPV6_PATTERN.test(host));
}

export function isSafeUserName(user: string): boolean {
  return USER_PATTERN.test(user);
}

export function parseAuthority(authority: string): Authority {
  const at = authority.lastIndexOf('@');
  const user = at >= 0 ? decodeURIComponent(authority.slice(0, at)) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) {
      throw invalid(authority, 'unbalanced brackets around an IPv6 address');
    }
    host = hostPort.slice(1, close);
    const rest = hostPort.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) {
      throw invalid(authority, 'unexpected text after the IPv6 address');
    }
    portText = rest === '' ? undefined : rest.slice(1);
    if (!IPV6_PATTERN.test(host)) {
      throw invalid(authority, 'not a valid IPv6 address');
    }
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    portText = colon >= 0 ? hostPort.slice(colon + 1) : undefined;
    if (!HOST_PATTERN.test(host)) {
      throw invalid(
        authority,
        'the host name may contain only letters, digits, dots, dashes and underscores',
      );
    }
  }
  if (user !== undefined && !USER_PATTERN.test(user)) {
    throw invalid(authority, 'the user name contains characters that are not allowed');
  }
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
      throw invalid(authority, `the port must be a number from 1 to 65535`);
    }
  }
  return { user, host, port };
}

/** The canonical text of an authority, used as the key of a connection. */
export function formatAuthority(authority: Authority): string {
  const host = authority.host.includes(':') ? `[${authority.host}]` : authority.host.toLowerCase();
  return `${authority.user === undefined ? '' : `${authority.user}@`}${host}${authority.port === undefined ? '' : `:${authority.port}`}`;
}

function invalid(authority: string, reason: string): RemoteFsError {
  return new RemoteFsError('EINVAL', `Invalid remote address "${authority}": ${reason}`);
}
