/**
 * How a URI says "these files as root": `;sudo` after the user name, as in
 * `sftp://alice;sudo@web1/etc/nginx/nginx.conf` (`sftp://;sudo@web1/…` when ssh_config names the
 * user). The SSH URI draft (draft-ietf-secsh-scp-sftp-ssh-uri) puts connection parameters in the user
 * part after a `;` the same way. A user name cannot hold a `;` (see authority.ts), so no login is
 * mistaken for the marker, and the marker lives in the authority: it survives a window reload with
 * the workspace folder or the editor that has it, and VS Code keeps root and non-root files apart.
 */
export const ROOT_MARKER = ';sudo';

export interface RootRoute {
  /** The authority of the login these files are reached through (the marker removed). */
  readonly login: string;
  /** True when the files are opened as root through sudo on that login's connection. */
  readonly asRoot: boolean;
}

/** Splits the root marker off an authority. */
export function rootRouteOf(authority: string): RootRoute {
  const at = authority.lastIndexOf('@');
  const userPart = at >= 0 ? authority.slice(0, at) : undefined;
  if (userPart === undefined || !userPart.endsWith(ROOT_MARKER)) {
    return { login: authority, asRoot: false };
  }
  const user = userPart.slice(0, -ROOT_MARKER.length);
  const host = authority.slice(at + 1);
  return { login: user === '' ? host : `${user}@${host}`, asRoot: true };
}

/** The authority of the same files as root: `alice@web1` → `alice;sudo@web1`, `web1` → `;sudo@web1`. */
export function asRootAuthority(authority: string): string {
  const route = rootRouteOf(authority);
  if (route.asRoot) {
    return authority;
  }
  const at = authority.lastIndexOf('@');
  return at >= 0
    ? `${authority.slice(0, at)}${ROOT_MARKER}${authority.slice(at)}`
    : `${ROOT_MARKER}@${authority}`;
}

/** True when the authority opens its files as root. */
export function isRootAuthority(authority: string): boolean {
  return rootRouteOf(authority).asRoot;
}
