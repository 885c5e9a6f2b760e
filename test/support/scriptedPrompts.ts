import type { CredentialPrompts, KeyboardInteractivePrompt, Secret } from '../../src/core/ssh/credentials';
import type { UnknownHostKey } from '../../src/core/ssh/hostKeyVerifier';

export interface PromptScript {
  /** Answers to successive password prompts; `undefined` cancels. */
  readonly passwords?: ReadonlyArray<string | undefined>;
  readonly passphrases?: ReadonlyArray<string | undefined>;
  /** Answers to successive keyboard-interactive rounds. */
  readonly keyboard?: ReadonlyArray<(prompts: readonly KeyboardInteractivePrompt[]) => string[] | undefined>;
  readonly acceptUnknownHostKey?: boolean;
  /** How long the "user" looks at the host key before answering. */
  readonly hostKeyAnswerDelayMs?: number;
}

/** The prompt interface answered from a script; it records what was asked and how secrets fared. */
export class ScriptedPrompts implements CredentialPrompts {
  readonly events: string[] = [];
  readonly hostKeysShown: UnknownHostKey[] = [];
  readonly keyboardPromptsShown: KeyboardInteractivePrompt[][] = [];
  /** What each password prompt asked for (user, host, key, attempt, purpose). */
  readonly passwordRequests: Array<Parameters<CredentialPrompts['password']>[0]> = [];
  private passwordIndex = 0;
  private passphraseIndex = 0;
  private keyboardIndex = 0;

  constructor(private readonly script: PromptScript) {}

  confirmUnknownHostKey(key: UnknownHostKey): Promise<boolean> {
    this.events.push('hostkey');
    this.hostKeysShown.push(key);
    const answer = this.script.acceptUnknownHostKey === true;
    const delay = this.script.hostKeyAnswerDelayMs ?? 0;
    return new Promise((resolve) => setTimeout(() => resolve(answer), delay));
  }

  password(request: Parameters<CredentialPrompts['password']>[0]): Promise<Secret | undefined> {
    const value = this.script.passwords?.[this.passwordIndex++];
    this.passwordRequests.push(request);
    this.events.push('password');
    return Promise.resolve(value === undefined ? undefined : this.secret('password', value));
  }

  passphrase(): Promise<Secret | undefined> {
    const value = this.script.passphrases?.[this.passphraseIndex++];
    this.events.push('passphrase');
    return Promise.resolve(value === undefined ? undefined : this.secret('passphrase', value));
  }

  keyboardInteractive(request: {
    prompts: readonly KeyboardInteractivePrompt[];
  }): Promise<string[] | undefined> {
    this.events.push('keyboard');
    this.keyboardPromptsShown.push([...request.prompts]);
    const answer = this.script.keyboard?.[this.keyboardIndex++];
    return Promise.resolve(answer === undefined ? undefined : answer(request.prompts));
  }

  private secret(kind: string, value: string): Secret {
    return {
      value,
      accepted: () => this.events.push(`${kind} accepted`),
      rejected: () => this.events.push(`${kind} rejected`),
    };
  }
}
