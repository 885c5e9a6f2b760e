import type { Attributes } from 'ssh2';

import { isSameOrInside } from '../common/remotePath';

/** What is known about a path: its own (lstat) attributes and, for a link, its target's. */
export interface KnownAttributes {
  readonly own: Attributes;
  /** For a link: the target's attributes, or null for a broken link. Absent for other entries. */
  readonly target?: Attributes | null;
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

  /** Forgets `path` and everything below it (a folder that was removed, moved or replaced). */
  forgetTree(path: string): void {
    for (const key of [...this.entries.keys()]) {
      if (isSameOrInside(path, key)) {
        this.entries.delete(key);
      }
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
