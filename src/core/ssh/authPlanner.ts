import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { utils, type AnyAuthMethod, type ParsedKey } from 'ssh2';

import { RemoteFsError, errorMessage } from '../common/errors';
import type { Logger } from '../common/logger';
import type { AuthMethodName, ResolvedHost } from '../config/hostResolver';
import { validityProblem, type SshCertificate } from './certificates';
import { passwordKey, type CredentialPrompts, type Secret } from './credentials';
import { CertificateAwareAgent } from './sshAgent';
import { certificateIdentities, certificatesFor, readCertificateFile } from './userCertificates';

/** How many times a password, a passphrase or a keyboard-interactive login is asked, as OpenSSH's NumberOfPasswordPrompts. */
const MAX_PROMPTS = 3;

/** Why an identity file could not be read, in words (the log keeps the errno). */
const READ_FAILURES: Readonly<Record<string, string>> = {
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links',
};

/** `~/…` for paths in the user's home folder: shorter to read in a message. */
function tildePath(text: string): string {
  const home = homedir();
  return home.length > 1 ? text.split(`${home}/`).join('~/') : text;
}

interface KeyCandidate {
  readonly description: string;
  readonly method: (user: string) => AnyAuthMethod;
}

/**
 * Chooses the next authentication attempt each time the server asks, the way OpenSSH does: methods in
 * PreferredAuthentications order, only those the server still allows (so "publickey,password" style
 * multi-step logins follow the server's list of remaining methods), the agent before key files, a
 * passphrase asked only when an encrypted key's turn comes, and passwords asked at most three times.
 */
export class AuthPlanner {
  private keys: KeyCandidate[] | undefined;
  private passwordPrompts = 0;
  private keyboardInteractiveTries = 0;
  private secretInFlight: Secret | undefined;
  private readonly tried: string[] = [];
  /** Identity files that exist but could not be used, with why: the user named them, so they are told. */
  private readonly unusable: string[] = [];
  /** Identity files that do not exist (normal for ssh's defaults; named when the login fails). */
  private readonly missing: string[] = [];
  /** The methods the server last said it accepts (its USERAUTH_FAILURE list), once it has said. */
  private serverMethods: readonly string[] | undefined;
  /** Set when the user cancelled a prompt: the attempt ends with this error. */
  cancelled: RemoteFsError | undefined;
  /** Cleared when the host key could not be verified (StrictHostKeyChecking no with a changed key). */
  interactiveAllowed = true;
  /** Cleared when this ssh2 cannot send certificate logins (see certificateAuth.ts). */
  certificatesAllowed = true;
  /**
   * Set once a password, a passphrase or a keyboard-interactive answer was offered: a login that needed
   * one cannot be repeated without the user (the reader thread's second connection does not try, readerThread.ts).
   */
  secretOffered = false;

  constructor(
    private readonly host: ResolvedHost,
    private readonly prompts: CredentialPrompts | undefined,
    private readonly logger: Logger,
    /** Ends the connection attempt: some servers wait forever for an answer the user refused to give. */
    private readonly abort: () => void,
  ) {}

  /**
   * What was tried, what could not be, and what the server accepts, for the message when everything
   * failed: "tried the key ~/.ssh/id_ed25519; the key files ~/.ssh/id_rsa do not exist; no SSH agent
   * is running; the server accepts publickey, password".
   */
  describeAttempts(): string {
    const parts = [
      this.tried.length === 0
        ? 'no usable key, agent or password could be offered'
        : `tried ${this.tried.map(tildePath).join(', ')}`,
    ];
    if (this.missing.length > 0) {
      parts.push(
        `${this.missing.length === 1 ? 'the key file' : 'the key files'} ${this.missing.map(tildePath).join(', ')} ${this.missing.length === 1 ? 'does' : 'do'} not exist`,
      );
    }
    if (this.unusable.length > 0) {
      parts.push(`could not use ${this.unusable.map(tildePath).join(', ')}`);
    }
    if (
      this.keys !== undefined &&
      this.host.agentSocket === undefined &&
      this.host.agentUnavailable === undefined &&
      !this.host.identitiesOnly
    ) {
      parts.push('no SSH agent is running');
    }
    if (this.serverMethods !== undefined) {
      parts.push(
        this.serverMethods.length === 0
          ? 'the server named no method it accepts'
          : `the server accepts ${this.serverMethods.join(', ')}`,
      );
    }
    return parts.join('; ');
  }

  /** The login finished: the last secret offered worked. */
  succeeded(): void {
    this.secretInFlight?.accepted?.();
    this.secretInFlight = undefined;
  }

