import { errorMessage } from '../common/errors';
import { compileExcludeRules, excludedPathsRegExp, unwatchedFoldersRegExp } from '../common/excludeRules';
import type { Logger } from '../common/logger';
import { baseName, isSameOrInside, normalizeRemotePath } from '../common/remotePath';
import { isOwnTemporaryName } from '../fs/save/temporaries';
import { closeQuietly, forget, hasShell, posixCommand, runCommand, shellQuote } from '../ssh/remoteCommand';
import type { SshConnection } from '../ssh/sshConnection';
import { uniqueChanges, type ChangeKind, type RemoteChange, type WatchRequest } from './pollingWatcher';

/** Events of one short burst (a save is CREATE + MODIFY + MOVED_TO) go out as one batch. */
const BATCH_MS = 100;
/** How long inotifywait may take to set up its watches (a big tree takes a while). */
const SETUP_TIMEOUT_MS = 60_000;

/** Whether the server can run inotifywait for this account, and if not, why. */
export interface InotifyAvailability {
  /** Why it cannot (no shell, inotify-tools not installed), or undefined when it can. */
  readonly obstacle: string | undefined;
  /** The answer holds for the host (not a command that timed out): no need to ask it again. */
  readonly lasting: boolean;
}

const inotifyProbes = new WeakMap<SshConnection, Promise<InotifyAvailability>>();

/** Asked once per connection; an answer that did not come in time is not kept. */
export function inotifyAvailability(connection: SshConnection): Promise<InotifyAvailability> {
  let answer = inotifyProbes.get(connection);
  if (answer === undefined) {
    const passing = (obstacle: string): InotifyAvailability => {
      forget(inotifyProbes, connection, asked);
      return { obstacle, lasting: false };
    };
    const asked: Promise<InotifyAvailability> = hasShell(connection)
      .then(async (shell): Promise<InotifyAvailability> => {
        if (shell === undefined) {
          return passing('the server did not answer a command in time');
        }
        if (!shell) {
          return { obstacle: 'the account has no shell', lasting: true };
        }
        const result = await runCommand(connection, 'command -v inotifywait', { timeoutMs: 10_000 });
        if (result.stdout.toString('utf8').trim() !== '') {
          return { obstacle: undefined, lasting: true }; // the path it would run
        }
        if (result.stopped) {
          return passing('the server did not say in time whether it has inotifywait');
        }
        return {
          obstacle: `inotifywait is not installed (command -v inotifywait: exit ${result.exitCode ?? 'unknown'})`,
          lasting: true,
        };
      })
      .catch((error: unknown) => passing(`could not run a command: ${errorMessage(error)}`));
    answer = asked;
    inotifyProbes.set(connection, answer);
  }
  return answer;
}

/**
 * The server's inotify limits (`fs.inotify.max_user_watches`, `max_user_instances`), as inotifywait
 * reports reaching them: at the start, or for a folder created later.
 */
export function isInotifyLimit(message: string): boolean {
  return /upper limit on inotify (watches|instances) reached|No space left on device|Too many open files/i.test(
    message,
  );
}

export interface InotifyWatchHandle {
  dispose(): void;
}

/**
 * A watch served by `inotifywait -m` on the server, over an exec channel: changes arrive as they
 * happen instead of at the next poll. Resolves once inotifywait says its watches are established.
 * `onStop` is called if it ends on its own (connection lost, the server's inotify watch limit); the
 * caller then polls instead.
 */
export function startInotifyWatch(
  connection: SshConnection,
  rawPath: string,
  request: WatchRequest,
  logger: Logger,
  emit: (changes: RemoteChange[]) => void,
  onStop: (reason: string) => void,
): Promise<InotifyWatchHandle> {
  const path = normalizeRemotePath(rawPath);
  const excluded = compileExcludeRules(request.excludes).excludes;
  const command = posixCommand(inotifyScript(path, request));

  return connection.exec(command).then(
    (channel) =>
      new Promise<InotifyWatchHandle>((resolve, reject) => {
        let established = false;
        let disposed = false;
        let stderr = '';
        let pendingLine = '';
        let batch: RemoteChange[] = [];
        let batchTimer: NodeJS.Timeout | undefined;
        const flush = (): void => {
          batchTimer = undefined;
          const changes = uniqueChanges(batch);
          batch = [];
          if (changes.length > 0 && !disposed) {
            emit(changes);
          }
        };
        const setupTimer = setTimeout(() => {
          if (!established) {
            closeQuietly(channel);
          }
        }, SETUP_TIMEOUT_MS).unref();

        let limitReached: string | undefined;
        channel.stderr.on('data', (chunk: Buffer) => {
          const text = chunk.toString('utf8');
          stderr += text;
          if (established && limitReached === undefined && isInotifyLimit(text)) {
            // A folder created since could not be watched: its changes would go unseen. Polling takes over.
            limitReached = text.split('\n').find(isInotifyLimit)?.trim();
            closeQuietly(channel);
          }
          if (!established && stderr.includes('Watches established')) {
            established = true;
            clearTimeout(setupTimer);
            resolve({
              dispose: () => {
                disposed = true;
                channel.end(); // end of input: the watchdog stops inotifywait on the server
                closeQuietly(channel);
              },
            });
          }
        });
        channel.on('data', (chunk: Buffer) => {
          const lines = (pendingLine + chunk.toString('utf8')).split('\n');
          pendingLine = lines.pop() ?? '';
          for (const line of lines) {
            const change = parseEvent(line);
            // Our own saves' temporaries and backups come and go within a save: never a change to report.
            if (
              change === undefined ||
              !isSameOrInside(path, change.path) ||
              isOwnTemporaryName(baseName(change.path))
            ) {
              continue;
            }
            const relative = change.path.slice(path === '/' ? 1 : path.length + 1);
            if (change.path !== path && (excluded(relative) || excluded(change.path))) {
              continue;
            }
            batch.push(change);
            batchTimer ??= setTimeout(flush, BATCH_MS);
          }
        });
        channel.on('close', () => {
          clearTimeout(setupTimer);
          if (batchTimer !== undefined) {
            clearTimeout(batchTimer);
            flush();
          }
          // At the start, the line naming the limit comes before inotifywait's advice on raising it.
          const reason =
            limitReached ??
            lastLine(stderr.split('\n').filter(isInotifyLimit).join('\n')) ??
            lastLine(stderr) ??
            'inotifywait ended';
          if (!established) {
            reject(new Error(reason));
          } else if (!disposed) {
            logger.info(`inotifywait for ${path} stopped (${reason})`);
            onStop(reason);
          }
        });
        // Input stays open: closing it is how the watchdog on the server knows we are gone.
      }),
  );
}

