import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, posix } from 'node:path';

/**
 * Checks a Markdown page the way its readers get it: rendered by the markdown-it that vsce renders
 * READMEs with (the one @vscode/vsce itself resolves, html on, as in vsce's MarkdownProcessor), on the
 * Marketplace, Open VSX and the installed extension's Details page.
 *
 * Problems found:
 *   - a table row with more or fewer cells than its header (markdown-it pads or drops them silently);
 *   - rows that render as a paragraph of `|` text: a table interrupted by a blank line, or rows
 *     without a delimiter row;
 *   - with `wide` limits: tables that scroll sideways (too many columns, or a cell too long to wrap
 *     into a readable column);
 *   - a relative image or link to a file that does not exist, or a `#fragment` naming no heading;
 *   - with `packaged`: a relative image the .vsix does not carry (it is broken on the Details page);
 *   - an image from plain http, which the Marketplace and vsce refuse.
 */
/** The README's tables stay narrow enough to read on the Marketplace and the Details page. */
export const README_TABLE_LIMITS = { maxColumns: 4, maxCellLength: 160 } as const;

/** The repository root, from out/test/support or test/support alike. */
export const REPOSITORY_ROOT = join(__dirname, __dirname.includes('/out/') ? '../../..' : '../..');

export interface MarkdownCheckOptions {
  /** Repository-relative path of the page, e.g. `README.md` or `docs/testing.md`. */
  readonly page: string;
  /** The repository root, against which relative links are resolved. */
  readonly root: string;
  /** Files in the .vsix, repository-relative with `/` (from vsce's listFiles); omitted: not checked. */
  readonly packaged?: ReadonlySet<string>;
  /** Limits that keep tables from scrolling sideways; omitted: not checked. */
  readonly wide?: { readonly maxColumns: number; readonly maxCellLength: number };
}

interface Token {
  readonly type: string;
  readonly tag: string;
  readonly map: [number, number] | null;
  readonly content: string;
  readonly children: Token[] | null;
  attrGet(name: string): string | null;
}

interface MarkdownIt {
  parse(source: string, env: object): Token[];
  render(source: string): string;
}

/** The markdown-it instance vsce renders with, resolved from vsce's own folder. */
export function vsceMarkdown(): MarkdownIt {
  const fromVsce = createRequire(require.resolve('@vscode/vsce'));
  const create = fromVsce('markdown-it') as (options: { html: boolean }) => MarkdownIt;
  return create({ html: true });
}

