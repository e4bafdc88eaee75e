import type { Span } from '@opentelemetry/api';
import type { ClassifierOptions } from '../classification/classifier.js';
import type { RefreshTokenLedger } from '../refresh/refresh-ledger.js';
import type { SessionClaimStore } from '../affected/claim-store.js';

export type SpanHookInfo = Readonly<{
  /** Span name from the catalog, e.g. `auth.token.refresh`. */
  operation: string;
  outcome: string;
  userAgentClass: string;
}>;

export const SPAN_MODES = ['all', 'notable'] as const;
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
   * nested span needs as its parent; successful session reads, cached tokens, touches and passing
   * middleware runs are then counted in metrics only. Metrics are the same either way.
   */
  spans?: SpanMode;
  /** Called before each span ends; may add attributes. Exceptions are swallowed and counted. */
  spanHook?: (span: Span, info: SpanHookInfo) => void;
  /**
   * Lost-rotation detection keeps salted fingerprints of refresh tokens already exchanged.
   * Default: in memory, 10,000 per process, random salt. A shared `store` (with a shared `salt`
   * of at least 16 characters) lets instances see each other's exchanges.
   */
  refreshTokenLedger?: { store?: RefreshTokenLedger; capacity?: number; salt?: string };
  /**
   * Distinct affected sessions (`auth.sessions.affected`): each session counts once per outcome
   * and bucket (default 3600 s). Default: de-duplicated in memory per instance, 10,000 live keys,
   * random salt. A shared `store` with `claim(key, ttlSeconds)` (set-if-absent with a TTL, e.g.
   * Redis `SET NX EX`) and a shared `salt` make the count distinct across instances.
   */
  affectedSessions?: { store?: SessionClaimStore; capacity?: number; salt?: string; bucketSeconds?: number };
}

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
    throw new AuthTelemetryConfigError(`nextjs-auth-otel: spans must be 'all' or 'notable', got ${JSON.stringify(options.spans)}.`);
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
  const ledger = options.refreshTokenLedger;
  if (ledger !== undefined) {
    if (typeof ledger !== 'object' || ledger === null) {
      throw new AuthTelemetryConfigError('nextjs-auth-otel: refreshTokenLedger must be an object { store?, capacity?, salt? }.');
    }
    if (ledger.capacity !== undefined && !(Number.isInteger(ledger.capacity) && ledger.capacity >= 1)) {
      throw new AuthTelemetryConfigError(`nextjs-auth-otel: refreshTokenLedger.capacity must be a positive integer, got ${String(ledger.capacity)}.`);
    }
    if (ledger.store !== undefined && (typeof ledger.store.has !== 'function' || typeof ledger.store.add !== 'function')) {
      throw new AuthTelemetryConfigError('nextjs-auth-otel: refreshTokenLedger.store must implement has(fingerprint) and add(fingerprint).');
    }
    if (ledger.salt !== undefined && (typeof ledger.salt !== 'string' || ledger.salt.length < 16)) {
      throw new AuthTelemetryConfigError(
        'nextjs-auth-otel: refreshTokenLedger.salt must be a string of at least 16 characters, shared by every instance that shares the store.',
      );
    }
  }
  validateAffectedSessions(options.affectedSessions);
  return options;
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
