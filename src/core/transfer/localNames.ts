import { posix, win32 } from 'node:path';

import { RemoteFsError } from '../common/errors';

/** What this machine's file system allows in names (the server's rules are POSIX's). */
export interface LocalNameRules {
  /** Windows: no `\ : * ? " < > |` or control characters, no reserved device names, no trailing dot or space. */
  readonly windows: boolean;
  /** Names that differ only in case are one file (Windows, macOS by default). */
  readonly caseInsensitive: boolean;
}

export const POSIX_NAMES: LocalNameRules = { windows: false, caseInsensitive: false };

/** The rules of the machine this runs on. */
export function localNameRules(platform: NodeJS.Platform = process.platform): LocalNameRules {
  return { windows: platform === 'win32', caseInsensitive: platform === 'win32' || platform === 'darwin' };
}

const WINDOWS_FORBIDDEN = /[\\:*?"<>|\x00-\x1f]/;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])(\..*)?$/i;

/**
 * Why a name from the server cannot be created here as it is, or undefined when it can. A remote name
 * may hold any byte but `/` and NUL; on Windows `..\..\x` is a path, not a name, and `CON` a device.
 */
export function localNameProblem(name: string, rules: LocalNameRules): string | undefined {
  if (!rules.windows) {
    return undefined;
  }
  if (WINDOWS_FORBIDDEN.test(name)) {
    return 'contains a character Windows does not allow in names (\\ : * ? " < > | or a control character)';
  }
  if (WINDOWS_RESERVED.test(name)) {
    return 'is a device name on Windows';
  }
  if (/[. ]$/.test(name)) {
    return 'ends with a dot or a space, which Windows drops';
  }
  return undefined;
}

/**
 * Refuses, before anything is written, a download whose names cannot all be created here: names the
 * local system does not allow, and names in one folder that differ only in case where the local disk
 * does not tell them apart (one would overwrite the other). `relatives` are `/`-separated paths.
 */
export function checkLocalNames(relatives: readonly string[], rules: LocalNameRules): void {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const relative of relatives) {
    const parts = relative.split('/');
    parts.forEach((name, index) => {
      const problem = localNameProblem(name, rules);
      if (problem !== undefined) {
        problems.push(`"${parts.slice(0, index + 1).join('/')}" ${problem}`);
      }
    });
    if (rules.caseInsensitive) {
      const key = relative.toLowerCase();
      const other = seen.get(key);
      if (other !== undefined && other !== relative) {
        problems.push(
          `"${relative}" and "${other}" differ only in case, which this disk does not tell apart`,
        );
      }
      seen.set(key, relative);
    }
  }
  if (problems.length > 0) {
    const unique = [...new Set(problems)];
    const shown = unique.slice(0, 5).join('; ');
    const more = unique.length > 5 ? ` (and ${unique.length - 5} more)` : '';
    throw new RemoteFsError('EINVAL', `Nothing was downloaded: ${shown}${more}`);
  }
}

/** Throws unless `path` is `folder` or below it, by the local system's path rules. */
export function assertInside(folder: string, path: string, rules: LocalNameRules): void {
  const paths = rules.windows ? win32 : posix;
  const relative = paths.relative(paths.resolve(folder), paths.resolve(path));
  if (relative === '..' || relative.startsWith(`..${paths.sep}`) || paths.isAbsolute(relative)) {
    throw new RemoteFsError('EINVAL', `Refusing to write outside the chosen folder: ${path}`, { path });
  }
}
