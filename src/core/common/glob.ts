/**
 * The glob dialect of VS Code's settings (`files.exclude`, `files.watcherExclude`, `search.exclude`):
 * `*` and `?` within one path segment, `**` across segments, `{a,b}` alternatives, `[abc]` / `[!abc]`
 * classes. A pattern without a `/` matches a name anywhere, as VS Code treats `node_modules` like
 * `**\/node_modules`. Compiled once into a regular expression.
 */
export type GlobMatcher = (relativePath: string) => boolean;

export function compileGlob(pattern: string): GlobMatcher {
  return compileNormalizedGlob(normalizeGlob(pattern));
}

/** One matcher for many patterns; an empty list matches nothing. */
export function compileGlobs(patterns: readonly string[]): GlobMatcher {
  const matchers = patterns.filter((p) => p.trim() !== '').map(compileGlob);
  return (relativePath) => matchers.some((matches) => matches(relativePath));
}

/**
 * A pattern as it is matched: without `./` or trailing slashes, and with the `**\/` a pattern without
 * a `/` implies made explicit.
 */
export function normalizeGlob(pattern: string): string {
  const source = pattern.trim().replace(/^\.\//, '').replace(/\/+$/, '');
  return !source.includes('/') && !source.startsWith('**') ? `**/${source}` : source;
}

/** A normalized pattern (see normalizeGlob) compiled as it stands. */
export function compileNormalizedGlob(glob: string): GlobMatcher {
  const expression = new RegExp(`^${translate(glob, 'javascript') as string}$`);
  return (relativePath) => expression.test(relativePath);
}

/**
 * A normalized pattern as a POSIX extended regular expression (unanchored), for tools on the server
 * (`inotifywait --exclude`, `find -regex`); undefined for a class the translation does not cover.
 */
export function globToExtendedRegExp(glob: string): string | undefined {
  return translate(glob, 'posix');
}

/**
 * The pattern's path segments, split at the slashes outside `{}` and `[]` (a slash inside an
 * alternative belongs to it).
 */
export function globSegments(glob: string): string[] {
  const segments: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '{') {
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      i = close === -1 ? i : close;
    } else if (c === '/' && depth === 0) {
      segments.push(glob.slice(start, i));
      start = i + 1;
    }
  }
  segments.push(glob.slice(start));
  return segments;
}

type Flavour = 'javascript' | 'posix';

/** Characters with a meaning in each flavour's expressions, escaped when a pattern has them literally. */
const SPECIAL: Record<Flavour, RegExp> = {
  javascript: /[.+^$()|\\/]/g,
  posix: /[.+^$()|\\*?[\]{}]/g,
};

/** A literal `/` as each flavour writes it. */
const ESCAPED_SLASH: Record<Flavour, string> = { javascript: '\\/', posix: '/' };

function translate(glob: string, flavour: Flavour): string | undefined {
  const group = flavour === 'javascript' ? '(?:' : '(';
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole segments. A trailing `/**` matches everything below and, as
      // in VS Code, the folder itself: `**\/node_modules/*\/**` matches `node_modules/react`.
      const atStart = i === 0 || glob[i - 1] === '/';
      i++;
      if (atStart && glob[i + 1] === '/') {
        i++;
        out += `${group}[^/]*/)*`;
      } else if (i === glob.length - 1 && out.endsWith(ESCAPED_SLASH[flavour])) {
        out = `${out.slice(0, -ESCAPED_SLASH[flavour].length)}${group}/.*)?`;
      } else {
        out += '.*';
      }
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '{') {
      braceDepth++;
      out += group;
    } else if (c === '}' && braceDepth > 0) {
      braceDepth--;
      out += ')';
    } else if (c === ',' && braceDepth > 0) {
      out += '|';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) {
        body = body.slice(1);
      }
      if (flavour === 'posix' && /[\\\][^]/.test(body)) {
        return undefined; // a bracket expression reads these differently
      }
      out += `[${negated ? '^/' : ''}${flavour === 'javascript' ? body.replace(/[\\\]]/g, '\\$&') : body}]`;
      i = close;
    } else {
      out += c.replace(SPECIAL[flavour], '\\$&');
    }
  }
  return out;
}

/**
 * The plain folder names among exclude globs that name a folder anywhere (`node_modules`,
 * `**\/.git`, `**\/dist/**`), for tools on the server that skip folders by name (`grep
 * --exclude-dir`, `find -prune`, `inotifywait --exclude`). Other globs are applied to results instead.
 */
export function excludedFolderNames(excludes: readonly string[]): string[] {
  return excludes.flatMap((glob) => {
    const name = glob
      .trim()
      .replace(/^\*\*\//, '')
      .replace(/\/\*\*$/, '');
    return /^[^/*?[\]{}]+$/.test(name) ? [name] : [];
  });
}
