import {
  compileNormalizedGlob,
  globSegments,
  globToExtendedRegExp,
  normalizeGlob,
  type GlobMatcher,
} from './glob';

/**
 * Exclude globs (VS Code's `files.watcherExclude`, relative to a watched folder, or absolute) as a tree
 * walk needs them: which entries to leave out, and which folders not to open at all because nothing
 * below them could be reported.
 *
 * VS Code's default watcher excludes (`**\/node_modules/*\/**`, `**\/.git/objects/**`) match what is
 * inside `node_modules/react` and `.git/objects`, not those folders: a walk that only skips excluded
 * entries still lists every package folder. A folder is pruned when a pattern's tail covers every
 * path below it (`/**`, `/**\/*`) and the rest of the pattern matches the folder.
 */
export interface ExcludeRules {
  /** The path is excluded: neither read nor reported. */
  readonly excludes: GlobMatcher;
  /** Every path below this folder is excluded: it need not be listed (the folder itself may not be). */
  readonly excludesAllBelow: GlobMatcher;
}

export function compileExcludeRules(patterns: readonly string[]): ExcludeRules {
  const globs = normalizedGlobs(patterns);
  const excluded = globs.map(compileNormalizedGlob);
  const pruned = subtreeFolderGlobs(globs).map(compileNormalizedGlob);
  return {
    excludes: (path) => excluded.some((matches) => matches(path)),
    excludesAllBelow: (folder) => pruned.some((matches) => matches(folder)),
  };
}

/**
 * Globs for the folders whose whole content the patterns exclude: `**\/node_modules/*\/**` gives
 * `**\/node_modules/*`, `**\/.git/objects/**` gives `**\/.git/objects`, `out/**\/*` gives `out`. A
 * tail of `**` segments, optionally ending in one `*`, matches any path of at least one segment;
 * `*\/**` needs two, so `a/*\/**` prunes `a/x`, not `a`.
 */
export function subtreeFolderGlobs(normalized: readonly string[]): string[] {
  return normalized.flatMap((glob) => {
    const segments = globSegments(glob);
    const folders: string[] = [];
    for (let cut = segments.length - 1; cut >= 0; cut--) {
      const tail = segments.slice(cut);
      if (!tail.every((segment) => segment === '**' || segment === '*')) {
        break;
      }
      const stars = tail.filter((segment) => segment === '*').length;
      if (tail.includes('**') && stars <= 1 && (stars === 0 || tail[tail.length - 1] === '*')) {
        folders.push(segments.slice(0, cut).join('/'));
      }
    }
    return folders;
  });
}

/**
 * One POSIX extended regular expression (for inotifywait's `--exclude`) matching the absolute path of
 * every excluded entry under `root` and of everything below a pruned folder (`root/node_modules/react/x`,
 * but not `root/node_modules/react` itself, whose creation and deletion are still reported). Patterns
 * the translation cannot express are left to the caller's own filter; undefined when none can be.
 */
export function excludedPathsRegExp(root: string, patterns: readonly string[]): string | undefined {
  const globs = normalizedGlobs(patterns);
  return anyOf([
    ...globs.map((glob) => underRoot(root, glob, '(/|$)')),
    ...subtreeFolderGlobs(globs).map((glob) => underRoot(root, glob, '/')),
  ]);
}

/**
 * The folders under `root` a recursive watch need not open, as one POSIX extended regular expression
 * for `find -regex` (which matches whole paths): the excluded ones and the pruned ones.
 */
export function unwatchedFoldersRegExp(root: string, patterns: readonly string[]): string | undefined {
  const globs = normalizedGlobs(patterns);
  return anyOf([...globs, ...subtreeFolderGlobs(globs)].map((glob) => underRoot(root, glob, '')));
}

/** The glob as an ERE for absolute paths: relative globs are taken below `root`. */
function underRoot(root: string, glob: string, suffix: string): string | undefined {
  if (glob === '') {
    return undefined; // the root itself: not something to leave out of its own watch
  }
  const expression = globToExtendedRegExp(glob);
  if (expression === undefined) {
    return undefined;
  }
  const base = glob.startsWith('/') || root === '/' ? '' : escapeExtended(root);
  return `${glob.startsWith('/') ? '' : `${base}/`}${expression}${suffix}`;
}

function anyOf(alternatives: ReadonlyArray<string | undefined>): string | undefined {
  const present = alternatives.filter((e): e is string => e !== undefined);
  return present.length === 0 ? undefined : `^(${present.join('|')})`;
}

function normalizedGlobs(patterns: readonly string[]): string[] {
  return patterns.filter((p) => p.trim() !== '').map(normalizeGlob);
}

function escapeExtended(text: string): string {
  return text.replace(/[.+^$()|\\*?[\]{}]/g, '\\$&');
}
