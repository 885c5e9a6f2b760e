import type { Attributes } from 'ssh2';

import { isSameOrInside } from '../common/remotePath';

/** What is known about a path: its own (lstat) attributes and, for a link, its target's. */
export interface KnownAttributes {
  readonly own: Attributes;
  /** For a link: the target's attributes, or null for a broken link. Absent for other entries. */
  readonly target?: Attributes | null;
  /** Hard links, when a listing's long name told. */
  readonly links?: number;
}

/**
 * Attributes seen moments ago, so the calls VS Code makes in bursts (a stat right before and after a
 * save, a stat per child right after a listing) cost no round trip. Entries live briefly (changes made
 * on the server show up on the next call after that), and every change we make ourselves drops the
 * entries it affects at once, so our own writes are never answered from stale attributes.
 */
export class AttributeCache {
  private readonly entries = new Map<string, { value: KnownAttributes; at: number }>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many entries are held, expired ones included until something drops them. */
  get size(): number {
    return this.entries.size;
  }

  get(path: string): KnownAttributes | undefined {
    const entry = this.entries.get(path);
    if (entry === undefined) {
      return undefined;
    }
    if (this.now() - entry.at > this.lifetimeMs) {
      this.entries.delete(path);
      return undefined;
    }
    return entry.value;
  }

  set(path: string, value: KnownAttributes): void {
    if (this.lifetimeMs <= 0) {
      return;
    }
    if (this.entries.size > 50_000) {
      this.entries.clear(); // bounded memory: a huge listing must not pin everything
    }
    this.entries.set(path, { value, at: this.now() });
  }

  forget(path: string): void {
    this.entries.delete(path);
  }

  /**
   * Forgets `path` and everything below it (a folder that was removed, moved or replaced). This looks
   * at every entry, so expired ones are dropped on the way: the cache then holds about one lifetime's
   * worth of entries instead of everything ever listed.
   */
  forgetTree(path: string): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.at > this.lifetimeMs || isSameOrInside(path, key)) {
        this.entries.delete(key); // deleting while iterating a Map is safe
      }
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
