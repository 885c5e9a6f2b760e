/**
 * The glob dialect of VS Code's settings (`files.exclude`, `files.watcherExclude`, `search.exclude`):
 * `*` and `?` within one path segment, `**` across segments, `{a,b}` alternatives, `[abc]` / `[!abc]`
 * classes. A pattern without a `/` matches a name anywhere, as VS Code treats `node_modules` like
 * `**\/node_modules`. Compiled once into a regular expression.
 */
export type GlobMatcher = (relativePath: string) => boolean;

export function compileGlob(pattern: string): GlobMatcher {
  let source = pattern.trim().replace(/^\.\//, '').replace(/\/+$/, '');
  if (!source.includes('/') && !source.startsWith('**')) {
    source = `**/${source}`;
  }
  const expression = new RegExp(`^${translate(source)}$`);
  return (relativePath) => expression.test(relativePath);
}

/** One matcher for many patterns; an empty list matches nothing. */
export function compileGlobs(patterns: readonly string[]): GlobMatcher {
  const matchers = patterns.filter((p) => p.trim() !== '').map(compileGlob);
  return (relativePath) => matchers.some((matches) => matches(relativePath));
}

function translate(glob: string): string {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole segments; a trailing `/**` matches everything below.
      const atStart = i === 0 || glob[i - 1] === '/';
      i++;
      if (atStart && glob[i + 1] === '/') {
        i++;
        out += '(?:[^/]*/)*';
      } else {
        out += '.*';
      }
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '{') {
      braceDepth++;
      out += '(?:';
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
      out += `[${negated ? '^/' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else {
      out += c.replace(/[.+^$()|\\/]/g, '\\$&');
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
