import { INVALID_SPAN_CONTEXT, context, trace, SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE, NON_USER_CLASSES, ROUTINE_ERROR_CODES, SPANS, type SpanName } from '../telemetry/catalog.js';
import type { Classification } from '../classification/classifier.js';
import { syntheticTypeOf } from '../classification/classifier.js';
import { bounded } from '../telemetry/bounded.js';
import { engine, reportInstrumentationError, safely } from '../engine/engine.js';
import { normalizeError } from '../parsing/errors.js';
import type { HeaderSource } from '../parsing/headers.js';
import type { MetricFacts } from '../telemetry/recorder.js';
import { addResultFacts, annotateSpan, recordMetrics } from './record.js';
import type { CallTarget, OperationResult } from './result.js';
import { UNCLASSIFIED, resolveScope } from './scope.js';
import { DeferredSpan } from './deferred-span.js';
import type { ExchangeHost } from '../refresh/exchange.js';
import type { Exchange } from '../refresh/refresh-ledger.js';
import { adoptScope, ambientIn, withAmbient, type Ambient, type RequestScope } from './request-scope.js';
import { countAffected, recordUnpersisted, settleRotation } from './rotation.js';
import type { RefreshFrame } from '../refresh/trace-token-refresh.js';
import { currentRuntime } from '../engine/runtime.js';
import { VERSION } from '../telemetry/version.js';

const ERROR_OUTCOMES = new Set(['error', 'failure', 'invalid']);
/** Kinds that always get a span with `spans: 'notable'`: rare, and each one matters. */
const NOTABLE_KINDS = new Set<SpanName>(['tokenRefresh', 'handler']);
const ROUTINE_CODES = new Set<string>(ROUTINE_ERROR_CODES);
const NON_USERS = new Set<string>(NON_USER_CLASSES);

let tracer: Tracer | undefined;
function getTracer(): Tracer {
  // The API's proxy tracer follows a provider registered later, so caching it is safe.
  tracer ??= trace.getTracer(INSTRUMENTATION_SCOPE, VERSION);
  return tracer;
}

/**
 * One instrumented SDK call: a span (a child of whatever span is active, e.g. Next's request
 * span) plus the counter and histogram the catalog assigns to its kind. Every method swallows
 * and counts its own failures; the app's control flow never depends on telemetry.
 */
export class Operation implements Ambient {
  readonly startedAt: number;
  private ended = false;
  /** Set once the span question is settled at the end: no span is started after that. */
  private spanSettled = false;
  private startedSpan: Span | undefined;
  /** The refresh-token exchange this refresh made, as the ledger tracks it. */
  private exchange: Exchange | undefined;
  private operationContext: Context | undefined;
  private refreshChild: Operation | undefined;
  private hostedExchange: ExchangeHost | undefined;
  /** What the context this operation started in carried: inherited by calls nested in it. */
  private readonly outer: Ambient | undefined;

  constructor(
    readonly kind: SpanName,
    readonly target: CallTarget,
    public scope: RequestScope,
    private readonly parentContext: Context,
    /** A `performance.now()` reading, for operations recognised only after they happened (a NextAuth refresh). */
    startedAt?: number,
  ) {
    this.startedAt = startedAt ?? performance.now();
    this.outer = ambientIn(parentContext);
  }

  /**
   * The operation's span, started on first use with the call's start time: when a nested span
   * needs its parent, or when the operation ends with a span. An operation that ended without
   * one (`spans: 'notable'`) hands late nested spans its own parent instead.
   */
  get span(): Span {
    if (this.startedSpan !== undefined) return this.startedSpan;
    // With `spans: 'none'` nothing is started: nested spans keep the enclosing span as parent.
    if (this.spanSettled || engine().spans === 'none') return trace.getSpan(this.parentContext) ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    try {
      // A number below the time origin is read as a `performance.now()` reading, like the end time.
      this.startedSpan = getTracer().startSpan(SPANS[this.kind].name, { kind: SpanKind.INTERNAL, startTime: this.startedAt }, this.parentContext);
    } catch (error) {
      reportInstrumentationError('span', error);
      this.startedSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    }
    return this.startedSpan;
  }

