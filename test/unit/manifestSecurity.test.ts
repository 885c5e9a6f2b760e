import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

/**
 * What a workspace may configure. A folder someone else wrote (a cloned repository) must not choose
 * which hosts we connect to, which command runs as a proxy, which keys or known_hosts files are used,
 * or how host keys are checked. VS Code ignores workspace values of `application` and `machine`
 * settings, so those scopes are the guarantee; this test keeps every setting in them.
 */
interface SettingSchema {
  readonly scope?: string;
  readonly markdownDescription?: string;
  readonly default?: unknown;
}

const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, SettingSchema> } };
  capabilities: { untrustedWorkspaces: { supported: boolean | string } };
};
const settings = Object.entries(manifest.contributes.configuration.properties);
const localised = JSON.parse(readFileSync(join(__dirname, '../../../package.nls.json'), 'utf8')) as Record<
  string,
  string
>;
/** A manifest string as users read it: `%key%` looked up in package.nls.json. */
const text = (value: string | undefined): string =>
  value?.replace(/^%(.+)%$/, (_, key: string) => localised[key] ?? '') ?? '';

/** Settings that decide where we connect, what runs, or what is trusted. */
const SECURITY_SENSITIVE = ['sftpfs.hosts', 'sftpfs.sshConfigFile', 'sftpfs.allowMatchExec'];

describe('settings a workspace cannot set', () => {
  test('hosts, proxy commands, key and known_hosts paths and host-key policy are application settings', () => {
    for (const name of SECURITY_SENSITIVE) {
      const schema = manifest.contributes.configuration.properties[name];
      assert.ok(schema !== undefined, `${name} is declared`);
      assert.equal(schema.scope, 'application', `${name} must be application-scoped`);
    }
  });

  test('no setting can be set per workspace or folder at all', () => {
    for (const [name, schema] of settings) {
      assert.ok(
        schema.scope === 'application' || schema.scope === 'machine',
        `${name} has scope ${String(schema.scope)}: a workspace could set it`,
      );
    }
  });

  test('every setting explains itself and has a default', () => {
    for (const [name, schema] of settings) {
      assert.ok(text(schema.markdownDescription).length > 20, `${name} has a markdownDescription`);
      assert.ok(schema.default !== undefined, `${name} has a default`);
    }
  });

  test('untrusted workspaces are supported because no setting is read from the workspace', () => {
    // If a workspace-scoped setting is ever added, this must become "limited" with that setting
    // listed in restrictedConfigurations.
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, true);
    assert.ok(settings.every(([, schema]) => schema.scope !== 'resource' && schema.scope !== 'window'));
  });
});
