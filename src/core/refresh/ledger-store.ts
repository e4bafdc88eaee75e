/**
 * Where the refresh ledger keeps its records: the user's store behind one small interface. The
 * user's store is reached through the ecosystem's conventional shapes rather than one adapter per
 * client: an unstorage `Storage` (Redis, Upstash, Vercel KV, Cloudflare KV, an HTTP storage
 * server, …) or a plain `{ get, set }` object. Keys it sees are a prefix and a salted fingerprint;
 * values are small JSON records of timestamps.
 */

/** A value or its promise: the in-memory store answers synchronously, shared stores do not. */
export type MaybePromise<T> = T | Promise<T>;

/** The duck-typed part of an unstorage `Storage`: `ttl` in seconds, as its Redis, Upstash and KV drivers read it. */
export interface UnstorageLike {
  getItem(key: string): Promise<unknown>;
  setItem(key: string, value: string, options: { ttl: number }): Promise<unknown>;
}

/**
 * Any other key-value store. `ttlSeconds` is in seconds (Keyv takes milliseconds: multiply).
 * `setIfAbsent`, when the store has one (Redis `SET … NX EX`), makes `claim` atomic across instances.
 */
export interface KeyValueLedgerStore {
  get(key: string): MaybePromise<unknown>;
  set(key: string, value: string, ttlSeconds: number): MaybePromise<unknown>;
  setIfAbsent?(key: string, value: string, ttlSeconds: number): MaybePromise<boolean>;
}

/** What `refreshTokenLedger.store` accepts. */
export type RefreshLedgerStore = UnstorageLike | KeyValueLedgerStore;

/** The ledger's view of a store. Every key passed in is already a salted fingerprint. */
export interface LedgerStore {
  /** Whether other instances may share it: then the salt must be shared too, and reads wait at most the read timeout. */
  readonly shared: boolean;
  get(key: string): MaybePromise<unknown>;
  set(key: string, value: string, ttlSeconds: number): MaybePromise<void>;
  /**
   * True the first time `key` is claimed within `ttlSeconds`, false while an earlier claim lives.
   * Atomic in memory (one thread) and with a plain store that has `setIfAbsent`; with an
   * unstorage `Storage` (it has no set-if-absent) and a plain store without one it is a read then
   * a write: two instances claiming the same key within one store round trip may both get true.
   */
  claim(key: string, ttlSeconds: number): MaybePromise<boolean>;
}

export function isUnstorageLike(store: unknown): store is UnstorageLike {
  const candidate = store as Partial<UnstorageLike> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.getItem === 'function' && typeof candidate.setItem === 'function';
}

export function isKeyValueLedgerStore(store: unknown): store is KeyValueLedgerStore {
  const candidate = store as Partial<KeyValueLedgerStore> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.get === 'function' && typeof candidate.set === 'function';
}

const CLAIMED = '1';

/** Read-then-write claim, for stores with no set-if-absent. */
async function claimByReading(store: Pick<LedgerStore, 'get' | 'set'>, key: string, ttlSeconds: number): Promise<boolean> {
  const existing = await store.get(key);
  if (existing !== null && existing !== undefined) return false;
  await store.set(key, CLAIMED, ttlSeconds);
  return true;
}

class UnstorageLedgerStore implements LedgerStore {
  readonly shared = true;
  constructor(private readonly storage: UnstorageLike) {}

  get(key: string): Promise<unknown> {
    return this.storage.getItem(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.storage.setItem(key, value, { ttl: ttlSeconds });
  }

  claim(key: string, ttlSeconds: number): Promise<boolean> {
    return claimByReading(this, key, ttlSeconds);
  }
}

class KeyValueStoreAdapter implements LedgerStore {
  readonly shared = true;
  constructor(private readonly store: KeyValueLedgerStore) {}

  get(key: string): MaybePromise<unknown> {
    return this.store.get(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.store.set(key, value, ttlSeconds);
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.store.setIfAbsent !== undefined) return (await this.store.setIfAbsent(key, CLAIMED, ttlSeconds)) === true;
    return claimByReading(this, key, ttlSeconds);
  }
}

/** The ledger's view of a user store; unstorage's shape wins when an object has both. */
export function ledgerStoreFrom(store: RefreshLedgerStore): LedgerStore {
  return isUnstorageLike(store) ? new UnstorageLedgerStore(store) : new KeyValueStoreAdapter(store);
}
