import {
  Client,
  type AnyAuthMethod,
  type AuthenticationType,
  type ClientChannel,
  type ConnectConfig,
  type PseudoTtyOptions,
  type SFTPWrapper,
} from 'ssh2';

import { isBackgroundWork } from '../common/backgroundWork';
import { RemoteFsError, errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Authority } from '../config/authority';
import type { ResolvedHost } from '../config/hostResolver';
import { DEFAULT_SESSION_OPTIONS, SftpSession, type SftpSessionOptions } from '../sftp/session';
import { pingConnection, sftpOverExecChannel } from '../sftp/sftpInternals';
import { asSsh2Algorithms, chooseAlgorithms } from './algorithms';
import { AuthPlanner } from './authPlanner';
import { enableCertificateAuth } from './certificateAuth';
import { coalesceWritesPerTick } from './coalescedWrites';
import { decipherKeepsNoInput, decryptWholePackets } from './gcmDecipher';
import { ConnectFailure, socketFailureKind } from './connectFailures';
import type { CredentialPrompts } from './credentials';
import { hostCertificateFor, preferCertifiedKey, type HostCertificateVerdict } from './hostCertificates';
import { hostKeyOfferFor } from './hostKeyOrder';
import { verifyHostKey } from './hostKeyVerifier';
import { closeQuietly, posixCommand, skipUntilLine } from './remoteCommand';
import { openProxyCommand, openTcp, parseJump, type Transport } from './transport';

/** Printed before an SFTP server's command runs: what comes before it was printed by startup files. */
const SFTP_START_MARKER = 'sftpfs-sftp-start';

/**
 * A command meant to become an SFTP server ended first (or never answered): what it printed on stderr
 * and its exit status, for the caller to put in words (see sudoFailures.ts).
 */
export class CommandSftpFailure extends RemoteFsError {
  constructor(
    readonly stderr: string,
    readonly exitCode: number | undefined,
    /** Set when the command neither ended nor answered within this many milliseconds. */
    readonly timeoutMs?: number,
  ) {
    super(
      timeoutMs === undefined ? 'EFAILURE' : 'ETIMEDOUT',
      timeoutMs === undefined
        ? `The SFTP server's command ended before SFTP started (exit status ${exitCode ?? 'unknown'})${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`
        : `The SFTP server's command did not start SFTP within ${timeoutMs / 1000} s`,
    );
  }
}

/** Jump chains nest (a jump host may have its own ProxyJump); this bounds a configuration loop. */
const MAX_JUMP_DEPTH = 8;

/** What was agreed with the server, for Show Connection Info. */
export interface NegotiatedDetails {
  readonly serverSoftware: string | undefined;
  readonly kex: string;
  readonly hostKeyAlgorithm: string;
  readonly cipher: string;
  readonly mac: string;
}

export interface ConnectOptions {
  readonly logger: Logger;
  /** How to ask the user; without it only the agent, unencrypted keys and known host keys work. */
  readonly prompts?: CredentialPrompts;
  /** Resolves the hosts named in a ProxyJump through ssh_config (each jump host's own settings apply). */
  readonly resolveHost: (authority: Authority) => ResolvedHost;
  /** Told when the server first asks for credentials (the host key is accepted by then): progress text. */
  readonly onAuthenticating?: () => void;
}

/**
 * One authenticated SSH connection. The host key is verified before any credential is sent, and the
 * key accepted at the first key exchange is pinned: a re-key presenting another key is refused.
 */
/** OpenSSH's default MaxSessions: channels a connection may have open until a refusal says otherwise. */
const DEFAULT_CHANNEL_LIMIT = 10;
/** A command refused for want of a channel is asked for this often, room being made in between. */
const EXEC_ATTEMPTS = 4;

/** True when the server refused to open a channel (OpenSSH at MaxSessions: "open failed"). */
function isChannelRefusal(error: unknown): boolean {
  return (
    error instanceof Error &&
    /channel open failure|open failed|administratively prohibited/i.test(error.message)
  );
}

