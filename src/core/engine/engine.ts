import { diag } from '@opentelemetry/api';
import type { InstrumentationStage } from '../telemetry/catalog.js';
import { createClassifier, type Classification } from '../classification/classifier.js';
import { RouteBound, bounded } from '../telemetry/bounded.js';
import { validateOptions, type AuthTelemetryOptions, type SpanMode } from './config.js';
import { Recorder } from '../telemetry/recorder.js';
import { currentRuntime } from './runtime.js';
import { UserHasher } from '../telemetry/user-hash.js';
import { InMemoryRefreshTokenLedger, RefreshTokenFingerprinter, type RefreshTokenLedger } from '../refresh/refresh-ledger.js';
import type { HeaderSource } from '../parsing/headers.js';
import { AffectedSessions } from '../affected/affected-sessions.js';

export type Engine = {
  readonly recorder: Recorder;
  classify: (source: HeaderSource) => Classification;
  readonly routes: RouteBound;
  hasher: UserHasher | undefined;
  spanHook: AuthTelemetryOptions['spanHook'];
  spans: SpanMode;
  /** Refresh tokens already exchanged, for lost-rotation detection; never exported. */
  refreshTokens: { ledger: RefreshTokenLedger; fingerprinter: RefreshTokenFingerprinter };
  /**
   * Distinct affected sessions (`auth.sessions.affected`). Its `store` is the seam for a shared
   * store offering `claim(key, ttlSeconds)` (the shared lost-rotation ledger's): set through the
   * `affectedSessions.store` option; in memory and per instance by default.
   */
  affected: AffectedSessions;
  /** Set by Edge registration: a flush handed to `event.waitUntil()` after each middleware run. */
  afterMiddleware?: () => Promise<void> | undefined;
};

// One engine per JS realm, even when both the ESM and the CJS build of this package are loaded
// (nextjs-auth0 v3 is CJS-only, v4 ESM-only): two recorders would report the same counters twice.
const ENGINE_KEY = Symbol.for('nextjs-auth-otel.engine');

export function engine(): Engine {
  const holder = globalThis as unknown as Record<symbol, Engine | undefined>;
  let current = holder[ENGINE_KEY];
  if (current === undefined) {
    current = {
      recorder: new Recorder(),
      classify: createClassifier(),
      routes: new RouteBound(50),
      hasher: undefined,
      spanHook: undefined,
      spans: 'all',
      refreshTokens: { ledger: new InMemoryRefreshTokenLedger(), fingerprinter: new RefreshTokenFingerprinter() },
      affected: new AffectedSessions(),
    };
    holder[ENGINE_KEY] = current;
  }
  return current;
}

/** Applies options to the engine. Throws `AuthTelemetryConfigError` on invalid options. */
export function configureAuthTelemetry(options?: AuthTelemetryOptions): void {
  const valid = validateOptions(options);
  const current = engine();
  current.classify = createClassifier(valid);
  current.routes.setLimit(valid.maxRoutes ?? 50);
  current.hasher = valid.hashUserId ? new UserHasher(valid.hashUserId.salt) : undefined;
  current.spanHook = valid.spanHook;
  current.spans = valid.spans ?? 'all';
  if (valid.affectedSessions !== undefined) current.affected = new AffectedSessions(valid.affectedSessions);
  const ledger = valid.refreshTokenLedger;
  if (ledger !== undefined) {
    current.refreshTokens = {
      ledger: ledger.store ?? new InMemoryRefreshTokenLedger(ledger.capacity),
      fingerprinter: new RefreshTokenFingerprinter(ledger.salt),
    };
  }
}

/**
 * A telemetry failure the plugin swallowed: counted under its stage and reported through the
 * OpenTelemetry diagnostic logger, so a plugin bug has a message, not just a count. Never throws.
 */
export function reportInstrumentationError(stage: InstrumentationStage, error: unknown): void {
  try {
    engine().recorder.add('instrumentationErrors', { stage: bounded('stage', stage), runtime: currentRuntime() });
  } catch {
    // The recorder itself is broken: the log line below is all that is left.
  }
  try {
    diag.warn(`nextjs-auth-otel: ${stage} failed; the app is unaffected`, error);
  } catch {
    // A throwing diag logger is the app's; telemetry still must not reach the caller.
  }
}

/**
 * Runs a telemetry step off the app's critical path: a throw is reported (see
 * `reportInstrumentationError`) and `fallback` returned instead. For synchronous steps only: a
 * returned promise's rejection is not seen here, so async steps end in
 * `.catch((error) => reportInstrumentationError(stage, error))`.
 */
export function safely<T>(stage: InstrumentationStage, fn: () => T): T | undefined;
export function safely<T, F>(stage: InstrumentationStage, fn: () => T, fallback: F): T | F;
export function safely<T, F>(stage: InstrumentationStage, fn: () => T, fallback?: F): T | F | undefined {
  try {
    return fn();
  } catch (error) {
    reportInstrumentationError(stage, error);
    return fallback;
  }
}