  /** Answers ssh2's authHandler: the next method to try, or false when there is nothing left. */
  async next(methodsLeft: readonly string[] | null, partialSuccess: boolean): Promise<AnyAuthMethod | false> {
    if (this.secretInFlight !== undefined) {
      if (partialSuccess) {
        this.secretInFlight.accepted?.();
      } else {
        this.secretInFlight.rejected?.();
      }
      this.secretInFlight = undefined;
    }
    if (methodsLeft !== null) {
      this.serverMethods = [...methodsLeft];
    }
    if (this.cancelled !== undefined) {
      return false;
    }
    for (const method of this.host.preferredAuthentications) {
      if (methodsLeft !== null && !methodsLeft.includes(method)) {
        continue;
      }
      const attempt = await this.attemptFor(method);
      if (this.cancelled !== undefined) {
        return false;
      }
      if (attempt !== undefined) {
        return attempt;
      }
    }
    return false;
  }

  private async attemptFor(method: AuthMethodName): Promise<AnyAuthMethod | undefined> {
    switch (method) {
      case 'publickey':
        return this.nextKey();
      case 'password':
        return this.passwordAttempt();
      case 'keyboard-interactive':
        return this.keyboardInteractiveAttempt();
    }
  }

  private async nextKey(): Promise<AnyAuthMethod | undefined> {
    this.keys ??= await this.keyCandidates();
    const candidate = this.keys.shift();
    if (candidate === undefined) {
      return undefined;
    }
    this.logger.debug(`Trying ${candidate.description}`);
    this.tried.push(candidate.description);
    return candidate.method(this.host.user);
  }

  private async keyCandidates(): Promise<KeyCandidate[]> {
    const candidates: KeyCandidate[] = [];
    if (this.host.agentUnavailable !== undefined && !this.host.identitiesOnly) {
      // The config named an agent that is not there: said once, and again if the login fails.
      this.logger.warn(`No SSH agent is offered: ${this.host.agentUnavailable}`);
      this.unusable.push(`the SSH agent (${this.host.agentUnavailable})`);
    }
    if (this.host.agentSocket !== undefined && !this.host.identitiesOnly) {
      const socket = this.host.agentSocket;
      // The agent's own certificates, and CertificateFile ones for keys the agent holds, are offered too.
      const agent = this.certificatesAllowed
        ? new CertificateAwareAgent(socket, await this.certificateFileCertificates())
        : socket;
      candidates.push({
        description: `the SSH agent at ${socket}`,
        method: (username) => ({ type: 'agent', username, agent }),
      });
    }
    for (const file of this.host.identityFiles) {
      let data: Buffer;
      try {
        data = await readFile(file);
      } catch (error) {
        // A missing file is normal (ssh tries id_ed25519, id_ecdsa, id_rsa whether they exist or not);
        // one that exists but cannot be read is a mistake the user should hear about.
        const code = (error as NodeJS.ErrnoException).code;
        const reason = (code === undefined ? undefined : READ_FAILURES[code]) ?? errorMessage(error);
        if (code === 'ENOENT') {
          this.logger.debug(`Skipping identity file ${file}: it does not exist`);
          this.missing.push(file);
        } else {
          this.logger.warn(`Skipping identity file ${file}: it cannot be read (${errorMessage(error)})`);
          this.unusable.push(`${file} (cannot be read: ${reason})`);
        }
        continue;
      }
      const parsed = utils.parseKey(data);
      if (!(parsed instanceof Error)) {
        candidates.push(...(await this.certificateCandidates(file, parsed)), {
          description: `the key ${file}`,
          method: (username) => ({ type: 'publickey', username, key: data }),
        });
      } else if (/passphrase/i.test(parsed.message)) {
        candidates.push(...(await this.unlockKey(file, data)));
      } else {
        this.logger.warn(
          `Skipping identity file ${file}: ${parsed.message}. Keys in OpenSSH, PEM and PuTTY v2 formats can be used.`,
        );
        this.unusable.push(`${file} (not a private key ssh2 can read)`);
      }
    }
    return candidates;
  }

