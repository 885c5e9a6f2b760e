import type { GitChange, StatusLetter } from './porcelainStatus';

/** The Source Control view's groups: Merge Changes (conflicts), Staged Changes, Changes. */
export type ChangeGroup = 'merge' | 'index' | 'workTree';

export interface ShownChange {
  readonly group: ChangeGroup;
  readonly change: GitChange;
  /** The letter shown next to the name, as VS Code's own Git shows it. */
  readonly letter: string;
  /** The state in words, for the tooltip. */
  readonly tooltip: string;
  /** The file is gone on this side (struck through; its diff has nothing on the right). */
  readonly deleted: boolean;
}

const LETTER_WORDS: Readonly<Record<StatusLetter, string>> = {
  '.': 'Unmodified',
  M: 'Modified',
  T: 'Type Changed',
  A: 'Added',
  D: 'Deleted',
  R: 'Renamed',
  C: 'Copied',
  U: 'Unmerged',
};

/** git's two-letter codes of an unmerged path (git-status(1), "Short Format"). */
const CONFLICT_WORDS: Readonly<Record<string, string>> = {
  DD: 'Conflict: Both Deleted',
  AU: 'Conflict: Added by Us',
  UD: 'Conflict: Deleted by Them',
  UA: 'Conflict: Added by Them',
  DU: 'Conflict: Deleted by Us',
  AA: 'Conflict: Both Added',
  UU: 'Conflict: Both Modified',
};

/**
 * Where a change shows: a conflict in Merge Changes; otherwise in Staged Changes when the index differs
 * from HEAD and in Changes when the work tree differs from the index (a file can be in both).
 */
export function groupChanges(changes: readonly GitChange[]): ShownChange[] {
  const shown: ShownChange[] = [];
  for (const change of changes) {
    if (change.kind === 'unmerged') {
      const code = `${change.index}${change.workTree}`;
      shown.push({
        group: 'merge',
        change,
        letter: '!',
        tooltip: CONFLICT_WORDS[code] ?? 'Conflict',
        deleted: false,
      });
    } else if (change.kind === 'untracked') {
      shown.push({ group: 'workTree', change, letter: 'U', tooltip: 'Untracked', deleted: false });
    } else {
      if (change.index !== '.' && change.index !== '?') {
        shown.push(side('index', change, change.index));
      }
      if (change.workTree !== '.' && change.workTree !== '?') {
        shown.push(side('workTree', change, change.workTree));
      }
    }
  }
  return shown;
}

function side(group: ChangeGroup, change: GitChange, letter: StatusLetter): ShownChange {
  const words = LETTER_WORDS[letter];
  const where = group === 'index' ? 'Index' : 'Working Tree';
  return {
    group,
    change,
    letter,
    tooltip:
      change.originalPath === undefined
        ? `${where} ${words}`
        : `${where} ${words} from ${change.originalPath}`,
    deleted: letter === 'D',
  };
}
