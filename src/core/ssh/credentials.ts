import type { HostKeyPrompt } from './hostKeyVerifier';

/**
 * A secret the user gave (or a store remembered). The connection tells it how the server took it, so
 * the UI can offer to remember a secret that worked and forget one that did not.
 */
export interface Secret {
  readonly value: string;
  /** The server accepted it (authentication went on or finished). */
  accepted?(): void;
  /** The server refused it. */
  rejected?(): void;
}

export interface KeyboardInteractivePrompt {
  readonly prompt: string;
  /** False for secrets: the answer must not be shown while typed. */
  readonly echo: boolean;
}

/**
 * Everything the core may ask the user. The VS Code side implements it with input boxes and a modal;
 * tests script it. Answering `undefined` means the user cancelled: the attempt ends with a clear error.
 */
export interface CredentialPrompts extends HostKeyPrompt {
  passphrase(request: { readonly keyFile: string; readonly attempt: number }): Promise<Secret | undefined>;
  password(request: {
    readonly user: string;
    /** The host as the user named it (an alias): what the prompt shows. */
    readonly host: string;
    /** Where the password goes (see passwordKey): what a remembered password is kept under. */
    readonly key: string;
    readonly attempt: number;
    /** What the password is for: logging in (the default), or sudo on a connection already made. */
    readonly purpose?: 'login' | 'sudo';
  }): Promise<Secret | undefined>;
  keyboardInteractive(request: {
    readonly user: string;
    readonly host: string;
    readonly name: string;
    readonly instructions: string;
    readonly prompts: readonly KeyboardInteractivePrompt[];
  }): Promise<string[] | undefined>;
}

/**
 * What a password is remembered under: the user and the server it was given to (resolved host name
 * and port), not the alias. `me@box` on port 22 and on port 2222 are two sshd with two passwords, and
 * two aliases of one server share one.
 */
export function passwordKey(user: string, hostName: string, port: number): string {
  const host = hostName.toLowerCase();
  return `password:${user}@${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * What a sudo password is remembered under: the login user and the server, as for its login password,
 * but apart from it (the two may differ: sudoers can ask for root's password, `Defaults rootpw`).
 */
export function sudoPasswordKey(user: string, hostName: string, port: number): string {
  return `sudo:${passwordKey(user, hostName, port).slice('password:'.length)}`;
}
