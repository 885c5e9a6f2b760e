import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * known_hosts with OpenSSH's semantics (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): comma-separated host
 * patterns with `*`, `?` and `!` negation, hashed `|1|salt|hmac` names, `[host]:port` for non-default
 * ports, several keys per host, and the `@revoked` / `@cert-authority` markers.
 */
export interface KnownHostEntry {
  readonly file: string;
  readonly line: number;
  readonly marker: 'revoked' | 'cert-authority' | undefined;
  readonly hostPatterns: string;
  readonly keyType: string;
  readonly keyBase64: string;
}

export type HostKeyVerdict =
  | { readonly status: 'known'; readonly entry: KnownHostEntry }
  | { readonly status: 'unknown'; readonly otherKeyTypes: readonly string[] }
  | { readonly status: 'changed'; readonly entry: KnownHostEntry }
  | { readonly status: 'revoked'; readonly entry: KnownHostEntry };

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      return;
    }
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift();
      if (name !== '@revoked' && name !== '@cert-authority') {
        return; // an unknown marker: OpenSSH ignores the line too
      }
      marker = name === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [hostPatterns, keyType, keyBase64] = fields;
    if (hostPatterns === undefined || keyType === undefined || keyBase64 === undefined) {
      return;
    }
    entries.push({ file, line: index + 1, marker, hostPatterns, keyType, keyBase64 });
  });
  return entries;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 || port === 0 ? lower : `[${lower}]:${port}`;
}

/**
 * The names a host is looked up under in known_hosts, in order: its HostKeyAlias alone, or
 * `[host]:port` and then the bare host name (ssh accepts a key listed under the bare name for a
 * host on another port). One list for the verifier, the algorithm order and host certificates.
 */
export function knownHostsNames(host: {
  readonly hostName: string;
  readonly port: number;
  readonly hostKeyAlias: string | undefined;
}): string[] {
  if (host.hostKeyAlias !== undefined) {
    return [knownHostsName(host.hostKeyAlias, 22)];
  }
  const name = knownHostsName(host.hostName, host.port);
  const bare = knownHostsName(host.hostName, 22);
  return name === bare ? [name] : [name, bare];
}

/** Does one known_hosts host field match `name`? Negation vetoes; hashed entries match exactly. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    return hashedNameMatches(field, name);
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (wildcardMatch(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) {
        return false;
      }
      matched = true;
    }
  }
  return matched;
}

function hashedNameMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (salt === undefined || hash === undefined) {
    return false;
  }
  const computed = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return computed === hash;
}

/** OpenSSH's match_pattern: `*` any run, `?` any one character, case-insensitive for host names. */
export function wildcardMatch(pattern: string, text: string): boolean {
  const escaped = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`).test(text.toLowerCase());
}

/** The key type named inside an SSH wire-format public key blob. */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) {
    return 'unknown';
  }
  const length = blob.readUInt32BE(0);
  return length > 0 && 4 + length <= blob.length
    ? blob.subarray(4, 4 + length).toString('latin1')
    : 'unknown';
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Judges a presented key against entries that may mention the host. Revocation wins over everything;
 * then a matching key; then a different key of the same type is a changed key; anything else is
 * unknown (with the other key types already known, which a prompt should mention, as ssh does).
 */
export function judgeHostKey(entries: readonly KnownHostEntry[], name: string, blob: Buffer): HostKeyVerdict {
  const presented = blob.toString('base64');
  const presentedType = keyTypeOfBlob(blob);
  const revoked = entries.find((e) => e.marker === 'revoked' && e.keyBase64 === presented);
  if (revoked) {
    return { status: 'revoked', entry: revoked };
  }
  const forHost = entries.filter((e) => e.marker === undefined && hostFieldMatches(e.hostPatterns, name));
  const known = forHost.find((e) => e.keyBase64 === presented);
  if (known) {
    return { status: 'known', entry: known };
  }
  const changed = forHost.find((e) => e.keyType === presentedType);
  if (changed) {
    return { status: 'changed', entry: changed };
  }
  return { status: 'unknown', otherKeyTypes: [...new Set(forHost.map((e) => e.keyType))] };
}

/** Reads every file that exists; a missing file is simply empty, as for ssh. */
export async function loadKnownHosts(files: readonly string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    try {
      all.push(...parseKnownHosts(await readFile(file, 'utf8'), file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
  }
  return all;
}

/** As loadKnownHosts, synchronously: for code that must not yield (a socket is already open). */
export function loadKnownHostsSync(files: readonly string[]): KnownHostEntry[] {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    try {
      all.push(...parseKnownHosts(readFileSync(file, 'utf8'), file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
  }
  return all;
}
