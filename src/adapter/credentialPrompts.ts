import * as vscode from 'vscode';

import type { Logger } from '../core/common/logger';
import type { CredentialPrompts, KeyboardInteractivePrompt, Secret } from '../core/ssh/credentials';
import type { UnknownHostKey } from '../core/ssh/hostKeyVerifier';

/** Where the names (never the values) of remembered secrets are listed, so Forget can find them all. */
const REMEMBERED_KEYS = 'sftpfs.rememberedSecretKeys';

/**
 * The core's prompt interface in VS Code: a modal for unknown host keys, password input boxes, and the
 * server's keyboard-interactive prompts shown as sent. Passwords and passphrases are kept in
 * SecretStorage only after the user chose "Remember" following a successful login, and a stored one
 * the server refuses is forgotten at once.
 */
export class VsCodeCredentialPrompts implements CredentialPrompts {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
    private readonly logger: Logger,
  ) {}

  async confirmUnknownHostKey(key: UnknownHostKey): Promise<boolean> {
    const host = key.port === 22 ? key.host : `${key.host}:${key.port}`;
    const connect = vscode.l10n.t('Connect');
    const detail = [
      vscode.l10n.t('{0} key fingerprint is {1}.', key.keyType, key.fingerprint),
      key.otherKeyTypes.length > 0
        ? vscode.l10n.t(
            'Keys of other types are already known for this host: {0}.',
            key.otherKeyTypes.join(', '),
          )
        : '',
      key.certificateProblem !== undefined
        ? vscode.l10n.t('A certificate authority is trusted for this host, but {0}.', key.certificateProblem)
        : '',
      vscode.l10n.t(
        'Connect only if this fingerprint is the one of your server. It will be added to your known_hosts file.',
      ),
    ]
      .filter((line) => line !== '')
      .join('\n\n');
    const answer = await vscode.window.showWarningMessage(
      vscode.l10n.t("The authenticity of host '{0}' can't be established.", host),
      { modal: true, detail },
      connect,
    );
    return answer === connect;
  }

  password(request: {
    user: string;
    host: string;
    key: string;
    attempt: number;
    purpose?: 'login' | 'sudo';
  }): Promise<Secret | undefined> {
    return this.secret(
      request.key,
      request.attempt,
      request.purpose === 'sudo'
        ? {
            title: vscode.l10n.t('SFTP: open as root on {0}', request.host),
            prompt: vscode.l10n.t('[sudo] password for {0} on {1}', request.user, request.host),
          }
        : {
            title: vscode.l10n.t('SFTP: {0}@{1}', request.user, request.host),
            prompt: vscode.l10n.t('Password for {0}@{1}', request.user, request.host),
          },
    );
  }

  passphrase(request: { keyFile: string; attempt: number }): Promise<Secret | undefined> {
    return this.secret(`passphrase:${request.keyFile}`, request.attempt, {
      title: vscode.l10n.t('SFTP: unlock key'),
      prompt: vscode.l10n.t('Passphrase for {0}', request.keyFile),
    });
  }

  async keyboardInteractive(request: {
    user: string;
    host: string;
    name: string;
    instructions: string;
    prompts: readonly KeyboardInteractivePrompt[];
  }): Promise<string[] | undefined> {
    const answers: string[] = [];
    for (const [index, prompt] of request.prompts.entries()) {
      const answer = await vscode.window.showInputBox({
        title: request.name || vscode.l10n.t('SFTP: {0}@{1}', request.user, request.host),
        prompt: [request.instructions, prompt.prompt].filter((text) => text.trim() !== '').join(' — '),
        password: !prompt.echo,
        ignoreFocusOut: true,
        ...(request.prompts.length > 1 ? { placeHolder: `${index + 1}/${request.prompts.length}` } : {}),
      });
      if (answer === undefined) {
        return undefined;
      }
      answers.push(answer);
    }
    return answers;
  }

  /** Forgets every remembered password and passphrase. */
  async forgetAll(): Promise<number> {
    const keys = this.state.get<string[]>(REMEMBERED_KEYS, []);
    for (const key of keys) {
      await this.secrets.delete(key);
    }
    await this.state.update(REMEMBERED_KEYS, []);
    return keys.length;
  }

  private async secret(
    key: string,
    attempt: number,
    box: { title: string; prompt: string },
  ): Promise<Secret | undefined> {
    const stored = attempt === 1 ? await this.secrets.get(key) : undefined;
    if (stored !== undefined) {
      return {
        value: stored,
        rejected: () => {
          this.logger.info(
            `A remembered secret was refused by the server; forgetting it (${key.split(':')[0]})`,
          );
          void this.forget(key);
        },
      };
    }
    const value = await vscode.window.showInputBox({
      ...box,
      password: true,
      ignoreFocusOut: true,
      ...(attempt > 1 ? { placeHolder: vscode.l10n.t('Try again (attempt {0} of 3)', attempt) } : {}),
    });
    if (value === undefined) {
      return undefined;
    }
    return { value, accepted: () => void this.offerToRemember(key, value) };
  }

  private async offerToRemember(key: string, value: string): Promise<void> {
    const remember = vscode.l10n.t('Remember');
    const answer = await vscode.window.showInformationMessage(
      key.startsWith('password:')
        ? vscode.l10n.t('Remember this password in the system keychain?')
        : key.startsWith('sudo:')
          ? vscode.l10n.t('Remember this sudo password in the system keychain?')
          : vscode.l10n.t('Remember this key passphrase in the system keychain?'),
      remember,
      vscode.l10n.t('Not Now'),
    );
    if (answer !== remember) {
      return;
    }
    await this.secrets.store(key, value);
    const keys = new Set(this.state.get<string[]>(REMEMBERED_KEYS, []));
    keys.add(key);
    await this.state.update(REMEMBERED_KEYS, [...keys]);
  }

  private async forget(key: string): Promise<void> {
    await this.secrets.delete(key);
    await this.state.update(
      REMEMBERED_KEYS,
      this.state.get<string[]>(REMEMBERED_KEYS, []).filter((k) => k !== key),
    );
  }
}
