import { writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { join, posix } from 'node:path';

import { Server, utils, type Connection, type ServerChannel } from 'ssh2';

import type { Authority } from '../../src/core/config/authority';
import { resolveHost, type ResolvedHost } from '../../src/core/config/hostResolver';

/**
 * An SSH server in this process whose SFTP subsystem is written here, byte by byte, over a virtual
 * tree. It is not a stand-in for OpenSSH (the integration tests use the real sshd): it exists to
 * misbehave on purpose. Every reply passes through `rewrite`, which may corrupt, drop, repeat or
 * replace it, and every request is recorded, so a test can say what the client asked for.
 */
export const SFTP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

const STATUS = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, OP_UNSUPPORTED: 8 };
const HOME = '/home/tester';
const USER = 'tester';
const PASSWORD = 'hostile-test-password';

export interface ListedName {
  readonly filename: string;
  /** Defaults to a regular file of 1 byte. */
  readonly node?: VirtualNode;
}

export type VirtualNode =
  | {
      readonly kind: 'file';
      data: Buffer;
      /** The size STAT and READDIR claim, when it is a lie. */
      readonly claimedSize?: number;
      /** READ never answers EOF: past the data, every read returns more. */
      readonly endless?: boolean;
    }
  | {
      readonly kind: 'dir';
      /** READDIR batches to answer instead of the children in the tree (may never end). */
      readonly listing?: () => Iterable<readonly ListedName[]>;
    }
  | { readonly kind: 'link'; readonly target: string };

export interface RequestSeen {
  readonly type: number;
  readonly id: number;
  /** The paths the request named, as sent (for OPEN/STAT/..., RENAME's two, extended requests' ones). */
  readonly paths: readonly string[];
  /** Which SFTP channel it came on: channels are numbered from 1 in the order they were opened. */
  readonly channel: number;
  /** For a READ, the length asked for and the offset. */
  readonly length?: number;
  readonly offset?: number;
  /** For an EXTENDED request, the extension's name. */
  readonly extension?: string;
}

export interface Reply {
  readonly request: RequestSeen;
  /** The reply as it would be sent: type byte and body, without the length prefix. */
  readonly packet: Buffer;
}

/**
 * What is sent instead of a reply: whole frames, length prefixes included (none drops the reply). A
 * promise holds the reply back until it settles, while later replies go out.
 */
export type ReplyRewriter = (reply: Reply) => Buffer[] | Promise<Buffer[]>;

/** A fresh ed25519 key: the private key for ssh2, and `type base64` as known_hosts lists it. */
export function generateHostKey(): { privateKey: string; publicLine: string } {
  const key = utils.generateKeyPairSync('ed25519');
  return { privateKey: key.private, publicLine: key.public.trim().split(/\s+/).slice(0, 2).join(' ') };
}

/** A STATUS reply with `code` carrying the request id of `packet` (another reply), no message. */
export function statusInsteadOf(packet: Buffer, code: number): Buffer {
  const body = Buffer.alloc(12); // the code, then an empty message and an empty language tag
  body.writeUInt32BE(code >>> 0, 0);
  return frame(Buffer.concat([Buffer.from([SFTP.STATUS]), packet.subarray(1, 5), body]));
}

/** A length-prefixed SFTP frame around `packet`. */
export function frame(packet: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(packet.length);
  return Buffer.concat([length, packet]);
}

export class HostileSftpServer {
  readonly tree = new Map<string, VirtualNode>();
  readonly requests: RequestSeen[] = [];
  /** Every USERAUTH request's method, in order, across all connections. */
  readonly authMethods: string[] = [];
  /** Extensions announced in VERSION. */
  extensions: Record<string, string> = {
    'posix-rename@openssh.com': '1',
    'fsync@openssh.com': '1',
  };
  rewrite: ReplyRewriter | undefined;
  /** READs are answered with at most this many bytes, as a server with a cap it does not state. */
  readCap: number | undefined;
  /** READs asking for more than this are refused with FAILURE, as a server enforcing a cap by refusing. */
  refuseReadsOver: number | undefined;
  /** The answer to limits@openssh.com (offered only when `extensions` lists it). */
  limits:
    | { maxPacketLength: number; maxReadLength: number; maxWriteLength: number; maxOpenHandles: number }
    | undefined;
  /** Answers for paths the tree does not hold (an infinitely deep tree, say). */
  fallback: ((path: string) => VirtualNode | undefined) | undefined;
  readonly home = HOME;
  readonly user = USER;
  readonly password = PASSWORD;
  readonly hostPublicKey: string;
  private readonly hostKey: string;
  private readonly connections = new Set<Connection>();
  private server: Server | undefined;
  private listeningPort = 0;

