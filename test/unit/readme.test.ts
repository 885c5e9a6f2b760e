import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import { listFiles, PackageManager } from '@vscode/vsce';

import {
  README_TABLE_LIMITS,
  REPOSITORY_ROOT,
  checkMarkdown,
  headingAnchors,
  tableCells,
} from '../support/markdownCheck';

/**
 * The README is the extension's page on the Marketplace and Open VSX and in the installed
 * extension's Details page: its tables must render, stay narrow, and its screenshots must travel in
 * the .vsix (package:vsix keeps relative links, so the Details page loads them from the install).
 */
const read = (path: string): string => readFileSync(join(REPOSITORY_ROOT, path), 'utf8');
const manifest = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  repository?: { url?: string };
  categories?: string[];
  keywords?: string[];
  icon?: string;
  contributes: {
    configuration: { properties: Record<string, { scope?: string; markdownDescription?: string }> };
  };
};
const localised = JSON.parse(read('package.nls.json')) as Record<string, string>;

let packaged: Set<string>;
before(async () => {
  // The file list `vsce package` would pack, from .vscodeignore, offline.
  packaged = new Set(await listFiles({ cwd: REPOSITORY_ROOT, packageManager: PackageManager.None }));
});

describe('README as vsce packages it', () => {
  test('package:vsix keeps relative links, so the images must be in the .vsix', () => {
    assert.match(manifest.scripts['package:vsix'] ?? '', /--no-rewrite-relative-links/);
  });

  test('the README renders: whole tables, narrow enough, images packaged, links that resolve', () => {
    const problems = checkMarkdown(read('README.md'), {
      page: 'README.md',
      root: REPOSITORY_ROOT,
      packaged,
      wide: README_TABLE_LIMITS,
    });
    assert.deepEqual(problems, []);
  });

  test('the README, changelog, license and icon are in the .vsix', () => {
    for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', manifest.icon ?? 'icon missing']) {
      assert.ok(packaged.has(file), `${file} is packaged`);
    }
  });

  test("the contributors' pages have whole tables and links that resolve", () => {
    const pages = [
      'CHANGELOG.md',
      'ARCHITECTURE.md',
      ...readdirSync(join(REPOSITORY_ROOT, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
    ];
    for (const page of pages) {
      assert.deepEqual(checkMarkdown(read(page), { page, root: REPOSITORY_ROOT }), [], page);
    }
  });
});

describe('the Markdown check finds what breaks a page', () => {
  const check = (source: string, packagedFiles: string[] = []): string[] =>
    checkMarkdown(source, {
      page: 'README.md',
      root: REPOSITORY_ROOT,
      packaged: new Set(packagedFiles),
      wide: README_TABLE_LIMITS,
    });

  test('a table cut by a blank line leaves raw "|" text', () => {
    const problems = check('| a | b |\n| - | - |\n| 1 | 2 |\n\n| 3 | 4 |\n| 5 | 6 |\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /README\.md:5: renders as raw "\|" text/);
  });

  test('a row with more or fewer cells than the header', () => {
    const problems = check('| a | b |\n| - | - |\n| 1 | 2 | 3 |\n| 4 |\n');
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /:3: table row has 3 cells, its header 2/);
    assert.match(problems[1] ?? '', /:4: table row has 1 cells, its header 2/);
  });

  test('escaped pipes stay inside their cell', () => {
    assert.deepEqual(tableCells('| `a \\| b` | c |'), ['`a \\| b`', 'c']);
    assert.deepEqual(check('| a | b |\n| - | - |\n| `x \\| y` | z |\n'), []);
  });

  test('tables that scroll sideways: many columns, or a cell too long to wrap', () => {
    const header = `| ${Array.from({ length: 11 }, (_, i) => `c${i}`).join(' | ')} |`;
    const delimiter = `|${' - |'.repeat(11)}`;
    assert.match(check(`${header}\n${delimiter}\n`).join('\n'), /a table of 11 columns \(at most 4\)/);
    const long = `| a | b |\n| - | - |\n| 1 | ${'x'.repeat(900)} |\n`;
    assert.match(check(long).join('\n'), /a table cell of 900 characters/);
  });

  test('images the .vsix does not carry, and images that do not exist', () => {
    const page = '![Host picker](media/screenshots/host-picker.png)\n\n![Gone](media/nothing.png)\n';
    const problems = check(page);
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /host-picker\.png is not in the \.vsix/);
    assert.match(problems[1] ?? '', /media\/nothing\.png does not exist/);
    assert.deepEqual(
      check('![Host picker](media/screenshots/host-picker.png)\n', ['media/screenshots/host-picker.png']),
      [],
    );
    assert.match(check('<img src="http://example.com/a.png">\n').join('\n'), /must come from https/);
  });

  test('links to missing files or headings', () => {
    assert.match(check('[x](docs/none.md)\n').join('\n'), /docs\/none\.md does not exist/);
    assert.match(check('[x](#no-such-heading)\n').join('\n'), /no heading with the anchor #no-such-heading/);
    assert.deepEqual(check('# A title: with `code`\n\n[x](#a-title-with-code)\n'), []);
    assert.ok(headingAnchors('## Try it: the demo\n').has('try-it-the-demo'));
  });
});

describe('package manifest for the Marketplace', () => {
  test('a repository, keywords and categories', () => {
    assert.match(manifest.repository?.url ?? '', /^https:\/\//);
    assert.ok((manifest.keywords ?? []).length > 0);
    assert.ok((manifest.categories ?? []).length > 0);
  });

  test('a setting whose description names a scope names the one it has', () => {
    for (const [name, schema] of Object.entries(manifest.contributes.configuration.properties)) {
      const description = (schema.markdownDescription ?? '').replace(
        /^%(.+)%$/,
        (_, key: string) => localised[key] ?? '',
      );
      const named = /\b(application|machine|window|resource|machine-overridable) scope\b/i.exec(description);
      if (named !== null) {
        assert.equal(named[1]?.toLowerCase(), schema.scope, `${name}: "${named[0]}" in its description`);
      }
    }
  });
});