  /**
   * The context calls nested in this one run in: this operation as the ambient (request scope,
   * exchange host), and as the active span a stand-in that starts the real span only when
   * something uses it (see `DeferredSpan`).
   */
  get context(): Context {
    // The ambient layer first, so that `trace.setSpan` adds the span as one more layer on it.
    this.operationContext ??= trace.setSpan(withAmbient(this.parentContext, this), new DeferredSpan(this));
    return this.operationContext;
  }

  /** The SDK call whose token-endpoint requests are in progress: this one once it hosts them, else the enclosing call's. */
  get exchangeHost(): ExchangeHost | undefined {
    return this.hostedExchange ?? this.outer?.exchangeHost;
  }

  /** Makes this operation the host of the token exchanges its SDK call makes (see core/refresh/exchange.ts). */
  hostExchanges(host: ExchangeHost): void {
    this.hostedExchange = host;
  }

  get refreshFrame(): RefreshFrame | undefined {
    return this.outer?.refreshFrame;
  }

  get classification(): Classification {
    return this.scope.classification;
  }

  /**
   * Classifies a call that had no request object once its headers are known (App Router forms
   * read them from `next/headers`). A class inherited from a wrapped middleware is kept.
   */
  classifyLate(source: HeaderSource | undefined): void {
    if (source === undefined || this.scope.classification !== UNCLASSIFIED) return;
    try {
      this.scope = { classification: engine().classify(source), route: this.scope.route };
    } catch (error) {
      reportInstrumentationError('classify', error);
    }
  }

  /** Runs `fn` with this operation's span active, so nested SDK calls become its children. */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  child(kind: SpanName): Operation {
    return safeStart(kind, this.target, this, this.context);
  }

  /**
   * The token refresh this call made: one `auth.token.refresh` child, started on the first sign
   * of an exchange; a retried exchange (a DPoP nonce retry) is the same refresh. A refresh seen
   * only from the call's result passes the call's own start time, so it is timed from there.
   */
  refresh(startedAt?: number): Operation {
    this.refreshChild ??= safeStart('tokenRefresh', this.target, this, this.context, startedAt);
    return this.refreshChild;
  }

  /** The refresh child, if the call made one. */
  get refreshed(): Operation | undefined {
    return this.refreshChild;
  }

  /** The metric attribute values common to every recording of this operation. */
  facts(outcome: string): MetricFacts {
    const cls = this.scope.classification.class;
    // Only the middleware run adopts the SDK it called; other calls keep the SDK their adapter names.
    const sdk = this.kind === 'middleware' && this.target.sdk === 'custom' ? (this.scope.observedSdk ?? 'custom') : this.target.sdk;
    return {
      sdk: bounded('sdk', sdk),
      outcome: bounded('outcome', outcome),
      userAgentClass: cls,
      syntheticType: syntheticTypeOf(cls),
      runtime: currentRuntime(),
      route: this.scope.route,
    };
  }

  /**
   * The refresh token a refresh operation is about to exchange. Only its salted fingerprint is
   * kept, so a later refresh that presents it again is recognised as a race or a lost rotation.
   * A retried exchange of the same refresh (a DPoP nonce retry) is still the one exchange.
   */
  presentRefreshToken(refreshToken: unknown): void {
    if (typeof refreshToken !== 'string' || refreshToken === '' || this.exchange !== undefined) return;
    try {
      // Epoch time, comparable across instances; the operation may have started before the token was known.
      const startedAt = Date.now() - (performance.now() - this.startedAt);
      this.exchange = engine().refreshLedger.begin(refreshToken, startedAt);
    } catch (error) {
      reportInstrumentationError('ledger', error);
    }
  }

  end(result: OperationResult): void {
    if (this.ended) return;
    this.ended = true;
    const endedAt = performance.now();
    try {
      const facts = this.record(result, endedAt);
      this.noteAffected(result, facts);
    } catch (error) {
      reportInstrumentationError('record', error);
    }
    let span = this.startedSpan;
    try {
      // Normally started while recording; this covers a recording that failed before it did.
      if (span === undefined && this.wantsSpan(result)) span = this.span;
    } catch (error) {
      reportInstrumentationError('span', error);
    }
    const settling = this.exchange === undefined ? undefined : settleRotation(this, result, this.exchange, endedAt);
    this.spanSettled = true;
    // A failed refresh's span waits for its reuse classification (at most the ledger's read timeout).
    if (settling === undefined) endSpan(span, endedAt);
    else void settling.then(() => endSpan(span, endedAt));
  }