  private channelsOpened = 0;

  private constructor() {
    const key = generateHostKey();
    this.hostKey = key.privateKey;
    this.hostPublicKey = key.publicLine;
    this.reset();
  }

  static async start(): Promise<HostileSftpServer> {
    const hostile = new HostileSftpServer();
    const server = new Server({ hostKeys: [hostile.hostKey] }, (client) => hostile.accept(client));
    hostile.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hostile.listeningPort = (server.address() as AddressInfo).port;
    return hostile;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** Back to a plain tree (a home folder with one file) and honest replies. */
  reset(): void {
    this.tree.clear();
    this.tree.set('/', { kind: 'dir' });
    this.tree.set('/home', { kind: 'dir' });
    this.tree.set(HOME, { kind: 'dir' });
    this.tree.set(`${HOME}/hello.txt`, { kind: 'file', data: Buffer.from('hello from a hostile server\n') });
    this.rewrite = undefined;
    this.fallback = undefined;
    this.readCap = undefined;
    this.refuseReadsOver = undefined;
    this.limits = undefined;
  }

  node(path: string): VirtualNode | undefined {
    return this.tree.get(path) ?? this.fallback?.(path);
  }

  /**
   * An ssh_config for this server in `dir`, with the known_hosts line given (by default the real key),
   * and how to resolve `hostile` through it.
   */
  clientConfig(
    dir: string,
    options: { knownHostsLine?: string; strict?: string } = {},
  ): (authority: Authority) => ResolvedHost {
    const knownHosts = join(dir, `known_hosts_hostile_${this.port}_${Math.random().toString(36).slice(2)}`);
    writeFileSync(knownHosts, options.knownHostsLine ?? `[127.0.0.1]:${this.port} ${this.hostPublicKey}\n`);
    const config = `${knownHosts}.config`;
    writeFileSync(
      config,
      [
        'Host hostile',
        '  HostName 127.0.0.1',
        `  Port ${this.port}`,
        `  User ${USER}`,
        `  UserKnownHostsFile ${knownHosts}`,
        `  StrictHostKeyChecking ${options.strict ?? 'yes'}`,
        '  PreferredAuthentications password',
        '  ConnectTimeout 1',
        '',
      ].join('\n'),
    );
    return (authority) => resolveHost(authority, { configFiles: [config], environment: {} });
  }

  /**
   * Request paths the client sent that are not inside `folder`, or that name `..`, NUL or an empty
   * step. A REALPATH of "." is the client's own question (where the login starts, or how long a small
   * request waits while a transfer runs on a link that looked slow): it names no file of the tree.
   */
  requestsOutside(folder: string): string[] {
    return this.requests
      .filter((request) => !(request.type === SFTP.REALPATH && request.paths[0] === '.'))
      .flatMap((request) => request.paths)
      .filter(
        (path) =>
          !(path === folder || path.startsWith(`${folder}/`)) ||
          path.includes('\0') ||
          path
            .split('/')
            .slice(1)
            .some((step) => step === '..' || step === '.' || step === ''),
      );
  }

  async close(): Promise<void> {
    for (const client of this.connections) {
      client.end();
    }
    await new Promise<void>((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
  }

  private accept(client: Connection): void {
    // Replies go out at once: with Nagle's algorithm, each small reply would wait for a delayed ACK.
    (client as unknown as { _sock?: Socket })._sock?.setNoDelay(true);
    this.connections.add(client);
    client.on('close', () => this.connections.delete(client));
    client.on('error', () => undefined); // clients that vanish are part of the tests
    client.on('authentication', (context) => {
      this.authMethods.push(context.method);
      if (context.method === 'password' && context.username === USER && context.password === PASSWORD) {
        context.accept();
      } else {
        context.reject(['password']);
      }
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('subsystem', (acceptSubsystem, reject, info) => {
          if (info.name !== 'sftp') {
            reject();
            return;
          }
          new SftpChannel(this, acceptSubsystem(), ++this.channelsOpened).start();
        });
      });
    });
  }
}

interface OpenHandle {
  readonly path: string;
  readonly batches?: Iterator<readonly ListedName[]>;
}

/** One SFTP channel: frames in, requests answered from the tree, replies out through `rewrite`. */
class SftpChannel {
  private pending = Buffer.alloc(0);
  private readonly handles = new Map<string, OpenHandle>();
  private nextHandle = 1;

  constructor(
    private readonly server: HostileSftpServer,
    private readonly channel: ServerChannel,
    private readonly number: number,
  ) {}

