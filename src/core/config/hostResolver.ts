import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join, posix, win32 } from 'node:path';
import SSHConfig, { LineType, type Line } from 'ssh-config';

import { RemoteFsError } from '../common/errors';
import type { Authority } from './authority';

export type StrictHostKeyChecking = 'yes' | 'ask' | 'accept-new' | 'no';
export type AuthMethodName = 'publickey' | 'keyboard-interactive' | 'password';

/** Everything needed to reach one host, after ~/.ssh/config has been applied. */
export interface ResolvedHost {
  /** The host as the user wrote it (an alias, a name or an address). */
  readonly alias: string;
  readonly hostName: string;
  readonly port: number;
  readonly user: string;
  readonly identityFiles: readonly string[];
  /** CertificateFile: user certificates offered with the identity (or agent key) they certify. */
  readonly certificateFiles: readonly string[];
  readonly identitiesOnly: boolean;
  /** The agent's socket or named pipe, or undefined for none. */
  readonly agentSocket: string | undefined;
  /** Why the agent the config names is not offered, when that is worth telling (Pageant not running). */
  readonly agentUnavailable?: string;
  readonly userKnownHostsFiles: readonly string[];
  readonly globalKnownHostsFiles: readonly string[];
  readonly hostKeyAlias: string | undefined;
  readonly strictHostKeyChecking: StrictHostKeyChecking;
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
  readonly proxyJump: string | undefined;
  readonly proxyCommand: string | undefined;
  /** Methods to try, in order, after PreferredAuthentications and the *Authentication yes/no switches. */
  readonly preferredAuthentications: readonly AuthMethodName[];
  readonly algorithms: AlgorithmPreferences;
}

/** The algorithm lines of the config, as written (OpenSSH's +, - and ^ forms included). */
export interface AlgorithmPreferences {
  readonly ciphers: string | undefined;
  readonly kex: string | undefined;
  readonly hostKeys: string | undefined;
  readonly macs: string | undefined;
  readonly compression: boolean;
}

export interface HostResolverOptions {
  /** Config files in precedence order; defaults to ~/.ssh/config then /etc/ssh/ssh_config. */
  readonly configFiles?: readonly string[];
  /** Config text read before the files (hosts defined in the extension's settings). */
  readonly leadingConfig?: string;
  /** Run `Match exec` commands; off unless the user enabled it, since they run arbitrary programs. */
  readonly allowMatchExec?: boolean;
  readonly homeDir?: string;
  readonly localUser?: string;
  readonly environment?: NodeJS.ProcessEnv;
  /** The client's OS, for OpenSSH for Windows' defaults (system files, the agent's pipe). */
  readonly platform?: NodeJS.Platform;
  /**
   * The Windows named pipes open now (the names under `\\.\pipe\`), or undefined when they cannot be
   * listed: how a running agent is found on Windows. Read only there, and only when needed.
   */
  readonly windowsPipes?: () => readonly string[] | undefined;
}

