import { diag } from '@opentelemetry/api';
import type { InstrumentationStage } from '../telemetry/catalog.js';
import { createClassifier, type Classification } from '../classification/classifier.js';
import { RouteBound, bounded } from '../telemetry/bounded.js';
import { validateOptions, type AuthTelemetryOptions, type RefreshTokenLedgerOptions, type SpanMode } from './config.js';
import { Recorder } from '../telemetry/recorder.js';
import { currentRuntime } from './runtime.js';
import { UserHasher } from '../telemetry/user-hash.js';
import {
  DEFAULT_LEDGER_PREFIX,
  DEFAULT_LEDGER_TTL_SECONDS,
  DEFAULT_RACE_WINDOW_SECONDS,
  DEFAULT_READ_TIMEOUT_MS,
  RefreshLedger,
  RefreshTokenFingerprinter,
} from '../refresh/refresh-ledger.js';
import { InMemoryLedgerStore } from '../refresh/memory-ledger-store.js';
import { ledgerStoreFrom } from '../refresh/ledger-store.js';
import type { HeaderSource } from '../parsing/headers.js';
import { AffectedSessions } from '../affected/affected-sessions.js';

export type Engine = {
  readonly recorder: Recorder;
  classify: (source: HeaderSource) => Classification;
  readonly routes: RouteBound;
  hasher: UserHasher | undefined;
  spanHook: AuthTelemetryOptions['spanHook'];
  spans: SpanMode;
  /** Refresh-token exchanges, for lost-rotation and race detection; never exported. */
  refreshLedger: RefreshLedger;
  /**
   * Distinct affected sessions (`auth.sessions.affected`). Its `store` is the seam for a shared
   * store offering `claim(key, ttlSeconds)` (the shared lost-rotation ledger's): set through the
   * `affectedSessions.store` option; in memory and per instance by default.
   */
  affected: AffectedSessions;
  /** Set by Edge registration: a flush handed to `event.waitUntil()` after each middleware run. */
  afterMiddleware?: () => Promise<void> | undefined;
  /** Per drop stage: when its last diag line was written, and how many items were dropped since (see `reportDropped`). */
  readonly dropLog: Map<InstrumentationStage, { loggedAt: number; since: number }>;
};

// One engine per JS realm, even when both the ESM and the CJS build of this package are loaded
// (nextjs-auth0 v3 is CJS-only, v4 ESM-only): two recorders would report the same counters twice.
const ENGINE_KEY = Symbol.for('nextjs-auth-otel.engine');

export function engine(): Engine {
  const holder = globalThis as unknown as Record<symbol, Engine | undefined>;
  let current = holder[ENGINE_KEY];
  if (current === undefined) {
    current = {
      recorder: new Recorder((count, error) => reportDropped('record', count, error)),
      classify: createClassifier(),
      routes: new RouteBound(50),
      hasher: undefined,
      spanHook: undefined,
      spans: 'all',
      refreshLedger: createRefreshLedger(undefined),
      dropLog: new Map(),
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
  if (valid.refreshTokenLedger !== undefined) current.refreshLedger = createRefreshLedger(valid.refreshTokenLedger);
  const shared = valid.refreshTokenLedger?.store !== undefined;
  if (valid.affectedSessions !== undefined || shared) {
    // The shared ledger also de-duplicates affected sessions across instances, unless another store is given.
    const affected = valid.affectedSessions;
    current.affected = new AffectedSessions({
      ...affected,
      store: affected?.store ?? (shared ? current.refreshLedger : undefined),
      salt: affected?.salt ?? valid.refreshTokenLedger?.salt,
    });
  }
}

function createRefreshLedger(options: RefreshTokenLedgerOptions | undefined): RefreshLedger {
  const store = options?.store !== undefined ? ledgerStoreFrom(options.store) : new InMemoryLedgerStore(options?.capacity);
  return new RefreshLedger(
    store,
    new RefreshTokenFingerprinter(options?.salt),
    {
      ttlSeconds: options?.ttlSeconds ?? DEFAULT_LEDGER_TTL_SECONDS,
      raceWindowMs: (options?.raceWindowSeconds ?? DEFAULT_RACE_WINDOW_SECONDS) * 1000,
      readTimeoutMs: options?.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
      prefix: options?.prefix ?? DEFAULT_LEDGER_PREFIX,
    },
    (error) => reportInstrumentationError('ledger', error),
  );
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

/** How often a drop stage may write a diag line while its drops go on. */
const DROP_LOG_INTERVAL_MS = 10 * 60_000;

/**
 * Telemetry dropped on its way out (a full span queue, a failed or timed-out export, a throwing
 * histogram): counted per item under its stage. A collector outage drops a batch every few seconds,
 * so a stage writes one diag line at its first drop, then at most one every ten minutes with the
 * number dropped since. Never throws.
 */
export function reportDropped(stage: InstrumentationStage, count: number, error: unknown): void {
  if (!(count > 0)) return;
  try {
    const current = engine();
    current.recorder.add('instrumentationErrors', { stage: bounded('stage', stage), runtime: currentRuntime() }, count);
    const log = current.dropLog.get(stage) ?? { loggedAt: -Infinity, since: 0 };
    log.since += count;
    const now = Date.now();
    if (now - log.loggedAt >= DROP_LOG_INTERVAL_MS) {
      diag.warn(
        `nextjs-auth-otel: dropped ${log.since} telemetry items (${stage}); counted in auth.instrumentation.errors, logged at most every 10 minutes`,
        error,
      );
      log.loggedAt = now;
      log.since = 0;
    }
    current.dropLog.set(stage, log);
  } catch {
    // The recorder or the app's diag logger is broken; nothing is left to tell.
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
