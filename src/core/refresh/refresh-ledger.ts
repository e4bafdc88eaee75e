import type { ReuseKind } from '../telemetry/catalog.js';
import { saltedHmacSha256 } from '../telemetry/user-hash.js';
import type { LedgerStore, MaybePromise } from './ledger-store.js';
import { classifyReuse, parseRecord, serializeRecord, type EarlierExchanges, type ExchangeRecord } from './reuse.js';

/**
 * The ledger of refresh-token exchanges, for lost-rotation and race detection. A refresh that
 * presents a token already exchanged means either that two refreshes of one session ran at once
 * (a race) or that the rotated token never reached the cookie (next-auth #7558, a Server Component
 * that cannot write it). The store only ever sees salted fingerprints and timestamps.
 *
 * Never on the app's path: only refresh exchanges touch it, writes are fire-and-forget, and the one
 * read (classifying a failed refresh) delays only that refresh's telemetry, by at most the read
 * timeout. A store that fails or times out is counted under the `ledger` stage and skipped.
 */

export type RefreshLedgerSettings = {
  /** How long an exchanged fingerprint is remembered, in seconds. */
  ttlSeconds: number;
  /** An earlier exchange that ended this close before a failed one started makes it a race. */
  raceWindowMs: number;
  /** The longest a failed refresh's classification waits for a shared store. */
  readTimeoutMs: number;
  /** Namespace of every key in the store. */
  prefix: string;
};

export const DEFAULT_LEDGER_TTL_SECONDS = 7 * 24 * 3600;
export const DEFAULT_RACE_WINDOW_SECONDS = 2;
export const DEFAULT_READ_TIMEOUT_MS = 250;
export const DEFAULT_LEDGER_PREFIX = 'nextjs-auth-otel:rt';

/**
 * How long an "exchange started" marker lives: longer than any token-endpoint timeout, and the
 * minimum TTL Cloudflare KV accepts. An exchange that never reports its end is forgotten after it.
 */
const STARTED_MARKER_TTL_SECONDS = 60;
/** Writes not yet settled; past this a store that hangs costs no more memory: writes are dropped and counted. */
const MAX_PENDING_WRITES = 1000;
/** Tokens this process tracks exchanges of at once. */
const MAX_TRACKED_TOKENS = 10_000;

/** One exchange this process started, as the ledger tracks it until its records are written. */
export type Exchange = {
  readonly fingerprint: string;
  readonly id: string;
  readonly startedAt: number;
  endedAt?: number;
  ok?: boolean;
  unpersisted?: boolean;
};

type LocalExchange = ExchangeRecord & { id: string; ok?: boolean };

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, '0')).join('');
}

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

class LedgerTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Settles with `promise`, or rejects after `ms`; the timer never keeps a process alive. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LedgerTimeoutError(`refresh ledger store did not answer within ${ms} ms`)), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A random salt for a per-instance keyed hash (one nothing outside this process has to match). */
export function randomSalt(): string {
  return randomHex(16);
}

/**
 * Keyed by the salt so a fingerprint seen in a heap dump or a shared store cannot be matched to a
 * token without it. Truncated to 128 bits, still far from any chance collision.
 */
export class RefreshTokenFingerprinter {
  private readonly mac: (message: string) => string;
  constructor(salt: string = randomHex(16)) {
    this.mac = saltedHmacSha256(salt);
  }

  fingerprint(refreshToken: string): string {
    return this.mac(refreshToken).slice(0, 32);
  }
}

export class RefreshLedger {
  /** Exchanges of this process whose records are not yet known to be in the store, by fingerprint. */
  private readonly local = new Map<string, LocalExchange[]>();
  /** Each exchange's writes still under way. */
  private readonly pending = new WeakMap<Exchange, Promise<void>[]>();
  private pendingWrites = 0;
  /** Classifications waiting for the store. */
  private readonly classifying = new Set<Promise<unknown>>();

  constructor(
    readonly store: LedgerStore,
    private readonly fingerprinter: RefreshTokenFingerprinter,
    readonly settings: RefreshLedgerSettings,
    /** Counts and logs a store failure; never throws. */
    private readonly onStoreError: (error: unknown) => void,
  ) {}

  /** A refresh is about to present `refreshToken` (or did, at `startedAt`, epoch ms). */
  begin(refreshToken: string, startedAt: number): Exchange {
    const exchange: Exchange = { fingerprint: this.fingerprinter.fingerprint(refreshToken), id: randomHex(8), startedAt };
    this.track(exchange);
    if (this.store.shared) this.write(this.key('started', exchange.fingerprint), serializeRecord(exchange), STARTED_MARKER_TTL_SECONDS, exchange);
    return exchange;
  }

  /** The exchange succeeded: its token is now spent. */
  succeeded(exchange: Exchange, endedAt: number): void {
    exchange.endedAt = endedAt;
    exchange.ok = true;
    this.write(this.key('exchanged', exchange.fingerprint), serializeRecord(exchange), this.settings.ttlSeconds, exchange);
    if (this.store.shared) this.write(this.key('started', exchange.fingerprint), serializeRecord(exchange), STARTED_MARKER_TTL_SECONDS, exchange);
    this.untrackWhenWritten(exchange);
  }

  /** The exchange's new tokens did not reach the cookie: a later reuse of its token is a lost rotation at any distance. */
  unpersisted(exchange: Exchange): void {
    if (exchange.unpersisted === true) return;
    exchange.unpersisted = true;
    // Before it ended, `succeeded` writes the mark with the record.
    if (exchange.ok === true) this.write(this.key('exchanged', exchange.fingerprint), serializeRecord(exchange), this.settings.ttlSeconds, exchange);
  }