  /**
   * Whether this operation ends with a span: always with `spans: 'all'`, never with `'none'`, and
   * with `'notable'` when it is worth one: every refresh, and handlers and failures except a
   * non-user's routine "no session" failures (a monitor's probe is counted, not traced).
   */
  private wantsSpan(result: OperationResult, errorCode?: string): boolean {
    if (this.startedSpan !== undefined) return true;
    const mode = engine().spans;
    if (mode !== 'notable') return mode === 'all';
    if (this.kind === 'tokenRefresh') return true;
    if (!NOTABLE_KINDS.has(this.kind) && !ERROR_OUTCOMES.has(result.outcome)) return false;
    return !this.isRoutineNoise(result, errorCode);
  }

  private isRoutineNoise(result: OperationResult, errorCode: string | undefined): boolean {
    if (!NON_USERS.has(this.scope.classification.class)) return false;
    const code = errorCode ?? result.errorCode ?? (result.error !== undefined ? normalizeError(result.error).code : undefined);
    return code !== undefined && ROUTINE_CODES.has(code);
  }

  /** A failed refresh counts its session in `auth.sessions.affected`, as an unreadable cookie does. */
  private noteAffected(result: OperationResult, facts: MetricFacts): void {
    if (this.kind === 'tokenRefresh' && result.outcome === 'failure') countAffected('refresh_failure', facts, result.userId ?? this.exchange?.fingerprint);
    else if (this.kind === 'sessionRead' && result.outcome === 'invalid') countAffected('invalid_cookie', facts, result.userId ?? result.sessionKey);
  }

  /** A refresh whose new tokens never reached the session cookie. */
  unpersisted(reason: string, error?: unknown, errorCode?: string): void {
    recordUnpersisted(this, this.exchange ?? this.refreshChild?.exchange, reason, error, errorCode);
  }

  private record(result: OperationResult, endedAt: number): MetricFacts {
    const spec = SPANS[this.kind] as { counter?: string; histogram?: string; name: string };
    const facts = this.facts(result.outcome);
    const normalized = result.error !== undefined ? normalizeError(result.error) : undefined;
    addResultFacts(facts, this.kind, result, normalized);
    const current = engine();
    const metricAttributes = recordMetrics(current.recorder, this.kind, spec, facts, result, (endedAt - this.startedAt) / 1000);

    if (!this.wantsSpan(result, facts.errorCode)) return facts;
    const span = this.span;
    if (!span.isRecording()) return facts;
    annotateSpan(span, result, facts, metricAttributes, this.scope.classification.rule, normalized, current.hasher);
    if (ERROR_OUTCOMES.has(result.outcome)) {
      // The status message is the bounded code, never the error's message: messages may carry user data.
      span.setStatus({ code: SpanStatusCode.ERROR, message: facts.errorCode ?? facts.errorType ?? result.outcome });
    }
    const hook = current.spanHook;
    if (hook !== undefined)
      safely('hook', () => hook(span, { operation: spec.name, outcome: result.outcome, userAgentClass: this.scope.classification.class }));
    return facts;
  }
}

function endSpan(span: Span | undefined, endedAt: number): void {
  if (span === undefined) return;
  try {
    // Explicit, because the SDK ends a span given a start time on the millisecond clock.
    span.end(endedAt);
  } catch (error) {
    reportInstrumentationError('span', error);
  }
}

function safeStart(kind: SpanName, target: CallTarget, parent: Operation | undefined, parentContext: Context, startedAt?: number): Operation {
  try {
    return new Operation(kind, target, resolveScope(target, parent, parentContext), parentContext, startedAt);
  } catch (error) {
    reportInstrumentationError('span', error);
    // A scope of its own: nested calls may note their SDK on it.
    return new Operation(kind, target, { classification: UNCLASSIFIED, route: undefined }, parentContext);
  }
}

export function startOperation(kind: SpanName, target: CallTarget, startedAt?: number): Operation {
  return safeStart(kind, target, undefined, context.active(), startedAt);
}

/** Marks a request as belonging to a wrapped middleware run, so nested adapter calls reuse its class. */
export function adoptRequestScope(request: unknown, operation: Operation): void {
  adoptScope(request, operation.scope, operation.context);
}
