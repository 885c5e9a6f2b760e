import { isRemoteFsError, throwIfCancelled } from '../common/errors';
import { baseName, joinRemote } from '../common/remotePath';
import type { RemoteFileSystem } from '../fs/remoteFileSystem';
import { walkTree, walkingListedChildren } from '../fs/treeWalker';
import { assertInside, checkLocalNames, type LocalNameRules } from './localNames';

/** This machine's side of a transfer (node:fs in tests, vscode.workspace.fs in the editor). */
export interface LocalSide {
  /** undefined when nothing is there. */
  kindOf(path: string): Promise<'file' | 'directory' | 'other' | undefined>;
  list(path: string): Promise<Array<{ name: string; kind: 'file' | 'directory' | 'other' }>>;
  size(path: string): Promise<number>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, content: Uint8Array): Promise<void>;
  createDirectory(path: string): Promise<void>;
  join(folder: string, relative: string): string;
  /** What names the local file system allows (a Windows disk takes fewer than a server). */
  readonly names: LocalNameRules;
}

export interface TransferProgress {
  /** The file about to be moved, relative to the item transferred ('' for a single file). */
  readonly file: string;
  readonly doneFiles: number;
  readonly totalFiles: number;
  readonly doneBytes: number;
  readonly totalBytes: number;
}

export interface TransferOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TransferProgress) => void;
}

interface PlannedFile {
  readonly relative: string;
  readonly size: number;
}

/** Folders (relative, parents first, '' for the root of a folder transfer) and files to move. */
interface Plan {
  readonly folders: string[];
  readonly files: PlannedFile[];
}

/**
 * Copies a remote file or folder to `localTarget` (created; a folder's content goes inside it). Links
 * to folders are not followed; other non-files are skipped. Cancelling stops between files and throws
 * ECANCELED; files already copied stay.
 */
export async function download(
  fs: RemoteFileSystem,
  remotePath: string,
  local: LocalSide,
  localTarget: string,
  options: TransferOptions = {},
): Promise<void> {
  const plan = await planRemote(fs, remotePath, options.signal);
  // Every name is checked before anything is written: a download is refused whole, not half done.
  checkLocalNames(
    [...plan.folders, ...plan.files.map((file) => file.relative)].filter((relative) => relative !== ''),
    local.names,
  );
  const localPathOf = (relative: string): string => {
    if (relative === '') {
      return localTarget;
    }
    const path = local.join(localTarget, relative);
    assertInside(localTarget, path, local.names);
    return path;
  };
  for (const folder of plan.folders) {
    await local.createDirectory(localPathOf(folder));
  }
  await moveFiles(plan.files, options, async (file) => {
    const content = await fs.readFile(
      file.relative === '' ? remotePath : joinRemote(remotePath, file.relative),
    );
    await local.writeFile(localPathOf(file.relative), content);
  });
}

/**
 * Where a download of `remotePath` into the local folder `localFolder` goes: under the remote name,
 * which must be one this machine allows (a Windows disk takes fewer names than a server) and must stay
 * inside the folder.
 */
export function localTargetFor(local: LocalSide, localFolder: string, remotePath: string): string {
  const name = baseName(remotePath);
  checkLocalNames([name], local.names);
  const target = local.join(localFolder, name);
  assertInside(localFolder, target, local.names);
  return target;
}

/** Copies a local file or folder to `remoteTarget`, each file with an atomic save; as `download`. */
export async function upload(
  local: LocalSide,
  localPath: string,
  fs: RemoteFileSystem,
  remoteTarget: string,
  options: TransferOptions = {},
): Promise<void> {
  const plan = await planLocal(local, localPath, options.signal);
  for (const folder of plan.folders) {
    try {
      await fs.createDirectory(folder === '' ? remoteTarget : joinRemote(remoteTarget, folder));
    } catch (error) {
      if (!isRemoteFsError(error, 'EEXIST')) {
        throw error;
      }
    }
  }
  await moveFiles(plan.files, options, async (file) => {
    const content = await local.readFile(
      file.relative === '' ? localPath : local.join(localPath, file.relative),
    );
    await fs.writeFile(
      file.relative === '' ? remoteTarget : joinRemote(remoteTarget, file.relative),
      content,
      {
        create: true,
        overwrite: true,
      },
    );
  });
}

async function moveFiles(
  files: readonly PlannedFile[],
  options: TransferOptions,
  move: (file: PlannedFile) => Promise<void>,
): Promise<void> {
  const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
  let doneBytes = 0;
  for (const [index, file] of files.entries()) {
    options.onProgress?.({
      file: file.relative,
      doneFiles: index,
      totalFiles: files.length,
      doneBytes,
      totalBytes,
    });
    throwIfCancelled(options.signal);
    await move(file);
    doneBytes += file.size;
  }
  options.onProgress?.({
    file: '',
    doneFiles: files.length,
    totalFiles: files.length,
    doneBytes,
    totalBytes,
  });
}

async function planRemote(
  fs: RemoteFileSystem,
  root: string,
  signal: AbortSignal | undefined,
): Promise<Plan> {
  const stat = await fs.stat(root);
  if (stat.type.kind !== 'directory') {
    return { folders: [], files: [{ relative: '', size: stat.size }] };
  }
  const plan: Plan = { folders: [''], files: [] };
  // The walker lists many folders at once, across levels: a round trip per 16 folders, not per folder.
  await walkTree(
    {
      root,
      list: walkingListedChildren((folder) => fs.list(folder)),
      ...(signal === undefined ? {} : { signal }),
    },
    (entry) => {
      if (entry.kind === 'directory') {
        plan.folders.push(entry.relative); // breadth-first: parents before their content
      } else if (entry.item.stat.type.kind === 'file') {
        plan.files.push({ relative: entry.relative, size: entry.item.stat.size });
      }
    },
  );
  plan.files.sort((a, b) => (a.relative < b.relative ? -1 : 1)); // by path, not level by level
  return plan;
}

async function planLocal(local: LocalSide, root: string, signal: AbortSignal | undefined): Promise<Plan> {
  if ((await local.kindOf(root)) !== 'directory') {
    return { folders: [], files: [{ relative: '', size: await local.size(root) }] };
  }
  const plan: Plan = { folders: [''], files: [] };
  for (let index = 0; index < plan.folders.length; index++) {
    throwIfCancelled(signal);
    const relative = plan.folders[index] as string;
    for (const { name, kind } of await local.list(relative === '' ? root : local.join(root, relative))) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (kind === 'directory') {
        plan.folders.push(path);
      } else if (kind === 'file') {
        plan.files.push({ relative: path, size: await local.size(local.join(root, path)) });
      }
    }
  }
  return plan;
}