  /**
   * The exchange failed: was its token already exchanged, and how recently? Synchronous with the
   * in-memory store; with a shared one it waits at most the read timeout, then answers from what
   * this process knows.
   */
  failed(exchange: Exchange, endedAt: number): MaybePromise<ReuseKind | undefined> {
    exchange.endedAt = endedAt;
    exchange.ok = false;
    const local = this.local.get(exchange.fingerprint) ?? [];
    const classify = (found: Omit<EarlierExchanges, 'local'>) => classifyReuse(exchange, { ...found, local }, this.settings.raceWindowMs);
    if (!this.store.shared) {
      const kind = this.safeRead(() => classify({ exchanged: parseRecord(this.store.get(this.key('exchanged', exchange.fingerprint))) }));
      this.untrack(exchange);
      return kind ?? classify({});
    }
    const lookup = Promise.all([this.store.get(this.key('exchanged', exchange.fingerprint)), this.store.get(this.key('started', exchange.fingerprint))]);
    const answered = withTimeout(lookup, this.settings.readTimeoutMs).then(
      ([exchanged, started]) => classify({ exchanged: parseRecord(exchanged), started: parseRecord(started) }),
      (error: unknown) => {
        this.onStoreError(error);
        return classify({});
      },
    );
    const settled = answered.finally(() => {
      this.classifying.delete(settled);
      this.write(this.key('started', exchange.fingerprint), serializeRecord(exchange), STARTED_MARKER_TTL_SECONDS, exchange);
      this.untrackWhenWritten(exchange);
    });
    this.classifying.add(settled);
    return settled;
  }

  /**
   * True the first time `key` is claimed within `ttlSeconds`, for de-duplicating a count across
   * instances. The store sees only the key's salted fingerprint. How atomic it is depends on the
   * store: atomic in memory (one process) and with a plain store offering `setIfAbsent` (Redis
   * `SET NX EX`); with an unstorage `Storage`, which has no set-if-absent, or a plain store without
   * one, it is a read then a write, so two instances claiming one key within a store round trip
   * can both get true: such a count may exceed the truth by the number of concurrent claimers, never
   * fall below it. A failing or slow store answers true after the read timeout (counted under the
   * `ledger` stage): it over-counts rather than hides.
   */
  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    try {
      const claimed = this.store.claim(this.key('claimed', this.fingerprinter.fingerprint(key)), ttlSeconds);
      return isPromise(claimed) ? await withTimeout(claimed, this.settings.readTimeoutMs) : claimed;
    } catch (error) {
      this.onStoreError(error);
      return true;
    }
  }

  private key(kind: 'started' | 'exchanged' | 'claimed', fingerprint: string): string {
    return `${this.settings.prefix}:${kind}:${fingerprint}`;
  }

  private safeRead<T>(read: () => T): T | undefined {
    try {
      return read();
    } catch (error) {
      this.onStoreError(error);
      return undefined;
    }
  }

  /** Fire-and-forget: a failure is counted, a store that hangs is bounded by `MAX_PENDING_WRITES`. */
  private write(key: string, value: string, ttlSeconds: number, exchange: Exchange): void {
    if (this.pendingWrites >= MAX_PENDING_WRITES) {
      this.onStoreError(new Error(`refresh ledger store has ${MAX_PENDING_WRITES} writes pending; this one was dropped`));
      return;
    }
    let written: MaybePromise<void>;
    try {
      written = this.store.set(key, value, ttlSeconds);
    } catch (error) {
      this.onStoreError(error);
      return;
    }
    if (!isPromise(written)) return;
    this.pendingWrites++;
    const settled = written.then(
      () => undefined,
      (error: unknown) => this.onStoreError(error),
    );
    this.writesOf(exchange).push(settled.finally(() => this.pendingWrites--));
  }

  private writesOf(exchange: Exchange): Promise<void>[] {
    let writes = this.pending.get(exchange);
    if (writes === undefined) this.pending.set(exchange, (writes = []));
    return writes;
  }

  private track(exchange: Exchange): void {
    if (this.local.size >= MAX_TRACKED_TOKENS && !this.local.has(exchange.fingerprint)) {
      // Exchanges whose operation never ended must not pile up: the oldest token is forgotten.
      const oldest = this.local.keys().next().value;
      if (oldest !== undefined) this.local.delete(oldest);
    }
    const list = this.local.get(exchange.fingerprint);
    if (list === undefined) this.local.set(exchange.fingerprint, [exchange]);
    else list.push(exchange);
  }

  /** Forgotten locally once the store has its records (or failed to take them). */
  private untrackWhenWritten(exchange: Exchange): void {
    const writes = this.pending.get(exchange);
    if (writes === undefined || writes.length === 0) this.untrack(exchange);
    else void Promise.all(writes).then(() => this.untrack(exchange));
  }

  private untrack(exchange: Exchange): void {
    const list = this.local.get(exchange.fingerprint);
    if (list === undefined) return;
    const remaining = list.filter((e) => e !== exchange);
    if (remaining.length === 0) this.local.delete(exchange.fingerprint);
    else this.local.set(exchange.fingerprint, remaining);
  }

  /** Settles once every classification and write started so far has settled: for tests and a clean shutdown. */
  async flush(): Promise<void> {
    await Promise.all(this.classifying);
    while (this.pendingWrites > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
