import assert from 'node:assert/strict';
import { test } from 'node:test';

import { featureGaps } from '../../src/core/sftp/serverFeatures';

test("OpenSSH's extensions leave no gap; each missing one is named with what it changes", () => {
  const openssh = new Map(
    ['fsync@openssh.com', 'posix-rename@openssh.com', 'limits@openssh.com', 'copy-data'].map((name) => [
      name,
      '1',
    ]),
  );
  assert.deepEqual(featureGaps(openssh), []);
  // ProFTPD 1.3.8 offers fsync and posix-rename, but neither limits nor copy-data.
  const proftpd = new Map(['fsync@openssh.com', 'posix-rename@openssh.com'].map((name) => [name, '1']));
  const gaps = featureGaps(proftpd);
  assert.equal(gaps.length, 2);
  assert.match(
    gaps[0] ?? '',
    /limits@openssh.com: reads ask for 255 KiB and settle on what the server answers; writes .*32 KiB/,
  );
  assert.match(gaps[1] ?? '', /copy-data/);
  assert.match(featureGaps(new Map()).join('\n'), /fsync@openssh.com: a saved file is not flushed/);
});