  start(): void {
    this.channel.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 4) {
        const length = this.pending.readUInt32BE(0);
        if (this.pending.length < 4 + length) {
          return;
        }
        const packet = this.pending.subarray(4, 4 + length);
        this.pending = this.pending.subarray(4 + length);
        this.handle(packet);
      }
    });
    this.channel.on('error', () => undefined);
  }

  private send(request: RequestSeen, packet: Buffer): void {
    const frames = this.server.rewrite?.({ request, packet }) ?? [frame(packet)];
    if (Array.isArray(frames)) {
      this.write(frames);
    } else {
      void frames.then((held) => this.write(held));
    }
  }

  private write(frames: readonly Buffer[]): void {
    for (const out of frames) {
      if (this.channel.writable) {
        this.channel.write(out);
      }
    }
  }

  private handle(packet: Buffer): void {
    const reader = new Reader(packet);
    const type = reader.byte();
    if (type === SFTP.INIT) {
      const writer = new Writer(SFTP.VERSION).u32(3);
      for (const [name, data] of Object.entries(this.server.extensions)) {
        writer.string(name).string(data);
      }
      this.send({ type, id: 0, paths: [], channel: this.number }, writer.done());
      return;
    }
    const id = reader.u32();
    const paths: string[] = [];
    const read: { length?: number; offset?: number; extension?: string } = {};
    const path = (): string => {
      const value = reader.text();
      paths.push(value);
      return absolute(value);
    };
    const record = (): RequestSeen => {
      const seen = { type, id, paths: [...paths], channel: this.number, ...read };
      this.server.requests.push(seen);
      return seen;
    };
    const status = (code: number, message = ''): void =>
      this.send(record(), new Writer(SFTP.STATUS).u32(id).u32(code).string(message).string('').done());
    const tree = this.server.tree;

    switch (type) {
      case SFTP.OPEN: {
        const followed = this.follow(path());
        const flags = reader.u32();
        if (followed === 'loop') {
          return status(STATUS.FAILURE, 'Too many levels of symbolic links');
        }
        const { path: target, node } = followed;
        const creating = (flags & 0x08) !== 0;
        if (node?.kind === 'dir') {
          return status(STATUS.FAILURE, 'Is a directory');
        }
        if (node === undefined && !creating) {
          return status(STATUS.NO_SUCH_FILE, 'No such file');
        }
        if (node !== undefined && (flags & 0x20) !== 0) {
          return status(STATUS.FAILURE, 'File exists');
        }
        if (node === undefined || (flags & 0x10) !== 0) {
          if (!this.hasFolder(posix.dirname(target))) {
            return status(STATUS.NO_SUCH_FILE, 'No such file');
          }
          tree.set(target, { kind: 'file', data: Buffer.alloc(0) });
        }
        return this.send(
          record(),
          new Writer(SFTP.HANDLE)
            .u32(id)
            .bytes(this.open({ path: target }))
            .done(),
        );
      }
      case SFTP.OPENDIR: {
        const target = path();
        const node = this.server.node(target);
        if (node?.kind !== 'dir') {
          return status(STATUS.NO_SUCH_FILE, 'No such file');
        }
        const batches = (node.listing?.() ?? [this.childrenOf(target)])[Symbol.iterator]();
        return this.send(
          record(),
          new Writer(SFTP.HANDLE)
            .u32(id)
            .bytes(this.open({ path: target, batches }))
            .done(),
        );
      }
      case SFTP.CLOSE:
        return this.handles.delete(reader.bytes().toString('hex'))
          ? status(STATUS.OK)
          : status(STATUS.FAILURE, 'Bad handle');
      case SFTP.READ: {
        const node = this.fileOf(this.handleIn(reader));
        const offset = Number(reader.u64());
        const asked = reader.u32();
        read.length = asked;
        read.offset = offset;
        if (node?.kind !== 'file') {
          return status(STATUS.FAILURE, 'Bad handle');
        }
        if (this.server.refuseReadsOver !== undefined && asked > this.server.refuseReadsOver) {
          return status(STATUS.FAILURE, 'Read length too large');
        }
        const length = Math.min(asked, this.server.readCap ?? asked);
        if (node.endless === true) {
          return this.send(record(), new Writer(SFTP.DATA).u32(id).bytes(Buffer.alloc(length, 0x61)).done());
        }
        if (offset >= node.data.length) {
          return status(STATUS.EOF, 'End of file');
        }
        const data = node.data.subarray(offset, Math.min(node.data.length, offset + length));
        return this.send(record(), new Writer(SFTP.DATA).u32(id).bytes(data).done());
      }
      case SFTP.WRITE: {
        const node = this.fileOf(this.handleIn(reader));
        const offset = Number(reader.u64());
        const data = reader.bytes();
        if (node?.kind !== 'file') {
          return status(STATUS.FAILURE, 'Bad handle');
        }
        const grown = Buffer.alloc(Math.max(node.data.length, offset + data.length));
        node.data.copy(grown);
        data.copy(grown, offset);
        node.data = grown;
        return status(STATUS.OK);
      }
      case SFTP.LSTAT:
      case SFTP.STAT: {
        const target = path();
        const followed = type === SFTP.STAT ? this.follow(target) : { node: this.server.node(target) };
        if (followed === 'loop') {
          return status(STATUS.FAILURE, 'Too many levels of symbolic links');
        }
        const found = followed.node;
        if (found === undefined) {
          return status(STATUS.NO_SUCH_FILE, 'No such file');
        }
        return this.send(record(), new Writer(SFTP.ATTRS).u32(id).attrs(found).done());
      }
      case SFTP.FSTAT: {
        const node = this.fileOf(this.handleIn(reader));
        if (node === undefined) {
          return status(STATUS.FAILURE, 'Bad handle');
        }
        return this.send(record(), new Writer(SFTP.ATTRS).u32(id).attrs(node).done());
      }
      case SFTP.SETSTAT:
      case SFTP.FSETSTAT: {
        const target = type === SFTP.SETSTAT ? path() : this.handleIn(reader)?.path;
        const node = target === undefined ? undefined : this.server.node(target);
        if (node === undefined) {
          return status(STATUS.NO_SUCH_FILE, 'No such file');
        }
        const flags = reader.u32();
        if ((flags & 0x1) !== 0 && node.kind === 'file') {
          const size = Number(reader.u64());
          const resized = Buffer.alloc(size);
          node.data.copy(resized, 0, 0, Math.min(size, node.data.length));
          node.data = resized;
        }
        return status(STATUS.OK);
      }
      case SFTP.READDIR: {
        const open = this.handleIn(reader);
        if (open?.batches === undefined) {
          return status(STATUS.FAILURE, 'Bad handle');
        }
        const next = open.batches.next();
        if (next.done === true) {
          return status(STATUS.EOF, 'End of directory');
        }
        const writer = new Writer(SFTP.NAME).u32(id).u32(next.value.length);
        for (const name of next.value) {
          const node = name.node ?? { kind: 'file', data: Buffer.alloc(1) };
          writer.string(name.filename).string(`-rw-r--r-- 1 tester tester 1 Jan 1 2026 ${name.filename}`);
          writer.attrs(node);
        }
        return this.send(record(), writer.done());
      }
      case SFTP.REMOVE: {
        const target = path();
        const node = this.server.node(target);
        if (node === undefined || node.kind === 'dir') {
          return status(node === undefined ? STATUS.NO_SUCH_FILE : STATUS.FAILURE, 'Cannot remove');
        }
        tree.delete(target);
        return status(STATUS.OK);
      }
      case SFTP.MKDIR: {
        const target = path();
        if (this.server.node(target) !== undefined || !this.hasFolder(posix.dirname(target))) {
          return status(STATUS.FAILURE, 'Cannot create');
        }
        tree.set(target, { kind: 'dir' });
        return status(STATUS.OK);
      }
      case SFTP.RMDIR: {
        const target = path();
        if (this.server.node(target)?.kind !== 'dir' || this.childrenOf(target).length > 0) {
          return status(STATUS.FAILURE, 'Cannot remove');
        }
        tree.delete(target);
        return status(STATUS.OK);
      }
      case SFTP.REALPATH: {
        const target = path();
        return this.send(
          record(),
          new Writer(SFTP.NAME).u32(id).u32(1).string(target).string(target).u32(0).done(),
        );
      }
      case SFTP.READLINK: {
        const node = this.server.node(path());
        if (node?.kind !== 'link') {
          return status(STATUS.FAILURE, 'Not a link');
        }
        return this.send(
          record(),
          new Writer(SFTP.NAME).u32(id).u32(1).string(node.target).string('').u32(0).done(),
        );
      }
      case SFTP.SYMLINK: {
        const link = path();
        const target = reader.text();
        if (this.server.node(link) !== undefined) {
          return status(STATUS.FAILURE, 'File exists');
        }
        tree.set(link, { kind: 'link', target });
        return status(STATUS.OK);
      }
      case SFTP.RENAME:
        return this.rename(path(), path(), false, status);
      case SFTP.EXTENDED: {
        const name = reader.text();
        read.extension = name;
        if (name === 'posix-rename@openssh.com') {
          return this.rename(path(), path(), true, status);
        }
        if (name === 'fsync@openssh.com') {
          record();
          return status(STATUS.OK);
        }
        const limits = this.server.limits;
        if (name === 'limits@openssh.com' && limits !== undefined) {
          return this.send(
            record(),
            new Writer(SFTP.EXTENDED_REPLY)
              .u32(id)
              .u64(limits.maxPacketLength)
              .u64(limits.maxReadLength)
              .u64(limits.maxWriteLength)
              .u64(limits.maxOpenHandles)
              .done(),
          );
        }
        return status(STATUS.OP_UNSUPPORTED, `Unsupported: ${name}`);
      }
      default:
        return status(STATUS.OP_UNSUPPORTED, 'Unsupported');
    }
  }

  private rename(
    from: string,
    to: string,
    replace: boolean,
    status: (code: number, message?: string) => void,
  ): void {
    const tree = this.server.tree;
    const node = this.server.node(from);
    if (node === undefined) {
      return status(STATUS.NO_SUCH_FILE, 'No such file');
    }
    if (this.server.node(to) !== undefined && (!replace || this.server.node(to)?.kind === 'dir')) {
      return status(STATUS.FAILURE, 'Target exists');
    }
    for (const [path, moved] of [...tree]) {
      if (path === from || path.startsWith(`${from}/`)) {
        tree.delete(path);
        tree.set(to + path.slice(from.length), moved);
      }
    }
    return status(STATUS.OK);
  }

  /** The open handle the request names next, if it is one of ours. */
  private handleIn(reader: Reader): OpenHandle | undefined {
    return this.handles.get(reader.bytes().toString('hex'));
  }

  private fileOf(handle: OpenHandle | undefined): VirtualNode | undefined {
    return handle === undefined ? undefined : this.server.node(handle.path);
  }

  private open(handle: OpenHandle): Buffer {
    const key = Buffer.alloc(4);
    key.writeUInt32BE(this.nextHandle++);
    this.handles.set(key.toString('hex'), handle);
    return key;
  }

  private hasFolder(path: string): boolean {
    return this.server.node(path)?.kind === 'dir';
  }

  private childrenOf(folder: string): ListedName[] {
    const prefix = folder === '/' ? '/' : `${folder}/`;
    return [...this.server.tree]
      .filter(
        ([path]) => path !== folder && path.startsWith(prefix) && !path.slice(prefix.length).includes('/'),
      )
      .map(([path, node]) => ({ filename: path.slice(prefix.length), node }));
  }

  /** Where a path leads through links, and what is there; 'loop' past 40 hops. */
  private follow(path: string): { path: string; node: VirtualNode | undefined } | 'loop' {
    let current = path;
    for (let hop = 0; hop < 40; hop++) {
      const node = this.server.node(current);
      if (node?.kind !== 'link') {
        return { path: current, node };
      }
      current = posix.resolve(posix.dirname(current), node.target);
    }
    return 'loop';
  }
}