export class SshConnection {
  private closed = false;
  private negotiated: NegotiatedDetails | undefined;
  private readonly closeListeners = new Set<(reason: string) => void>();
  /** Whether the login needed no password, passphrase or answer from the user (see AuthPlanner). */
  private loggedInWithoutSecrets = false;
  /** Whether the connection is straight TCP to the host: no jump host, no proxy command. */
  private direct = false;
  /** How many channels the server allows at once, as far as is known. */
  private channelLimit = DEFAULT_CHANNEL_LIMIT;
  private openChannels = 0;
  /** Channels the server was seen to hold at once: the limit is never below what it allowed. */
  private peakConfirmed = 0;
  private confirmedChannels = 0;
  private openSftpChannels = 0;
  /** Commands and terminals the user started, running now (background work is not counted). */
  private userCommands = 0;
  /** Asked, in order, to give channels back when the server refuses to open one (lanes, then watches). */
  private readonly shortageHandlers: Array<{
    readonly rank: number;
    readonly handler: () => Promise<boolean>;
  }> = [];

  private constructor(
    private readonly client: Client,
    readonly host: ResolvedHost,
    private readonly logger: Logger,
    private readonly transport: Transport,
    /** The jump hosts this connection runs through, closed with it. */
    private readonly hops: readonly SshConnection[],
  ) {
    client.on('error', (error: Error & { level?: string }) => {
      // Agent failures come only during the login, which reports them with the agent's name.
      if (error.level !== 'agent') {
        logger.warn(`Connection error: ${error.message}`);
      }
    });
    client.on('close', () => this.markClosed('the connection closed'));
  }

  /**
   * Connects and authenticates. The byte stream is, in order of precedence: `via` (the next hop of a
   * jump chain), a ProxyJump chain (each hop verified against its own known_hosts), a ProxyCommand,
   * or a direct TCP connection.
   */
  static async open(
    host: ResolvedHost,
    options: ConnectOptions,
    via?: Route,
    depth = 0,
  ): Promise<SshConnection> {
    const hops: SshConnection[] = [];
    let transport: Transport | undefined;
    try {
      const route = via ?? (await routeTo(host, options, hops, depth));
      // Only for a host that known_hosts trusts through a CA alone: its certificate, on a connection of its own.
      const certificate = await hostCertificateFor(host, route, options.logger);
      transport = await route();
      const connection = await SshConnection.handshake(host, options, transport, hops, certificate);
      connection.direct =
        via === undefined && host.proxyJump === undefined && host.proxyCommand === undefined;
      return connection;
    } catch (error) {
      transport?.dispose();
      for (const hop of hops) {
        hop.close();
      }
      throw error;
    }
  }