/** GFM table cells of one source line: split on pipes not escaped with a backslash. */
export function tableCells(line: string): string[] {
  let row = line.trim();
  if (row.startsWith('|')) {
    row = row.slice(1);
  }
  if (row.endsWith('|') && !row.endsWith('\\|')) {
    row = row.slice(0, -1);
  }
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown page's headings, with GitHub's -1, -2 suffixes for repeats. */
export function headingAnchors(source: string): Set<string> {
  const tokens = vsceMarkdown().parse(source, {});
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  tokens.forEach((token, index) => {
    if (token.type !== 'heading_open') {
      return;
    }
    const inline = tokens[index + 1];
    const text = (inline?.children ?? [])
      .filter((child) => child.type === 'text' || child.type === 'code_inline')
      .map((child) => child.content)
      .join('');
    const slug = headingSlug(text);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  });
  return anchors;
}

/** Every problem of a page, each naming its line (1-based); empty when the page is fine. */
export function checkMarkdown(source: string, options: MarkdownCheckOptions): string[] {
  const problems: string[] = [];
  const lines = source.split('\n');
  const tokens = vsceMarkdown().parse(source, {});
  const at = (line: number): string => `${options.page}:${line + 1}`;

  for (const token of tokens) {
    if (token.type === 'table_open' && token.map !== null) {
      const [start, end] = token.map;
      const header = tableCells(lines[start] ?? '');
      for (let line = start + 1; line < end; line++) {
        const cells = tableCells(lines[line] ?? '');
        if (cells.length !== header.length) {
          problems.push(
            `${at(line)}: table row has ${cells.length} cells, its header ${header.length}: ${lines[line]?.slice(0, 60)}`,
          );
        }
        if (options.wide !== undefined) {
          const long = cells.find((cell) => cell.length > options.wide!.maxCellLength);
          if (long !== undefined) {
            problems.push(
              `${at(line)}: a table cell of ${long.length} characters (at most ${options.wide.maxCellLength}) scrolls sideways; make it prose or a list`,
            );
          }
        }
      }
      if (options.wide !== undefined && header.length > options.wide.maxColumns) {
        problems.push(
          `${at(start)}: a table of ${header.length} columns (at most ${options.wide.maxColumns}) scrolls sideways`,
        );
      }
    }
    if (token.type === 'paragraph_open' && token.map !== null) {
      const first = lines[token.map[0]]?.trim() ?? '';
      if (first.startsWith('|') && tableCells(first).length > 1) {
        problems.push(
          `${at(token.map[0])}: renders as raw "|" text, not a table (a table cut by a blank line, or rows without a header and delimiter row)`,
        );
      }
    }
  }

  for (const { kind, target, line } of references(tokens)) {
    const where = line === undefined ? options.page : at(line);
    if (/^http:\/\//i.test(target) && kind === 'image') {
      problems.push(`${where}: image ${target} must come from https`);
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      continue; // absolute: https, mailto, command
    }
    const [path = '', fragment] = target.split('#', 2);
    const file = path === '' ? options.page : posix.normalize(posix.join(posix.dirname(options.page), path));
    if (file.startsWith('../')) {
      problems.push(`${where}: ${kind} ${target} leaves the repository`);
      continue;
    }
    if (path !== '' && !existsSync(join(options.root, file))) {
      problems.push(`${where}: ${kind} ${target}: ${file} does not exist`);
      continue;
    }
    if (kind === 'image' && options.packaged !== undefined && !options.packaged.has(file)) {
      problems.push(
        `${where}: image ${target} is not in the .vsix (see .vscodeignore): the Details page shows it broken`,
      );
    }
    if (fragment !== undefined && fragment !== '' && file.endsWith('.md')) {
      const anchors = headingAnchors(path === '' ? source : readFileSync(join(options.root, file), 'utf8'));
      if (!anchors.has(fragment)) {
        problems.push(`${where}: link ${target}: ${file} has no heading with the anchor #${fragment}`);
      }
    }
  }
  return problems;
}

interface Reference {
  readonly kind: 'image' | 'link';
  readonly target: string;
  /** 0-based source line of the block it is in. */
  readonly line: number | undefined;
}

/** Images and links of a parsed page, from Markdown and from inline or block HTML (`<img src>`). */
function references(tokens: Token[]): Reference[] {
  const found: Reference[] = [];
  const fromHtml = (html: string, line: number | undefined): void => {
    for (const match of html.matchAll(/<img\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)) {
      found.push({ kind: 'image', target: match[1] ?? '', line });
    }
  };
  for (const token of tokens) {
    const line = token.map?.[0];
    if (token.type === 'html_block') {
      fromHtml(token.content, line);
    }
    for (const child of token.children ?? []) {
      if (child.type === 'image') {
        found.push({ kind: 'image', target: decodeURI(child.attrGet('src') ?? ''), line });
      } else if (child.type === 'link_open') {
        found.push({ kind: 'link', target: decodeURI(child.attrGet('href') ?? ''), line });
      } else if (child.type === 'html_inline') {
        fromHtml(child.content, line);
      }
    }
  }
  return found;
}

/** `node out/test/support/markdownCheck.js <file> [page]`: the README rules on any file, e.g. an old README. */
if (require.main === module) {
  const [file, page = 'README.md'] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: node out/test/support/markdownCheck.js <file> [page]');
    process.exit(2);
  }
  const root = REPOSITORY_ROOT;
  void import('@vscode/vsce').then(async ({ listFiles, PackageManager }) => {
    const packaged = new Set(await listFiles({ cwd: root, packageManager: PackageManager.None }));
    const problems = checkMarkdown(readFileSync(file, 'utf8'), {
      page,
      root,
      packaged,
      wide: README_TABLE_LIMITS,
    });
    console.log(problems.length === 0 ? 'no problems' : problems.join('\n'));
    process.exit(problems.length === 0 ? 0 : 1);
  });
}
