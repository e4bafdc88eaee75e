import type { LedgerStore } from './ledger-store.js';

type Entry = { value: string; expiresAt: number };

/**
 * The default store: this process only, answering synchronously. Bounded: past `capacity` keys the
 * oldest written is forgotten first; entries also expire after their TTL.
 */
export class InMemoryLedgerStore implements LedgerStore {
  readonly shared = false;
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: string, ttlSeconds: number): void {
    // Re-inserted, so a rewritten key counts as the newest.
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  /** Atomic: nothing runs between the read and the write on one thread. */
  claim(key: string, ttlSeconds: number): boolean {
    if (this.get(key) !== undefined) return false;
    this.set(key, '1', ttlSeconds);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}