  private static async handshake(
    host: ResolvedHost,
    options: ConnectOptions,
    transport: Transport,
    hops: readonly SshConnection[],
    certificate: HostCertificateVerdict | undefined,
  ): Promise<SshConnection> {
    const { logger } = options;
    const offer = chooseAlgorithms(host.algorithms, logger);
    const hostKeyOffer = hostKeyOfferFor(host, offer.serverHostKey, logger);
    const algorithms = asSsh2Algorithms({
      ...offer,
      // The server must prove it holds the certified key: that key's algorithms go first.
      serverHostKey:
        certificate?.status === 'trusted'
          ? preferCertifiedKey(hostKeyOffer, certificate.keyType)
          : hostKeyOffer,
    });
    const socket = transport.stream;
    coalesceWritesPerTick(socket);
    const client = new Client();
    // Once ssh2 decrypts with its JavaScript AES-GCM decipher, which keeps nothing of a chunk, the
    // socket may hand it its one receive buffer instead of a copy per read (transport.ts).
    transport.lendReads?.(() =>
      decipherKeepsNoInput((client as unknown as { _protocol?: unknown })._protocol),
    );
    const planner = new AuthPlanner(host, options.prompts, logger, () => socket.destroy());
    // Like OpenSSH's ConnectTimeout: the server must reach key exchange in time. Time the user spends
    // in a prompt (host key, password, one-time code) is not counted.
    let handshakeTimedOut = false;
    const handshakeTimer = setTimeout(() => {
      handshakeTimedOut = true;
      socket.destroy();
    }, host.connectTimeoutMs);
    let pinnedKey: Buffer | undefined;
    let authenticated = false;
    let hostKeyFailure: RemoteFsError | undefined;

    const config: ConnectConfig = {
      sock: socket,
      username: host.user,
      algorithms,
      readyTimeout: 0,
      // At Trace level the log shows ssh2's account of the key exchange and authentication (it names
      // methods and algorithms, never a password, passphrase or key). Transfers are not traced.
      ...(logger.isTraceEnabled?.()
        ? {
            debug: (message: string): void => {
              if (!authenticated) {
                logger.trace(`ssh2: ${message}`);
              }
            },
          }
        : {}),
      keepaliveInterval: host.keepaliveIntervalMs,
      keepaliveCountMax: host.keepaliveCountMax,
      // ssh2 accepts any host key when this is missing: it is always set.
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        clearTimeout(handshakeTimer);
        if (pinnedKey !== undefined) {
          const same = pinnedKey.equals(key);
          if (!same) {
            logger.error('The server presented a different host key during a re-key; disconnecting');
          }
          verify(same);
          return;
        }
        verifyHostKey(host, key, options.prompts, logger, certificate).then(
          (acceptance) => {
            pinnedKey = Buffer.from(key);
            planner.interactiveAllowed = acceptance.interactiveAuthAllowed;
            verify(true);
          },
          (error: unknown) => {
            hostKeyFailure =
              error instanceof RemoteFsError
                ? error
                : new RemoteFsError('EHOSTKEY', `Could not check the host key: ${errorMessage(error)}`);
            verify(false);
          },
        );
      },
      authHandler: (methodsLeft: AuthenticationType[] | null, partialSuccess: boolean, next) => {
        if (methodsLeft === null) {
          options.onAuthenticating?.();
        }
        if (methodsLeft === null && !enableCertificateAuth(client)) {
          planner.certificatesAllowed = false;
          logger.warn(
            'User certificates cannot be offered: this ssh2 version is not the one certificateAuth.ts knows',
          );
        }
        // ssh2 waits for `next`, so the planner may prompt the user first.
        planner.next(methodsLeft, partialSuccess).then(
          (method) => (next as (method: AnyAuthMethod | false) => void)(method),
          (error: unknown) => {
            planner.cancelled = new RemoteFsError('EAUTH', `Authentication failed: ${errorMessage(error)}`);
            // ssh2 takes `false` as "no more methods"; its type definitions omit it.
            (next as (method: AnyAuthMethod | false) => void)(false);
          },
        );
      },
    };

