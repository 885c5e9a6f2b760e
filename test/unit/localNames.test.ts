import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertInside,
  checkLocalNames,
  localNameProblem,
  localNameRules,
} from '../../src/core/transfer/localNames';

const windows = localNameRules('win32');
const linux = localNameRules('linux');

test("Windows' name rules: forbidden characters, device names, trailing dots and spaces", () => {
  for (const name of [
    'a\\b',
    'c:d',
    'what?',
    'x*',
    'a"b',
    '<',
    'pipe|',
    'tab\there',
    'CON',
    'con.txt',
    'Lpt1',
    'NUL.tar.gz',
    'end.',
    'end ',
  ]) {
    assert.ok(localNameProblem(name, windows) !== undefined, name);
    assert.equal(localNameProblem(name, linux), undefined, name);
  }
  for (const name of ['CONFIG', 'console.log', 'com10', 'a.b', '.gitignore', 'résumé']) {
    assert.equal(localNameProblem(name, windows), undefined, name);
  }
});

test('names differing only in case collide on a case-insensitive disk and nowhere else', () => {
  assert.throws(
    () => checkLocalNames(['src/App.ts', 'src/app.ts'], localNameRules('darwin')),
    /differ only in case/,
  );
  assert.doesNotThrow(() => checkLocalNames(['src/App.ts', 'src/app.ts'], linux));
});

test('paths must stay inside the chosen folder, by the local path rules', () => {
  assert.throws(() => assertInside('C:\\dl', 'C:\\dl\\..\\Windows\\x', windows), /outside/);
  assert.throws(() => assertInside('/home/me/dl', '/home/me/other', linux), /outside/);
  assert.doesNotThrow(() => assertInside('/home/me/dl', '/home/me/dl/..hidden', linux));
  assert.doesNotThrow(() => assertInside('C:\\dl', 'C:\\dl\\sub\\file.txt', windows));
});