const EVENT_KINDS: ReadonlyArray<[string, ChangeKind]> = [
  ['DELETE', 'deleted'],
  ['MOVED_FROM', 'deleted'],
  ['MOVE_SELF', 'deleted'],
  ['CREATE', 'created'],
  ['MOVED_TO', 'created'],
  ['MODIFY', 'changed'],
  ['ATTRIB', 'changed'],
];

function parseEvent(line: string): RemoteChange | undefined {
  const slash = line.indexOf('/');
  if (slash <= 0) {
    return undefined;
  }
  const events = line.slice(0, slash).split(',');
  const path = line.slice(slash).replace(/\/+$/, '') || '/';
  for (const [event, kind] of EVENT_KINDS) {
    if (events.includes(event) || events.includes(`${event}_SELF`)) {
      // A folder's own ATTRIB/MODIFY says nothing VS Code needs.
      if (kind === 'changed' && events.includes('ISDIR')) {
        return undefined;
      }
      return { kind, path };
    }
  }
  return undefined;
}

/**
 * The script run on the server. inotifywait's `--exclude` expression only filters events: a recursive
 * watch still puts a kernel watch on every folder, node_modules/* included. Folders it need not open
 * (excluded, or everything below them excluded) are therefore found first with `find`, pruned as they
 * are found, and passed as `@folder` exclusions in a `--fromfile` list. Where `find` lacks GNU's
 * `-regextype`, the list is empty and only events are filtered. The expression also keeps inotifywait
 * from watching such folders created later (inotify-tools 3.x filters their creation event before it
 * would add one; 4.x lets folder creations through and watches them: only their events are filtered).
 *
 * sshd does not stop a command whose channel closes, and inotifywait would only notice at its next
 * event. A watchdog ends it when our side of the channel closes (end of input); the shell ends with
 * it either way, which closes the channel. POSIX sh, whatever the account's login shell is; fd 3
 * keeps our input for the watchdog (a background job's own input is /dev/null).
 */
function inotifyScript(path: string, request: WatchRequest): string {
  const eventFilter = excludedPathsRegExp(path, request.excludes);
  const unwatched = request.recursive ? unwatchedFoldersRegExp(path, request.excludes) : undefined;
  const inotifywait = [
    'inotifywait -m',
    request.recursive ? '-r' : '',
    // %e has no '/', and %w%f is absolute: the first '/' separates them.
    "--format '%e%w%f'",
    '-e create -e modify -e attrib -e delete -e move -e delete_self -e move_self',
    eventFilter === undefined ? '' : `--exclude ${shellQuote(eventFilter)}`,
    unwatched === undefined ? '' : '--fromfile "$f"',
    '--',
    shellQuote(path),
  ]
    .filter((part) => part !== '')
    .join(' ');
  const unwatchedList =
    unwatched === undefined
      ? ''
      : // Lines not starting with '@' would be watched: a name with a newline must not make one.
        `f=$(mktemp) || exit 1; find ${shellQuote(path)} -mindepth 1 -regextype posix-extended -type d ` +
        `-regex ${shellQuote(unwatched)} -prune -printf '@%p\\n' 2>/dev/null | grep '^@' >"$f"; `;
  const cleanup = unwatched === undefined ? '' : '; rm -f "$f"';
  return `exec 3<&0; ${unwatchedList}${inotifywait} & p=$!; (cat <&3 >/dev/null; kill $p) >/dev/null 2>&1 & wait $p${cleanup}`;
}

function lastLine(text: string): string | undefined {
  return text
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .pop();
}