    const connection = new SshConnection(client, host, logger, transport, hops);
    client.on('handshake', (negotiated) => {
      connection.negotiated = {
        // ssh2 keeps the server's version string only in a private field.
        serverSoftware: (client as unknown as { _remoteVer?: string })._remoteVer,
        kex: negotiated.kex,
        hostKeyAlgorithm: negotiated.serverHostKey,
        cipher: negotiated.cs.cipher,
        mac: negotiated.cs.mac,
      };
      logger.debug(
        `Negotiated kex ${negotiated.kex}, cipher ${negotiated.cs.cipher}, host key ${negotiated.serverHostKey}`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      // ssh2 keeps the server's version string only in a private field; it is set once SSH was spoken.
      const spokeSsh = (): boolean => (client as unknown as { _remoteVer?: string })._remoteVer !== undefined;
      const failure = (fallback: () => RemoteFsError): RemoteFsError =>
        handshakeTimedOut
          ? new ConnectFailure(
              spokeSsh() ? 'slow-handshake' : 'silent',
              { hostName: host.hostName, port: host.port, timeoutMs: host.connectTimeoutMs },
              `${host.hostName}:${host.port} did not complete the SSH handshake within ${host.connectTimeoutMs / 1000} s`,
            )
          : (hostKeyFailure ?? planner.cancelled ?? fallback());
      const settle = (): void => {
        clearTimeout(handshakeTimer);
        client.removeListener('ready', onReady);
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
      };
      const onError = (error: Error & { level?: string }): void => {
        if (error.level === 'agent') {
          // ssh2 reports an agent it cannot reach (a stopped agent service, another user's Pageant) or
          // one that refuses to sign, then goes on to the next method itself; as with ssh, the login goes on.
          logger.warn(`The SSH agent at ${host.agentSocket ?? '?'} could not be used: ${error.message}`);
          return;
        }
        settle();
        socket.destroy();
        reject(failure(() => classifyConnectError(error, host, planner.describeAttempts())));
      };
      const onClose = (): void => {
        settle();
        reject(
          failure(
            () =>
              new ConnectFailure(
                spokeSsh() ? 'closed' : 'not-ssh',
                { hostName: host.hostName, port: host.port },
                `${host.hostName}:${host.port} closed the connection during login${spokeSsh() ? '' : ' without speaking SSH'}`,
              ),
          ),
        );
      };
      const onReady = (): void => {
        settle();
        authenticated = true;
        planner.succeeded();
        connection.loggedInWithoutSecrets = !planner.secretOffered;
        resolve();
      };
      client.once('ready', onReady);
      client.on('error', onError);
      client.once('close', onClose);
      client.connect(config);
      // ssh2 has created its Protocol; no key exchange has finished yet.
      if (!decryptWholePackets((client as unknown as { _protocol?: unknown })._protocol)) {
        logger.debug('ssh2 internals changed: packets are decrypted piece by piece, as ssh2 does');
      }
    });
    logger.info(`Connected to ${host.user}@${host.hostName}:${host.port}`);
    return connection;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * True when the same login can be made again without the user, for a second connection of our own
   * (readerThread.ts): the server took the agent or a key file that needs no passphrase, over plain
   * TCP. A login that needed a password, a passphrase or an answer is never repeated unasked, and
   * neither is a jump chain or a proxy command.
   */
  get canLogInAgainUnattended(): boolean {
    return this.loggedInWithoutSecrets && this.direct && !this.closed;
  }

  get details(): NegotiatedDetails | undefined {
    return this.negotiated;
  }

  onClose(listener: (reason: string) => void): { dispose(): void } {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  /** Channels the server allows at once, as far as is known (OpenSSH allows 10 unless told otherwise). */
  get maxChannels(): number {
    return this.channelLimit;
  }

  /**
   * Commands running and terminals open that the user started (a search, Open SSH Terminal), not
   * the extension's own (inotifywait, probes run in the background): while any is, the connection
   * is in use whatever the SFTP traffic.
   */
  get userCommandsRunning(): number {
    return this.userCommands;
  }

  /** SFTP channels open now: the main session and any transfer lanes. */
  get sftpChannels(): number {
    return this.openSftpChannels;
  }

  /**
   * Registers who can give channels back when the server refuses a new one; the handler resolves true
   * when it closed some. Lower ranks are asked first (idle transfer lanes before an inotify watch,
   * which polling can replace): a terminal or a search then gets a channel they were holding.
   */
  onChannelShortage(rank: number, handler: () => Promise<boolean>): { dispose(): void } {
    const entry = { rank, handler };
    this.shortageHandlers.push(entry);
    this.shortageHandlers.sort((a, b) => a.rank - b.rank);
    return {
      dispose: () => {
        const index = this.shortageHandlers.indexOf(entry);
        if (index >= 0) {
          this.shortageHandlers.splice(index, 1);
        }
      },
    };
  }

  /**
   * Counts a channel from the moment it is asked for, so a refusal among requests in flight knows how
   * many the server holds or is still answering. Call `opened` or `refused` when the answer comes.
   */
  private channelRequested(): {
    opened(channel: { once(event: 'close', listener: () => void): unknown }): void;
    refused(error: unknown): void;
  } {
    this.openChannels++;
    return {
      opened: (channel) => {
        this.confirmedChannels++;
        this.peakConfirmed = Math.max(this.peakConfirmed, this.confirmedChannels);
        channel.once('close', () => {
          this.openChannels--;
          this.confirmedChannels--;
        });
      },
      refused: (error) => {
        this.openChannels--;
        // Requests answered later are counted as open here; the last refusal of a burst has none
        // left in flight, so the smallest count seen at a refusal is the server's limit.
        // A slot the server is still freeing (what ran there has not ended yet) can refuse a request
        // below the real limit: the limit never goes below what the server was seen to allow.
        const learned = Math.max(1, this.peakConfirmed, this.openChannels);
        if (isChannelRefusal(error) && learned < this.channelLimit) {
          this.channelLimit = learned;
          this.logger.info(`The server allows ${this.channelLimit} channel(s) at once on this connection`);
        }
      },
    };
  }

  /**
   * Starts SFTP on a new channel. A server that accepts the channel but never answers SFTP's INIT
   * would leave ssh2 waiting forever, so the start has the connect timeout too; a channel that
   * opens after that is closed at once.
   */
  openSftp(options?: SftpSessionOptions): Promise<SftpSession> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new RemoteFsError('ECONNLOST', 'The connection to the server was lost'));
        return;
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(
          new RemoteFsError(
            'ETIMEDOUT',
            `The server did not start SFTP within ${this.host.connectTimeoutMs / 1000} s`,
          ),
        );
      }, this.host.connectTimeoutMs);
      const request = this.channelRequested();
      this.client.sftp((error, sftp) => {
        clearTimeout(timer);
        if (error) {
          request.refused(error);
        } else {
          request.opened(sftp);
          this.openSftpChannels++;
          sftp.once('close', () => {
            this.openSftpChannels--;
          });
        }
        if (timedOut) {
          sftp?.end();
          return;
        }
        if (error) {
          // ssh2 marks a broken SFTP handshake (a malformed VERSION) apart from a refused subsystem.
          const broken = (error as Error & { level?: string }).level === 'sftp-protocol';
          reject(
            new RemoteFsError(
              broken ? 'EPROTO' : 'EUNSUPPORTED',
              broken
                ? `The server broke the SFTP protocol while starting SFTP (${error.message})`
                : `The server refused to start SFTP (${error.message}); is the sftp subsystem enabled?`,
              { cause: error },
            ),
          );
          return;
        }
        resolve(this.sessionOver(sftp, options));
      });
    });
  }

  private sessionOver(sftp: SFTPWrapper, options: SftpSessionOptions | undefined): SftpSession {
    const base = options ?? DEFAULT_SESSION_OPTIONS;
    return new SftpSession(sftp, this.logger, {
      // Read when needed, not copied: a changed setting applies to sessions already open.
      get stallTimeoutMs() {
        return base.stallTimeoutMs;
      },
      proveAlive: (timeoutMs) => this.proveAlive(timeoutMs),
    });
  }

  /**
   * Starts SFTP over a command instead of the sftp subsystem. `script` is POSIX sh (run whatever the
   * login shell is) that ends by exec-ing an SFTP server reading the channel, as `exec sudo …
   * sftp-server` does; `preamble` reaches the command before SFTP's INIT (`sudo -S` reads its password
   * line first, and not a byte more). When the command ends before its server answers INIT, or does
   * not answer within the connect timeout, this rejects with a CommandSftpFailure telling what it
   * printed on stderr and how it exited, for the caller to explain.
   */
  async openSftpOverCommand(
    script: string,
    preamble?: Buffer,
    options?: SftpSessionOptions,
  ): Promise<SftpSession> {
    let stderr = '';
    let starting: Promise<SftpSession> | undefined;
    let preambleSent = true;
    const command = posixCommand(`echo ${SFTP_START_MARKER}; ${script}`);
    // Everything happens in ssh2's callback: a command that fails at once may have its output, exit
    // status and close in the same read from the socket as the channel's confirmation.
    const channel = await this.exec(command, undefined, (opened) => {
      if (preamble !== undefined) {
        opened.write(preamble);
        // Sent at once unless the server's window is smaller than a password line: never with sshd.
        preambleSent = opened.writableLength === 0;
      }
      const sftp = !preambleSent
        ? undefined
        : sftpOverExecChannel(this.client, opened, {
            onStderr: (chunk) => {
              if (stderr.length < 16 * 1024) {
                stderr += chunk.toString('utf8');
              }
            },
            stdout: skipUntilLine(SFTP_START_MARKER),
          });
      starting = sftp === undefined ? undefined : this.sessionWhenReady(sftp, () => stderr, options);
    });
    if (starting === undefined) {
      closeQuietly(channel);
      throw new RemoteFsError(
        'EUNSUPPORTED',
        preambleSent
          ? 'Could not start SFTP over a command (ssh2 internals changed)'
          : 'Could not start SFTP over a command (the server accepted too little input)',
      );
    }
    const session = await starting;
    if (stderr.trim() !== '') {
      this.logger.debug(`The SFTP server's command said on stderr: ${stderr.trim()}`);
    }
    return session;
  }

  /**
   * The session over `sftp` once its server answered INIT, made at that moment (nothing of the channel
   * can be missed); a CommandSftpFailure when the command ended first or stayed silent.
   */
  private sessionWhenReady(
    sftp: SFTPWrapper,
    stderr: () => string,
    options: SftpSessionOptions | undefined,
  ): Promise<SftpSession> {
    this.openSftpChannels++;
    sftp.once('close', () => {
      this.openSftpChannels--;
    });
    return new Promise<SftpSession>((resolve, reject) => {
      let exitCode: number | undefined;
      const timer = setTimeout(() => {
        settle();
        sftp.end();
        reject(new CommandSftpFailure(stderr(), undefined, this.host.connectTimeoutMs));
      }, this.host.connectTimeoutMs);
      const onExit = (code: number | null): void => {
        exitCode = code ?? undefined;
      };
      const onClose = (): void => {
        settle();
        sftp.end(); // the server closed the channel: ssh2 does not answer that for an SFTP channel
        reject(new CommandSftpFailure(stderr(), exitCode));
      };
      const onError = (error: Error): void => {
        settle();
        sftp.end();
        reject(
          new RemoteFsError(
            'EPROTO',
            `The server broke the SFTP protocol while starting SFTP (${error.message})`,
            {
              cause: error,
            },
          ),
        );
      };
      const onReady = (): void => {
        settle();
        resolve(this.sessionOver(sftp, options));
      };
      const settle = (): void => {
        clearTimeout(timer);
        sftp.removeListener('ready', onReady);
        sftp.removeListener('exit', onExit);
        sftp.removeListener('close', onClose);
        sftp.removeListener('error', onError);
      };
      sftp.once('ready', onReady);
      sftp.on('exit', onExit);
      sftp.once('close', onClose);
      sftp.once('error', onError);
    });
  }

  /**
   * True when the server answers an SSH keepalive within `timeoutMs`: it is alive, however long one
   * SFTP request takes (a server-side copy of a large file, an fsync on slow storage).
   */
  private proveAlive(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve(false);
        return;
      }
      const timer = setTimeout(() => resolve(false), timeoutMs).unref();
      if (
        !pingConnection(this.client, () => {
          clearTimeout(timer);
          resolve(true);
        })
      ) {
        clearTimeout(timer);
        resolve(false);
      }
    });
  }

  /**
   * Runs a command on a new session channel (an "exec" request), with a terminal when `pty` is given.
   * On an SFTP-only account the server may run its SFTP server instead whatever the command: callers
   * that need a shell check for one first (see remoteCommand.ts). `adopt` is given the channel in
   * ssh2's own callback, before any of its output can be missed (see openSftpOverCommand).
   */
  async exec(
    command: string,
    pty?: PseudoTtyOptions,
    adopt?: (channel: ClientChannel) => void,
  ): Promise<ClientChannel> {
    // At the server's channel limit a user's command outranks idle transfer lanes and watches: before
    // each new try one holder gives its channel back. The server frees a slot once what ran there has
    // ended, which can take a moment, so a refusal is tried again a few times anyway.
    const holders = [...this.shortageHandlers];
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.execOnce(command, pty, adopt);
      } catch (error) {
        if (!isChannelRefusal(error) || attempt >= EXEC_ATTEMPTS - 1) {
          throw error;
        }
        let released = false;
        while (!released && holders.length > 0) {
          released = await (holders.shift() as (typeof holders)[number]).handler();
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  /** `adopt` is called in ssh2's callback, before any packet of the new channel can arrive. */
  private execOnce(
    command: string,
    pty?: PseudoTtyOptions,
    adopt?: (channel: ClientChannel) => void,
  ): Promise<ClientChannel> {
    const forUser = !isBackgroundWork();
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new RemoteFsError('ECONNLOST', 'The connection to the server was lost'));
        return;
      }
      const request = this.channelRequested();
      const done = (error: Error | undefined, channel: ClientChannel): void => {
        if (error) {
          request.refused(error);
          reject(
            new RemoteFsError('EUNSUPPORTED', `The server refused to run a command (${error.message})`, {
              cause: error,
            }),
          );
          return;
        }
        request.opened(channel);
        adopt?.(channel);
        if (forUser) {
          this.userCommands++;
          channel.once('close', () => this.userCommands--);
        }
        resolve(channel);
      };
      if (pty === undefined) {
        this.client.exec(command, done);
      } else {
        this.client.exec(command, { pty }, done);
      }
    });
  }

  /** A channel through this host to `host:port`, over which the next hop of a jump chain runs. */
  forwardTo(host: string, port: number): Promise<Transport> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
        if (error) {
          reject(
            new RemoteFsError(
              'ECONNECT',
              `The jump host ${this.host.alias} could not reach ${host}:${port} (${error.message})`,
              {
                cause: error,
              },
            ),
          );
          return;
        }
        resolve({ stream: channel, dispose: () => channel.destroy() });
      });
    });
  }

  close(): void {
    this.markClosed('disconnected on request');
    this.client.end();
  }

  private markClosed(reason: string): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.transport.dispose();
    for (const hop of this.hops) {
      hop.close();
    }
    this.logger.info(`Connection closed: ${reason}`);
    for (const listener of this.closeListeners) {
      listener(reason);
    }
  }
}

