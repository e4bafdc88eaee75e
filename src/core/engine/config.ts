import type { Span } from '@opentelemetry/api';
import type { ClassifierOptions } from '../classification/classifier.js';
import type { RefreshTokenLedger } from '../refresh/refresh-ledger.js';

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
   * Lost-rotation detection keeps salted fingerprints of refresh tokens already exchanged.
   * Default: in memory, 10,000 per process, random salt. A shared `store` (with a shared `salt`
   * of at least 16 characters) lets instances see each other's exchanges.
   */
  refreshTokenLedger?: { store?: RefreshTokenLedger; capacity?: number; salt?: string };
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
  return options;
}