/** Where OpenSSH keeps its system-wide files: `/etc/ssh`, or `%PROGRAMDATA%\ssh` with OpenSSH for Windows. */
function systemSshFolder(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string {
  return platform === 'win32' ? win32.join(env['PROGRAMDATA'] || 'C:\\ProgramData', 'ssh') : '/etc/ssh';
}

/** The ssh_config files OpenSSH reads when none are named: the user's, then the system's. */
export function defaultConfigFiles(
  home: string,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const paths = platform === 'win32' ? win32 : posix;
  return [paths.join(home, '.ssh', 'config'), paths.join(systemSshFolder(platform, env), 'ssh_config')];
}

const WINDOWS_PIPE_FOLDER = '\\\\.\\pipe\\';
/** The agent OpenSSH for Windows runs as a service, reached through this named pipe. */
const WINDOWS_AGENT_PIPE_NAME = 'openssh-ssh-agent';
/**
 * Pageant (PuTTY 0.75 and later) speaks the agent protocol on `pageant.<user>.<hash>`, where <hash> is
 * 64 hex digits of SHA-256 over a string encrypted with a key of the user's logon session
 * (CryptProtectMemory): it cannot be computed without Win32 calls, so the pipe is found by listing.
 * <user> is the Windows account name, or for a domain account the part of its principal name before @.
 */
const PAGEANT_PIPE_NAME = /^pageant\.(.+)\.[0-9a-f]{64}$/i;
const PAGEANT_NOT_RUNNING =
  'IdentityAgent pageant names Pageant, but no Pageant named pipe (\\\\.\\pipe\\pageant.<user>.<hash>) is open: ' +
  "Pageant is not running, or is older than 0.75 and answers only window messages, which need ssh2's " +
  'helper program pagent.exe, and the extension does not include it';
const PAGEANT_UNLISTED =
  "IdentityAgent pageant names Pageant, but the named pipes could not be listed to find Pageant's; " +
  'name its pipe instead (the IdentityAgent line `pageant --openssh-config <file>` writes)';

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const MAX_INCLUDE_DEPTH = 16;

/** Resolves a URI authority through ssh_config as OpenSSH would (first value wins). */
export function resolveHost(authority: Authority, options: HostResolverOptions = {}): ResolvedHost {
  const home = options.homeDir ?? homedir();
  const localUser = options.localUser ?? userInfo().username;
  const env = options.environment ?? process.env;
  const platform = options.platform ?? process.platform;
  const files = options.configFiles ?? defaultConfigFiles(home, platform, env);
  const systemFolder = systemSshFolder(platform, env);
  const systemPaths = platform === 'win32' ? win32 : posix;

  const config = new SSHConfig();
  if (options.leadingConfig !== undefined) {
    config.push(...spliceIncludes([...SSHConfig.parse(options.leadingConfig)], home, 0));
  }
  for (const file of files) {
    config.push(...readConfigFile(file, home, 0));
  }
  const computeOptions = { ignoreCase: true, matchExec: options.allowMatchExec === true };
  // `Match user` needs the remote user: the URI's, else the one the config gives without it.
  const firstPass = config.compute({ Host: authority.host }, computeOptions);
  const configuredUser = typeof firstPass['user'] === 'string' ? firstPass['user'] : undefined;
  const user = authority.user ?? configuredUser ?? localUser;
  const computed = config.compute({ Host: authority.host, User: user }, computeOptions);
  const first = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const all = (key: string): string[] => {
    const value = computed[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };

  const hostName = expandTokens(first('hostname') ?? authority.host, { h: authority.host });
  const port = authority.port ?? parseNumber(first('port'), 22, 'Port');
  const tokens = {
    h: hostName,
    n: authority.host,
    p: String(port),
    r: user,
    u: localUser,
    d: home,
    i: String(process.getuid?.() ?? ''),
    l: hostname().split('.')[0] ?? '',
    L: hostname(),
  };
  const expandPath = (value: string): string => expandHome(expandTokens(value, tokens), home);
  const fileList = (key: string, defaults: string[]): string[] => {
    const values = all(key)
      .flatMap((value) => value.split(/\s+/))
      .filter((v) => v !== '');
    return (values.length > 0 ? values : defaults).filter((v) => v.toLowerCase() !== 'none').map(expandPath);
  };

  const identityFiles =
    all('identityfile').length > 0
      ? fileList('identityfile', [])
      : DEFAULT_IDENTITIES.map((name) => join(home, '.ssh', name)).filter((path) => existsSync(path));

  const agent = resolveAgent(first('identityagent'), {
    env,
    platform,
    localUser,
    expandPath,
    windowsPipes: options.windowsPipes ?? listWindowsPipes,
  });

  const proxyJump = first('proxyjump');
  const proxyCommand = first('proxycommand');
  return {
    alias: authority.host,
    hostName,
    port,
    user,
    identityFiles,
    certificateFiles: fileList('certificatefile', []),
    identitiesOnly: yes(first('identitiesonly')),
    agentSocket: agent.socket,
    ...(agent.unavailable === undefined ? {} : { agentUnavailable: agent.unavailable }),
    userKnownHostsFiles: fileList('userknownhostsfile', ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']),
    globalKnownHostsFiles: fileList('globalknownhostsfile', [
      systemPaths.join(systemFolder, 'ssh_known_hosts'),
      systemPaths.join(systemFolder, 'ssh_known_hosts2'),
    ]),
    hostKeyAlias: first('hostkeyalias'),
    strictHostKeyChecking: parseStrictness(first('stricthostkeychecking')),
    connectTimeoutMs: parseNumber(first('connecttimeout'), 20, 'ConnectTimeout') * 1000,
    keepaliveIntervalMs: parseNumber(first('serveraliveinterval'), 15, 'ServerAliveInterval') * 1000,
    keepaliveCountMax: parseNumber(first('serveralivecountmax'), 3, 'ServerAliveCountMax'),
    proxyJump: proxyJump === undefined || proxyJump.toLowerCase() === 'none' ? undefined : proxyJump,
    proxyCommand:
      proxyCommand === undefined || proxyCommand.toLowerCase() === 'none' ? undefined : proxyCommand,
    preferredAuthentications: authenticationOrder(first),
    algorithms: {
      ciphers: first('ciphers'),
      kex: first('kexalgorithms'),
      hostKeys: first('hostkeyalgorithms'),
      macs: first('macs'),
      compression: yes(first('compression')),
    },
  };
}

interface AgentContext {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly localUser: string;
  readonly expandPath: (value: string) => string;
  readonly windowsPipes: () => readonly string[] | undefined;
}

/**
 * The agent to ask, from IdentityAgent as OpenSSH reads it (SSH_AUTH_SOCK, none, $VARIABLE or a path).
 * On Windows, without either setting, the agent that is running: OpenSSH's agent service first (what
 * ssh.exe asks), else Pageant. `IdentityAgent pageant` (ssh2's name for it) means Pageant's pipe there.
 */
function resolveAgent(
  setting: string | undefined,
  context: AgentContext,
): { socket: string | undefined; unavailable?: string } {
  const { env, platform } = context;
  const onWindows = platform === 'win32';
  const pipePath = (value: string | undefined): string | undefined =>
    value !== undefined && onWindows ? backslashedPipePath(value) : value;
  if (setting === undefined || setting === 'SSH_AUTH_SOCK') {
    const fromEnvironment = env['SSH_AUTH_SOCK'];
    if (fromEnvironment) {
      return { socket: pipePath(fromEnvironment) };
    }
    return { socket: onWindows ? runningWindowsAgent(context) : undefined };
  }
  if (setting.toLowerCase() === 'none') {
    return { socket: undefined };
  }
  if (setting.startsWith('$')) {
    return { socket: pipePath(env[setting.slice(1)] || undefined) };
  }
  if (onWindows && setting.toLowerCase() === 'pageant') {
    // Never handed to ssh2 as 'pageant': its window-message client needs pagent.exe, which is not shipped.
    const pipes = context.windowsPipes();
    if (pipes === undefined) {
      return { socket: undefined, unavailable: PAGEANT_UNLISTED };
    }
    const pipe = pageantPipe(pipes, context.localUser);
    return pipe === undefined ? { socket: undefined, unavailable: PAGEANT_NOT_RUNNING } : { socket: pipe };
  }
  return { socket: pipePath(context.expandPath(setting)) };
}

/**
 * Windows named pipes are not files: asking whether one exists (stat) opens a connection to it, so the
 * pipe folder is listed instead. When it cannot be listed, OpenSSH's pipe is assumed, as ssh.exe does.
 */
function runningWindowsAgent(context: AgentContext): string | undefined {
  const pipes = context.windowsPipes();
  if (pipes === undefined || pipes.some((name) => name.toLowerCase() === WINDOWS_AGENT_PIPE_NAME)) {
    return WINDOWS_PIPE_FOLDER + WINDOWS_AGENT_PIPE_NAME;
  }
  return pageantPipe(pipes, context.localUser);
}

/**
 * The local user's Pageant pipe. Pipe names are visible to every user of the machine, so another
 * user's Pageant can be listed too; when none carries the local account name (a domain account, named
 * by its principal name), a single Pageant pipe is taken as ours. Anything else is left unused.
 */
function pageantPipe(pipes: readonly string[], localUser: string): string | undefined {
  const candidates = pipes.flatMap((name) => {
    const match = PAGEANT_PIPE_NAME.exec(name);
    return match?.[1] === undefined ? [] : [{ name, user: match[1] }];
  });
  const own =
    candidates.find((pipe) => pipe.user.toLowerCase() === localUser.toLowerCase()) ??
    (candidates.length === 1 ? candidates[0] : undefined);
  return own === undefined ? undefined : WINDOWS_PIPE_FOLDER + own.name;
}

/** `//./pipe/name`, as `pageant --openssh-config` writes it (for some OpenSSH versions), in Windows' form. */
function backslashedPipePath(value: string): string {
  return /^[/\\]{2}\.[/\\]pipe[/\\]/i.test(value) ? value.replace(/\//g, '\\') : value;
}

function listWindowsPipes(): string[] | undefined {
  try {
    // With the trailing backslash: Node 23.2 and later refuse `\\.\pipe` without it (nodejs/node#56002).
    return readdirSync(WINDOWS_PIPE_FOLDER);
  } catch {
    return undefined;
  }
}

const SUPPORTED_METHODS: readonly AuthMethodName[] = ['publickey', 'keyboard-interactive', 'password'];

/** PreferredAuthentications (OpenSSH's order by default), minus methods switched off with `... no`. */
function authenticationOrder(first: (key: string) => string | undefined): AuthMethodName[] {
  const listed = (first('preferredauthentications') ?? SUPPORTED_METHODS.join(','))
    .split(',')
    .map((m) => m.trim().toLowerCase())
    .filter((m): m is AuthMethodName => (SUPPORTED_METHODS as readonly string[]).includes(m));
  const switchedOff = (key: string): boolean =>
    ['no', 'false', 'off'].includes((first(key) ?? 'yes').toLowerCase());
  return listed.filter(
    (method) =>
      !(method === 'publickey' && switchedOff('pubkeyauthentication')) &&
      !(method === 'password' && switchedOff('passwordauthentication')) &&
      !(method === 'keyboard-interactive' && switchedOff('kbdinteractiveauthentication')),
  );
}

/** Parses one config file and splices in its `Include`s (globs; relative paths live in ~/.ssh). */
function readConfigFile(file: string, home: string, depth: number): Line[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }
    throw new RemoteFsError('EINVAL', `Cannot read the SSH config file ${file}`, { cause: error });
  }
  const lines = [...SSHConfig.parse(text)];
  for (const line of lines) {
    if (line.type === LineType.DIRECTIVE) {
      sourceFiles.set(line, file);
    }
  }
  return spliceIncludes(lines, home, depth);
}

/** The file each top-level directive was read from (Host lines, for Edit Host); settings have none. */
const sourceFiles = new WeakMap<Line, string>();

function spliceIncludes(lines: Line[], home: string, depth: number): Line[] {
  const result: Line[] = [];
  for (const line of lines) {
    if (line.type !== LineType.DIRECTIVE) {
      result.push(line);
      continue;
    }
    if ('config' in line && Array.isArray(line.config)) {
      line.config = spliceIncludes([...line.config], home, depth) as typeof line.config;
      result.push(line);
      continue;
    }
    if (line.param.toLowerCase() !== 'include') {
      result.push(line);
      continue;
    }
    if (depth >= MAX_INCLUDE_DEPTH) {
      throw new RemoteFsError('EINVAL', 'SSH config Include nesting is too deep');
    }
    const patterns = Array.isArray(line.value)
      ? line.value.map((v) => (typeof v === 'string' ? v : v.val))
      : String(line.value).split(/\s+/);
    for (const pattern of patterns) {
      const expanded = expandHome(pattern, home);
      const absolute = isAbsolute(expanded) ? expanded : join(home, '.ssh', expanded);
      for (const included of expandGlob(absolute)) {
        result.push(...readConfigFile(included, home, depth + 1));
      }
    }
  }
  return result;
}

/** Globs in the last path component only, which is what Include lines use in practice. */
function expandGlob(path: string): string[] {
  const name = basename(path);
  if (!/[*?]/.test(name)) {
    return [path];
  }
  const folder = dirname(path);
  const matcher = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  try {
    return readdirSync(folder)
      .filter((entry) => matcher.test(entry))
      .sort()
      .map((entry) => join(folder, entry));
  } catch {
    return [];
  }
}

function expandTokens(value: string, tokens: Record<string, string>): string {
  return value.replace(/%(.)/g, (whole, letter: string) =>
    letter === '%' ? '%' : (tokens[letter] ?? whole),
  );
}

function expandHome(value: string, home: string): string {
  return value === '~' ? home : value.startsWith('~/') ? join(home, value.slice(2)) : value;
}

function yes(value: string | undefined): boolean {
  return value !== undefined && ['yes', 'true', 'on'].includes(value.toLowerCase());
}

function parseStrictness(value: string | undefined): StrictHostKeyChecking {
  switch (value?.toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
    case 'false':
      return 'no';
    default:
      return 'ask';
  }
}

function parseNumber(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) {
    return fallback;
  }
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new RemoteFsError('EINVAL', `Invalid ${name} in the SSH config: ${value}`);
  }
  return parsed;
}