/** Connects hop by hop; each hop is a full SSH connection whose host key is verified. */
/** How to open a fresh byte stream to the host (direct, ProxyCommand, or through the jump chain's last hop). */
type Route = () => Promise<Transport>;

async function routeTo(
  host: ResolvedHost,
  options: ConnectOptions,
  hops: SshConnection[],
  depth: number,
): Promise<Route> {
  if (host.proxyJump !== undefined) {
    return openJumpChain(host, options, hops, depth);
  }
  const proxyCommand = host.proxyCommand;
  if (proxyCommand !== undefined) {
    return () => Promise.resolve(openProxyCommand(host, proxyCommand, options.logger));
  }
  return () => openTcp(host);
}

/** Connects the jump hosts in order; answers the route from the last one to the target. */
async function openJumpChain(
  target: ResolvedHost,
  options: ConnectOptions,
  hops: SshConnection[],
  depth: number,
): Promise<Route> {
  if (depth >= MAX_JUMP_DEPTH) {
    throw new RemoteFsError(
      'EINVAL',
      `ProxyJump nests more than ${MAX_JUMP_DEPTH} levels for ${target.alias}; is there a loop?`,
    );
  }
  const chain = (target.proxyJump ?? '').split(',').map((hop, index) => {
    const resolved = options.resolveHost(parseJump(hop.trim()));
    // As in OpenSSH, only the first hop may use its own proxy settings; later ones go through the chain.
    return index === 0 ? resolved : { ...resolved, proxyJump: undefined, proxyCommand: undefined };
  });
  let via: Route | undefined;
  try {
    for (const [index, hop] of chain.entries()) {
      options.logger.debug(`Connecting to jump host ${hop.user}@${hop.hostName}:${hop.port}`);
      const connection = await SshConnection.open(hop, options, via, depth + 1);
      hops.push(connection);
      const next = chain[index + 1] ?? target;
      via = () => connection.forwardTo(next.hostName, next.port);
    }
  } catch (error) {
    for (const hop of hops) {
      hop.close();
    }
    throw error;
  }
  if (via === undefined) {
    throw new RemoteFsError('EINVAL', `Empty ProxyJump for ${target.alias}`);
  }
  return via;
}