function absolute(path: string): string {
  return posix.resolve(HOME, path === '' ? '.' : path);
}

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}
  byte(): number {
    return this.buffer.readUInt8(this.offset++);
  }
  u32(): number {
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  u64(): bigint {
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  bytes(): Buffer {
    const length = this.u32();
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
}

class Writer {
  private readonly parts: Buffer[] = [];
  constructor(type: number) {
    this.parts.push(Buffer.from([type]));
  }
  u32(value: number): this {
    const part = Buffer.alloc(4);
    part.writeUInt32BE(value >>> 0);
    this.parts.push(part);
    return this;
  }
  u64(value: number): this {
    const part = Buffer.alloc(8);
    part.writeBigUInt64BE(BigInt(value));
    this.parts.push(part);
    return this;
  }
  bytes(value: Buffer): this {
    this.u32(value.length);
    this.parts.push(value);
    return this;
  }
  string(value: string): this {
    return this.bytes(Buffer.from(value, 'utf8'));
  }
  /** SIZE, UIDGID, PERMISSIONS and ACMODTIME of a node, as OpenSSH sends them. */
  attrs(node: VirtualNode): this {
    const type = node.kind === 'file' ? 0o100000 : node.kind === 'dir' ? 0o040000 : 0o120000;
    const permissions = node.kind === 'dir' ? 0o755 : node.kind === 'link' ? 0o777 : 0o644;
    const size = node.kind === 'file' ? (node.claimedSize ?? node.data.length) : 4096;
    return this.u32(0x1 | 0x2 | 0x4 | 0x8)
      .u64(size)
      .u32(1000)
      .u32(1000)
      .u32(type | permissions)
      .u32(1_790_000_000)
      .u32(1_790_000_000);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}
