import type { Span } from '@opentelemetry/api';
import type { ClassifierOptions } from '../classification/classifier.js';
import { isKeyValueLedgerStore, isUnstorageLike, type RefreshLedgerStore } from '../refresh/ledger-store.js';
import type { SessionClaimStore } from '../affected/claim-store.js';

export type SpanHookInfo = Readonly<{
  /** Span name from the catalog, e.g. `auth.token.refresh`. */
  operation: string;
  outcome: string;
  userAgentClass: string;
}>;

export const SPAN_MODES = ['all', 'notable', 'none'] as const;
export type SpanMode = (typeof SPAN_MODES)[number];

export interface AuthTelemetryOptions extends ClassifierOptions {
  /** Distinct `http.route` templates kept on metrics before the rest become `other`. Default 50. */
  maxRoutes?: number;
  /**
   * Opt in to an HMAC-SHA-256 of the user id (`sub`), keyed by the salt, on spans as `user.hash`. The
   * salt must be a secret of at least 16 characters, so the hash cannot be reversed by hashing known ids.
   */
  hashUserId?: { salt: string };
  /**
   * Which operations get a span. `all` (default): every one. `notable`: token refreshes, auth
   * route handlers, and operations that fail or find an invalid cookie, plus any operation a
   * nested span needs as its parent; successful session reads, cached tokens, touches, passing
   * middleware runs and the routine "no session" failures of monitors, bots, command-line clients
   * and prefetches are then counted in metrics only. `none`: metrics only; `registerAuthTelemetry`
   * then installs no tracer provider either, so Next.js emits no spans. Metrics are the same in
   * every mode.
   */
  spans?: SpanMode;
  /** Called before each span ends; may add attributes. Exceptions are swallowed and counted. */
  spanHook?: (span: Span, info: SpanHookInfo) => void;
  /**
   * Lost-rotation and race detection keep salted fingerprints of refresh tokens already exchanged.
   * Default: in memory, 10,000 per process, random salt. A shared `store` (with a shared `salt`
   * of at least 16 characters) lets instances see each other's exchanges.
   */
  refreshTokenLedger?: RefreshTokenLedgerOptions;
  /**
   * Distinct affected sessions (`auth.sessions.affected`): each session counts once per outcome
   * and bucket (default 3600 s). Default: de-duplicated in memory per instance, 10,000 live keys,
   * random salt. A shared `store` with `claim(key, ttlSeconds)` (set-if-absent with a TTL, e.g.
   * Redis `SET NX EX`) and a shared `salt` make the count distinct across instances.
   */
  affectedSessions?: { store?: SessionClaimStore; capacity?: number; salt?: string; bucketSeconds?: number };
}

export type RefreshTokenLedgerOptions = {
  /** An unstorage `Storage` (Node and Edge: Redis, Upstash, Vercel KV, Cloudflare KV, HTTP) or `{ get, set(key, value, ttlSeconds) }`. */
  store?: RefreshLedgerStore;
  /** The HMAC key of the fingerprints: required with a `store`, the same secret on every instance, at least 16 characters. */
  salt?: string;
  /** Keys the in-memory store keeps before forgetting the oldest. Default 10,000. */
  capacity?: number;
  /** How long an exchanged token is remembered, in seconds. Default 7 days. */
  ttlSeconds?: number;
  /** An earlier exchange that ended at most this many seconds before a failed one makes it a race. Default 2. */
  raceWindowSeconds?: number;
  /** The longest a failed refresh's classification waits for the store, in milliseconds. Default 250. */
  readTimeoutMs?: number;
  /** Namespace of the store keys. Default `nextjs-auth-otel:rt`. */
  prefix?: string;
};

/** Thrown only at configuration time, never while recording. */
export class AuthTelemetryConfigError extends Error {
  override readonly name = 'AuthTelemetryConfigError';
}

export function validateOptions(options: AuthTelemetryOptions | undefined): AuthTelemetryOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new AuthTelemetryConfigError(`nextjs-auth-otel: options must be an object, got ${typeof options}.`);
  }
  const { maxRoutes, hashUserId, spanHook, monitorUserAgents, monitorHeaders } = options;
  if (maxRoutes !== undefined && !(Number.isInteger(maxRoutes) && maxRoutes >= 0 && maxRoutes <= 1000)) {
    throw new AuthTelemetryConfigError(`nextjs-auth-otel: maxRoutes must be an integer from 0 to 1000, got ${String(maxRoutes)}.`);
  }
  if (hashUserId !== undefined && (typeof hashUserId?.salt !== 'string' || hashUserId.salt.length < 16)) {
    throw new AuthTelemetryConfigError(
      'nextjs-auth-otel: hashUserId.salt must be a secret string of at least 16 characters (e.g. process.env.AUTH_TELEMETRY_SALT).',
    );
  }
  if (options.spans !== undefined && !SPAN_MODES.includes(options.spans)) {
    throw new AuthTelemetryConfigError(`nextjs-auth-otel: spans must be 'all', 'notable' or 'none', got ${JSON.stringify(options.spans)}.`);
  }
  if (spanHook !== undefined && typeof spanHook !== 'function') {
    throw new AuthTelemetryConfigError('nextjs-auth-otel: spanHook must be a function (span, info) => void.');
  }
  if (monitorUserAgents !== undefined && !Array.isArray(monitorUserAgents)) {
    throw new AuthTelemetryConfigError('nextjs-auth-otel: monitorUserAgents must be an array of strings or RegExps.');
  }
  if (monitorHeaders !== undefined && !Array.isArray(monitorHeaders)) {
    throw new AuthTelemetryConfigError('nextjs-auth-otel: monitorHeaders must be an array of { name, value? } rules.');
  }
  validateLedgerOptions(options.refreshTokenLedger);
  validateAffectedSessions(options.affectedSessions);
  return options;
}