function classifyConnectError(
  error: Error & { level?: string; code?: unknown },
  host: ResolvedHost,
  attempts = 'no method could be offered',
): RemoteFsError {
  const where = `${host.user}@${host.hostName}:${host.port}`;
  const facts = { hostName: host.hostName, port: host.port };
  if (error.level === 'client-authentication') {
    return new ConnectFailure(
      'login-refused',
      { ...facts, detail: attempts },
      `Authentication to ${where} failed: ${attempts}`,
      error,
    );
  }
  if (error.level === 'client-timeout') {
    return new ConnectFailure(
      'silent',
      { ...facts, timeoutMs: host.connectTimeoutMs },
      `Timed out waiting for the SSH handshake with ${where}`,
      error,
    );
  }
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code !== undefined) {
    return new ConnectFailure(
      socketFailureKind(code),
      facts,
      `Could not connect to ${host.hostName}:${host.port} (${code})`,
      error,
    );
  }
  // ssh2's words for a server that closed before sending an SSH identification line (a web server
  // answering, then closing), and for one that sent a line that is not one.
  if (/identification|lost before handshake/i.test(error.message)) {
    return new ConnectFailure('not-ssh', facts, `${where} does not speak SSH: ${error.message}`, error);
  }
  return new ConnectFailure(
    'handshake',
    { ...facts, detail: error.message },
    `Could not connect to ${where}: ${error.message}`,
    error,
  );
}
