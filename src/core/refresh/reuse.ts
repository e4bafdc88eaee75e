/**
 * Telling a race from a lost rotation. Both end in the same `invalid_grant` on a refresh that
 * presents a refresh token already exchanged; what differs is when the earlier exchange happened.
 * A race (two tabs, middleware and a render refreshing at once) is fixed by de-duplication or the
 * IdP's reuse window; a lost rotation by the cookie-writing path. Times are epoch milliseconds.
 */
import type { ReuseKind } from '../telemetry/catalog.js';

/** One refresh-token exchange: who, and when it started and ended. */
export type ExchangeRecord = {
  id?: string;
  startedAt: number;
  endedAt?: number;
  /** Its new tokens are known not to have reached the cookie (refreshed in a read-only Server Component). */
  unpersisted?: boolean;
};

/** What the ledger knows about earlier exchanges of the token a failed refresh presented. */
export type EarlierExchanges = {
  /** The last successful exchange of it (from the store). */
  exchanged?: ExchangeRecord;
  /** The last exchange that announced itself as started (a shared store's in-flight marker). */
  started?: ExchangeRecord;
  /** Exchanges of it this process still tracks. */
  local: readonly (ExchangeRecord & { ok?: boolean })[];
};

/**
 * `race` when an earlier exchange of the same token was still in flight, or succeeded no more than
 * `raceWindowMs` before this one started; `lost_rotation` when it succeeded longer ago, or at any
 * time when its tokens are known not to have been stored; undefined when no earlier exchange is
 * known (an ordinary failure: expired, revoked, never exchanged).
 */
export function classifyReuse(own: ExchangeRecord & { id: string }, earlier: EarlierExchanges, raceWindowMs: number): ReuseKind | undefined {
  const isEarlier = (other: ExchangeRecord) => other.id !== own.id && other.startedAt <= own.startedAt;
  for (const other of earlier.local) {
    if (!isEarlier(other)) continue;
    if (other.endedAt === undefined) return 'race';
    if (other.ok === true) return afterSuccess(own, other as ExchangeRecord & { endedAt: number }, raceWindowMs);
  }
  const exchanged = earlier.exchanged;
  if (exchanged?.endedAt !== undefined) return afterSuccess(own, exchanged as ExchangeRecord & { endedAt: number }, raceWindowMs);
  const started = earlier.started;
  if (started !== undefined && started.endedAt === undefined && isEarlier(started)) return 'race';
  return undefined;
}

function afterSuccess(own: ExchangeRecord, success: ExchangeRecord & { endedAt: number }, raceWindowMs: number): ReuseKind {
  if (success.unpersisted === true) return 'lost_rotation';
  return own.startedAt <= success.endedAt + raceWindowMs ? 'race' : 'lost_rotation';
}

/** A stored record, written by this package as JSON; anything else (a foreign or corrupted value) reads as absent. */
export function parseRecord(value: unknown): ExchangeRecord | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { id, s, e, u } = parsed as { id?: unknown; s?: unknown; e?: unknown; u?: unknown };
  if (typeof s !== 'number' || !Number.isFinite(s)) return undefined;
  return {
    id: typeof id === 'string' ? id : undefined,
    startedAt: s,
    endedAt: typeof e === 'number' && Number.isFinite(e) ? e : undefined,
    unpersisted: u === 1 ? true : undefined,
  };
}

/** The compact stored form of a record. */
export function serializeRecord(record: ExchangeRecord): string {
  return JSON.stringify({ id: record.id, s: record.startedAt, e: record.endedAt, u: record.unpersisted === true ? 1 : undefined });
}