function positiveNumber(value: unknown, name: string, unit: string, integer = false): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new AuthTelemetryConfigError(
      `nextjs-auth-otel: refreshTokenLedger.${name} must be a positive ${integer ? 'integer' : 'number'} (${unit}), got ${String(value)}.`,
    );
  }
}

function validateLedgerOptions(ledger: RefreshTokenLedgerOptions | undefined): void {
  if (ledger === undefined) return;
  if (typeof ledger !== 'object' || ledger === null) {
    throw new AuthTelemetryConfigError(
      'nextjs-auth-otel: refreshTokenLedger must be an object { store?, salt?, capacity?, ttlSeconds?, raceWindowSeconds?, readTimeoutMs? }.',
    );
  }
  positiveNumber(ledger.capacity, 'capacity', 'keys', true);
  positiveNumber(ledger.ttlSeconds, 'ttlSeconds', 'seconds', true);
  positiveNumber(ledger.raceWindowSeconds, 'raceWindowSeconds', 'seconds');
  positiveNumber(ledger.readTimeoutMs, 'readTimeoutMs', 'milliseconds');
  if (ledger.prefix !== undefined && (typeof ledger.prefix !== 'string' || ledger.prefix === '')) {
    throw new AuthTelemetryConfigError('nextjs-auth-otel: refreshTokenLedger.prefix must be a non-empty string.');
  }
  if (ledger.store !== undefined && !isUnstorageLike(ledger.store) && !isKeyValueLedgerStore(ledger.store)) {
    throw new AuthTelemetryConfigError(
      'nextjs-auth-otel: refreshTokenLedger.store must be an unstorage Storage (createStorage({ driver })) or an object with get(key) and set(key, value, ttlSeconds).',
    );
  }
  if (ledger.salt !== undefined && (typeof ledger.salt !== 'string' || ledger.salt.length < 16)) {
    throw new AuthTelemetryConfigError(
      'nextjs-auth-otel: refreshTokenLedger.salt must be a string of at least 16 characters, shared by every instance that shares the store.',
    );
  }
  if (ledger.store !== undefined && ledger.salt === undefined) {
    throw new AuthTelemetryConfigError(
      'nextjs-auth-otel: refreshTokenLedger.store is shared by instances, which must fingerprint tokens alike: set refreshTokenLedger.salt to the same secret of at least 16 characters on every instance (e.g. process.env.AUTH_TELEMETRY_LEDGER_SALT).',
    );
  }
}

function validateAffectedSessions(affected: AuthTelemetryOptions['affectedSessions']): void {
  if (affected === undefined) return;
  if (typeof affected !== 'object' || affected === null) {
    throw new AuthTelemetryConfigError('nextjs-auth-otel: affectedSessions must be an object { store?, capacity?, salt?, bucketSeconds? }.');
  }
  if (affected.store !== undefined && typeof affected.store?.claim !== 'function') {
    throw new AuthTelemetryConfigError('nextjs-auth-otel: affectedSessions.store must implement claim(key, ttlSeconds): Promise<boolean>.');
  }
  if (affected.capacity !== undefined && !(Number.isInteger(affected.capacity) && affected.capacity >= 1)) {
    throw new AuthTelemetryConfigError(`nextjs-auth-otel: affectedSessions.capacity must be a positive integer, got ${String(affected.capacity)}.`);
  }
  if (affected.bucketSeconds !== undefined && !(Number.isInteger(affected.bucketSeconds) && affected.bucketSeconds >= 60 && affected.bucketSeconds <= 86400)) {
    throw new AuthTelemetryConfigError(
      `nextjs-auth-otel: affectedSessions.bucketSeconds must be an integer from 60 to 86400, got ${String(affected.bucketSeconds)}.`,
    );
  }
  if (affected.salt !== undefined && (typeof affected.salt !== 'string' || affected.salt.length < 16)) {
    throw new AuthTelemetryConfigError(
      'nextjs-auth-otel: affectedSessions.salt must be a string of at least 16 characters, shared by every instance that shares the store.',
    );
  }
}