  /** Asks for the passphrase of an encrypted key, up to three times; an empty list when it is skipped. */
  private async unlockKey(file: string, data: Buffer): Promise<KeyCandidate[]> {
    if (this.prompts === undefined) {
      this.logger.warn(
        `Skipping identity file ${file}: it is encrypted and no prompt is available for its passphrase`,
      );
      return [];
    }
    for (let attempt = 1; attempt <= MAX_PROMPTS; attempt++) {
      const secret = await this.prompts.passphrase({ keyFile: file, attempt });
      if (secret === undefined) {
        this.cancelled = new RemoteFsError(
          'EAUTH',
          `Authentication cancelled: no passphrase was given for ${file}`,
        );
        return [];
      }
      if (utils.parseKey(data, secret.value) instanceof Error) {
        secret.rejected?.();
        this.logger.warn(`Wrong passphrase for ${file} (attempt ${attempt} of ${MAX_PROMPTS})`);
        continue;
      }
      secret.accepted?.();
      this.secretOffered = true;
      const passphrase = secret.value;
      const unlocked = utils.parseKey(data, passphrase);
      return [
        ...(unlocked instanceof Error ? [] : await this.certificateCandidates(file, unlocked)),
        {
          description: `the key ${file}`,
          method: (username) => ({ type: 'publickey', username, key: data, passphrase }),
        },
      ];
    }
    this.logger.warn(`Giving up on ${file} after ${MAX_PROMPTS} wrong passphrases`);
    return [];
  }

  /** Certificates for one identity file's key, each offered before the key itself, as ssh does. */
  private async certificateCandidates(file: string, key: ParsedKey): Promise<KeyCandidate[]> {
    if (!this.certificatesAllowed) {
      return [];
    }
    const certificates = await certificatesFor(file, key, this.host.certificateFiles, this.logger, (reason) =>
      this.noteUnusable(reason),
    );
    return certificates.flatMap((certificate) =>
      certificateIdentities(key, certificate, file).map((identity) => ({
        description: `the certificate "${certificate.keyId}" of ${file} (${identity.type})`,
        method: (username: string): AnyAuthMethod => ({ type: 'publickey', username, key: identity }),
      })),
    );
  }

  /** The CertificateFile certificates that can be read: for keys held by the agent. */
  private async certificateFileCertificates(): Promise<SshCertificate[]> {
    const certificates: SshCertificate[] = [];
    for (const file of this.host.certificateFiles) {
      try {
        const certificate = await readCertificateFile(file);
        const problem =
          certificate.kind !== 'user'
            ? 'it is a host certificate'
            : validityProblem(certificate, Date.now() / 1000);
        if (problem === undefined) {
          certificates.push(certificate);
        } else {
          this.noteUnusable(`${file} (${problem})`);
        }
      } catch (error) {
        this.logger.debug(`Certificate ${file} cannot be read: ${errorMessage(error)}`);
      }
    }
    return certificates;
  }

  private noteUnusable(reason: string): void {
    if (!this.unusable.includes(reason)) {
      this.unusable.push(reason);
    }
  }

  private async passwordAttempt(): Promise<AnyAuthMethod | undefined> {
    if (!this.interactiveAllowed || this.prompts === undefined || this.passwordPrompts >= MAX_PROMPTS) {
      return undefined;
    }
    this.passwordPrompts++;
    const secret = await this.prompts.password({
      user: this.host.user,
      host: this.host.alias,
      key: passwordKey(this.host.user, this.host.hostName, this.host.port),
      attempt: this.passwordPrompts,
    });
    if (secret === undefined) {
      this.cancelled = new RemoteFsError('EAUTH', 'Authentication cancelled: no password was given');
      return undefined;
    }
    this.secretInFlight = secret;
    this.secretOffered = true;
    this.tried.push('a password');
    this.logger.debug('Trying a password');
    return { type: 'password', username: this.host.user, password: secret.value };
  }

  private keyboardInteractiveAttempt(): AnyAuthMethod | undefined {
    const prompts = this.prompts;
    if (!this.interactiveAllowed || prompts === undefined || this.keyboardInteractiveTries >= MAX_PROMPTS) {
      return undefined;
    }
    this.keyboardInteractiveTries++;
    this.secretOffered = true;
    this.tried.push('keyboard-interactive');
    this.logger.debug('Trying keyboard-interactive');
    return {
      type: 'keyboard-interactive',
      username: this.host.user,
      prompt: (name, instructions, _lang, serverPrompts, finish) => {
        if (serverPrompts.length === 0) {
          // Some servers send an empty round (a banner); answer it without bothering the user.
          finish([]);
          return;
        }
        prompts
          .keyboardInteractive({
            user: this.host.user,
            host: this.host.alias,
            name,
            instructions,
            prompts: serverPrompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })),
          })
          .then(
            (answers) => {
              if (answers === undefined) {
                this.cancelled = new RemoteFsError(
                  'EAUTH',
                  "Authentication cancelled at the server's prompt",
                );
                this.abort();
              } else {
                finish(answers);
              }
            },
            (error: unknown) => {
              this.cancelled = new RemoteFsError('EAUTH', `The login prompt failed: ${errorMessage(error)}`);
              this.abort();
            },
          );
      },
    };
  }
}
