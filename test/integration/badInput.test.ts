import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { RemoteFsError } from '../../src/core/common/errors';
import type { Authority } from '../../src/core/config/authority';
import { resolveHost } from '../../src/core/config/hostResolver';
import { ConnectionManager } from '../../src/core/connection/connectionManager';
import { RecordingLogger, rejectsWith, useSshd } from '../support/harness';

/**
 * What a user can type or configure wrongly: each mistake gets an error that says what is wrong, and
 * nothing else happens (no connection, no command run, no prompt). Wrong passwords and passphrases,
 * unknown and changed host keys and files that are not keys have their own tests in
 * authentication.test.ts and connection.test.ts.
 */
const h = useSshd();

describe('bad user input', () => {
  function freshManager(resolve: (authority: Authority) => ReturnType<typeof resolveHost>) {
    const resolved: string[] = [];
    const states: string[] = [];
    const logger = new RecordingLogger();
    const manager = new ConnectionManager({
      resolveHost: (authority) => {
        resolved.push(authority.host);
        return resolve(authority);
      },
      logger,
      fileSystem: { maxReadFileBytes: 1 << 20 },
      lifecycle: { idleTimeoutMs: 0, maxReconnectAttempts: 0 },
    });
    manager.onDidChangeState((change) => states.push(change.state));
    return { manager, resolved, states, logger };
  }

  test('malformed paths fail with EINVAL, saying why, before any connection is made', async () => {
    const { manager, states } = freshManager((authority) => h.sshd.resolve(authority));
    try {
      const fs = manager.fileSystem(h.sshd.alias);
      const relative = await rejectsWith(fs.stat('relative/path'), 'EINVAL');
      assert.match(relative.message, /must be absolute/);
      const nul = await rejectsWith(fs.readFile('/etc/passwd\0.txt'), 'EINVAL');
      assert.match(nul.message, /NUL/);
      await rejectsWith(fs.writeFile('', Buffer.from('x'), { create: true, overwrite: true }), 'EINVAL');
      await rejectsWith(fs.delete('/', { recursive: true }), 'EINVAL');
      assert.deepEqual(states, [], 'no connection was attempted');
    } finally {
      manager.dispose();
    }
  });

  test('host names, users and ports that are malformed or would inject options or shell syntax fail with EINVAL, and no ProxyCommand runs', () => {
    const marker = join(h.sshd.dir, 'proxy-command-ran');
    const config = join(h.sshd.dir, 'ssh_config_injection');
    // Were any of the names below to reach this command, the marker would appear.
    writeFileSync(config, `Host *\n  ProxyCommand /bin/sh -c 'touch ${marker}; echo %h %r'\n`);
    const { manager, resolved } = freshManager((authority) =>
      resolveHost(authority, { configFiles: [config], environment: {} }),
    );
    try {
      for (const bad of [
        '',
        '-oProxyCommand=touch',
        'host;touch',
        'host$(touch)',
        'host`touch`',
        'us;er@host',
        "o'neil@host",
        '-l@host',
        'host:99999',
        'host:0',
        '[::1',
        'a b',
        'host\nProxyCommand',
      ]) {
        assert.throws(
          () => manager.fileSystem(bad),
          (error) =>
            error instanceof RemoteFsError &&
            error.code === 'EINVAL' &&
            /URI|host|user|port|address/i.test(error.message),
          JSON.stringify(bad),
        );
      }
      assert.deepEqual(resolved, [], 'no host lookup happened');
      assert.equal(existsSync(marker), false, 'the ProxyCommand never ran');
    } finally {
      manager.dispose();
    }
  });

  test('an identity file that exists but cannot be read is named in the authentication error', async () => {
    const unreadable = join(h.sshd.dir, 'key-that-is-a-folder');
    mkdirSync(unreadable, { recursive: true });
    const { manager, logger } = freshManager((authority) => ({
      ...h.sshd.resolve(authority),
      identityFiles: [unreadable, join(h.sshd.dir, 'no-such-key')],
      agentSocket: undefined,
    }));
    try {
      const error = await rejectsWith(manager.session(h.sshd.alias), 'EAUTH');
      assert.match(
        error.message,
        new RegExp(`could not use ${unreadable} \\(cannot be read: it is a folder\\)`),
      );
      // A missing key is not an error (ssh tries its defaults whether they exist or not), but it is named.
      assert.match(error.message, /the key file .*no-such-key does not exist/);
      assert.doesNotMatch(error.message, /could not use .*no-such-key/);
      assert.ok(logger.lines.some((line) => line.startsWith('warn') && line.includes(unreadable)));
    } finally {
      manager.dispose();
    }
  });
});
