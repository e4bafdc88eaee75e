/**
 * De-duplication for "distinct sessions affected": a key is claimed once per time-to-live. The
 * default store is per instance and bounded; a shared store (Redis, a KV) with the same method
 * makes the count distinct across instances.
 */

/**
 * Resolves `true` the first time `key` is claimed within `ttlSeconds`, `false` while an earlier
 * claim of it is still alive: an atomic set-if-absent with a time-to-live (`SET key 1 NX EX ttl`).
 * Keys are keyed hashes; nothing identifying reaches the store.
 */
export interface SessionClaimStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
}

/**
 * In memory, at most `capacity` keys. When full, the oldest claims go first (expired ones among
 * them): a live session forgotten that way can count a second time in its bucket (an overcount,
 * never an undercount).
 */
export class InMemorySessionClaimStore implements SessionClaimStore {
  private readonly expiries = new Map<string, number>();
  constructor(private readonly capacity = 10_000) {}

  claim(key: string, ttlSeconds: number): Promise<boolean> {
    const now = Date.now();
    const expiresAt = this.expiries.get(key);
    if (expiresAt !== undefined && expiresAt > now) return Promise.resolve(false);
    this.expiries.delete(key);
    if (this.expiries.size >= this.capacity) this.evict(now);
    this.expiries.set(key, now + ttlSeconds * 1000);
    return Promise.resolve(true);
  }

  /**
   * From the oldest claim on: expired ones, and live ones while still full. Claims of one bucket
   * share its end, so insertion order is nearly expiry order and this stops after a few entries.
   */
  private evict(now: number): void {
    for (const [key, expiresAt] of this.expiries) {
      if (this.expiries.size < this.capacity && expiresAt > now) break;
      this.expiries.delete(key);
    }
  }

  get size(): number {
    return this.expiries.size;
  }
}