/**
 * The host aliases a user can pick from: every `Host` pattern without wildcards or negation, from the
 * settings' hosts and the config files (with their Includes), in order, without repeats.
 */
export function listConfiguredHosts(options: HostResolverOptions = {}): string[] {
  return listConfiguredHostSources(options).map((source) => source.alias);
}

/** A configured alias and the file whose `Host` line names it first (undefined: the settings' hosts). */
export interface ConfiguredHost {
  readonly alias: string;
  readonly file: string | undefined;
}

/** listConfiguredHosts, with the file each alias comes from. */
export function listConfiguredHostSources(options: HostResolverOptions = {}): ConfiguredHost[] {
  const home = options.homeDir ?? homedir();
  const files =
    options.configFiles ??
    defaultConfigFiles(home, options.platform ?? process.platform, options.environment ?? process.env);
  const lines = [
    ...(options.leadingConfig === undefined
      ? []
      : spliceIncludes([...SSHConfig.parse(options.leadingConfig)], home, 0)),
    ...files.flatMap((file) => {
      try {
        return readConfigFile(file, home, 0);
      } catch {
        return []; // an unreadable file is reported when connecting, not while listing
      }
    }),
  ];
  const names = new Map<string, ConfiguredHost>();
  for (const line of lines) {
    if (line.type !== LineType.DIRECTIVE || line.param.toLowerCase() !== 'host') {
      continue;
    }
    const patterns = Array.isArray(line.value)
      ? line.value.map((v) => (typeof v === 'string' ? v : v.val))
      : String(line.value).split(/\s+/);
    for (const pattern of patterns) {
      if (pattern !== '' && !/[*?!]/.test(pattern) && !names.has(pattern)) {
        names.set(pattern, { alias: pattern, file: sourceFiles.get(line) });
      }
    }
  }
  return [...names.values()];
}
