import type { Classification } from './results.js';

/**
 * A bounded, approximately-LRU memo of user-agent classifications in two generations (the
 * quick-lru scheme): a hit in `young` is one `Map.get`; a hit in `old` moves the entry to `young`;
 * when `young` is full it becomes `old` and the previous `old` is dropped. Entries used within the
 * last generation survive, and `size() <= capacity` always holds. Capacity 0 memoises nothing.
 */
export class UserAgentMemo {
  private young = new Map<string, Classification>();
  private old = new Map<string, Classification>();
  private readonly generation: number;

  constructor(private readonly capacity: number) {
    this.generation = Math.max(1, Math.floor(capacity / 2));
  }

  /** The memoised classification of `ua`, else `compute(ua)`, memoised. */
  get(ua: string, compute: (ua: string) => Classification): Classification {
    if (this.capacity === 0) return compute(ua);
    const hit = this.young.get(ua);
    if (hit !== undefined) return hit;
    const aged = this.old.get(ua);
    if (aged !== undefined) {
      this.old.delete(ua);
      this.remember(ua, aged);
      return aged;
    }
    const value = compute(ua);
    this.remember(ua, value);
    return value;
  }

  size(): number {
    return this.young.size + this.old.size;
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }

  private remember(ua: string, value: Classification): void {
    if (this.young.size >= this.generation) {
      this.old = this.capacity >= 2 ? this.young : new Map();
      this.young = new Map();
    }
    this.young.set(ua, value);
  }
}
