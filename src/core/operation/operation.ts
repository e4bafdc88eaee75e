import { INVALID_SPAN_CONTEXT, context, trace, SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { ATTRIBUTES, INSTRUMENTATION_SCOPE, SPANS, type AuthSdk, type SpanName } from '../telemetry/catalog.js';
import type { Classification } from '../classification/classifier.js';
import { syntheticTypeOf } from '../classification/classifier.js';
import { bounded } from '../telemetry/bounded.js';
import { engine, reportInstrumentationError, safely } from '../engine/engine.js';
import { normalizeError } from '../parsing/errors.js';
import type { HeaderSource } from '../parsing/headers.js';
import type { MetricFacts } from '../telemetry/recorder.js';
import { DeferredSpan } from './deferred-span.js';
import type { ExchangeHost } from '../refresh/exchange.js';
import { adoptScope, ambientIn, requestScopeIn, withAmbient, type Ambient, type RequestScope } from './request-scope.js';
import type { RefreshFrame } from '../refresh/trace-token-refresh.js';
import { currentRuntime } from '../engine/runtime.js';
import { VERSION } from '../telemetry/version.js';

/** Who is calling: the adapter's SDK, and the request when the call form has one. */
export type CallTarget = Readonly<{
  sdk: AuthSdk;
  request?: unknown;
  /** A route template supplied by the app; never a raw path. */
  route?: string;
}>;

/** What an adapter observed about a finished call. Raw values are bounded by the engine. */
export type OperationResult = {
  outcome: string;
  /** The thrown or returned error; normalised to `auth.error.code` / `error.type`. */
  error?: unknown;
  /** An error code known without an error object (e.g. NextAuth's returned `error` string). */
  errorCode?: string;
  sessionAge?: number;
  tokenExpiresIn?: number;
  userId?: string;
  invalidReason?: string;
  handlerKind?: string;
  statusCode?: number;
  /** HTTP status as `error.type`, for 5xx responses without an error object. */
  errorType?: string;
  /** Next's `routeType` of an error that reached `onRequestError`. */
  routeType?: string;
};

const ERROR_OUTCOMES = new Set(['error', 'failure', 'invalid']);
/** Kinds that always get a span with `spans: 'notable'`: rare, and each one matters. */
const NOTABLE_KINDS = new Set<SpanName>(['tokenRefresh', 'handler']);
const UNCLASSIFIED: Classification = Object.freeze({ class: 'unknown', rule: 'no-request' } as const);

let tracer: Tracer | undefined;
function getTracer(): Tracer {
  // The API's proxy tracer follows a provider registered later, so caching it is safe.
  tracer ??= trace.getTracer(INSTRUMENTATION_SCOPE, VERSION);
  return tracer;
}

function resolveScope(target: CallTarget, parent: Operation | undefined, parentContext: Context): RequestScope {
  if (parent !== undefined) return parent.scope;
  const existing = requestScopeIn(target.request, parentContext);
  if (existing !== undefined) {
    if (target.sdk !== 'custom') existing.observedSdk ??= target.sdk;
    return existing;
  }
  let classification = UNCLASSIFIED;
  if (target.request !== undefined && target.request !== null) {
    try {
      classification = engine().classify(target.request as HeaderSource);
    } catch (error) {
      reportInstrumentationError('classify', error);
    }
  }
  // Not bound to the request object: binding a fresh request costs more than classifying again
  // (see `adoptScope`). Calls nested in this one find the scope in its context; a wrapped
  // middleware makes its scope the run's (`adoptRequestScope`); two sibling calls on one request
  // outside a middleware (getAccessToken, then touchSession) each classify the same headers, to
  // the same shared result.
  return { classification, route: engine().routes.accept(target.route) };
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
  private presentedRefreshToken: string | undefined;
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
    if (this.spanSettled) return trace.getSpan(this.parentContext) ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
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
    this.operationContext ??= withAmbient(trace.setSpan(this.parentContext, new DeferredSpan(this)), this);
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
   * kept, so a later refresh that presents it again is recognised as a lost rotation.
   */
  presentRefreshToken(refreshToken: unknown): void {
    if (typeof refreshToken !== 'string' || refreshToken === '') return;
    try {
      this.presentedRefreshToken = engine().refreshTokens.fingerprinter.fingerprint(refreshToken);
    } catch (error) {
      reportInstrumentationError('record', error);
    }
  }

  end(result: OperationResult): void {
    if (this.ended) return;
    this.ended = true;
    const endedAt = performance.now();
    try {
      this.record(result, endedAt);
    } catch (error) {
      reportInstrumentationError('record', error);
    }
    if (this.presentedRefreshToken !== undefined) this.settleRotation(result, this.presentedRefreshToken);
    let span = this.startedSpan;
    try {
      // Normally started while recording; this covers a recording that failed before it did.
      if (span === undefined && this.wantsSpan(result)) span = this.span;
    } catch (error) {
      reportInstrumentationError('span', error);
    }
    this.spanSettled = true;
    if (span === undefined) return;
    try {
      // Explicit, because the SDK ends a span given a start time on the millisecond clock.
      span.end(endedAt);
    } catch (error) {
      reportInstrumentationError('span', error);
    }
  }

  /** Whether this operation ends with a span: always with `spans: 'all'`, else when it is worth one. */
  private wantsSpan(result: OperationResult): boolean {
    return this.startedSpan !== undefined || engine().spans === 'all' || NOTABLE_KINDS.has(this.kind) || ERROR_OUTCOMES.has(result.outcome);
  }

  private settleRotation(result: OperationResult, fingerprint: string): void {
    try {
      const { ledger } = engine().refreshTokens;
      if (result.outcome === 'success') ledger.add(fingerprint);
      else if (ledger.has(fingerprint)) this.unpersisted('token_reused', result.error, result.errorCode);
    } catch (error) {
      reportInstrumentationError('record', error);
    }
  }

  /** A refresh whose new tokens never reached the session cookie. */
  unpersisted(reason: string, error?: unknown, errorCode?: string): void {
    try {
      const failed = error !== undefined || errorCode !== undefined;
      const facts = this.facts(failed ? 'failure' : 'success');
      facts.unpersistedReason = bounded('unpersistedReason', reason);
      if (error !== undefined) {
        const normalized = normalizeError(error);
        facts.errorCode = normalized.oauthCode ?? normalized.code;
      } else if (errorCode !== undefined) {
        facts.errorCode = bounded('errorCode', errorCode);
      }
      engine().recorder.add('refreshUnpersisted', facts);
      this.span.addEvent('auth.refresh.unpersisted', { [ATTRIBUTES.unpersistedReason.key]: facts.unpersistedReason }, performance.now());
    } catch (error) {
      reportInstrumentationError('record', error);
    }
  }

  private record(result: OperationResult, endedAt: number): void {
    const spec = SPANS[this.kind] as { counter?: string; histogram?: string; name: string };
    const facts = this.facts(result.outcome);
    let oauthError: string | undefined;
    let causeName: string | undefined;
    if (result.error !== undefined) {
      const normalized = normalizeError(result.error);
      oauthError = normalized.oauthCode;
      causeName = normalized.causeName;
      // A failed exchange is best described by the IdP's answer (`invalid_grant`), the rest by the SDK's code.
      facts.errorCode = this.kind === 'tokenRefresh' && oauthError !== undefined ? oauthError : normalized.code;
      facts.errorType = normalized.type;
    } else if (result.errorCode !== undefined) {
      facts.errorCode = bounded('errorCode', result.errorCode);
    }
    if (result.errorType !== undefined) facts.errorType = bounded('errorType', result.errorType);
    if (result.invalidReason !== undefined) facts.invalidReason = bounded('invalidReason', result.invalidReason);
    if (result.handlerKind !== undefined) facts.handlerKind = bounded('handlerKind', result.handlerKind);
    if (result.routeType !== undefined) facts.routeType = bounded('routeType', result.routeType);

    const current = engine();
    const recorder = current.recorder;
    const metricAttributes = spec.counter !== undefined ? recorder.add(spec.counter as never, facts) : undefined;
    switch (this.kind) {
      case 'sessionRead':
        if (result.outcome === 'found' && result.sessionAge !== undefined) recorder.record('sessionAge', facts, result.sessionAge);
        break;
      case 'tokenGet':
        if (result.tokenExpiresIn !== undefined) recorder.record('tokenRemainingLifetime', facts, result.tokenExpiresIn);
        break;
      case 'tokenRefresh':
      case 'middleware': {
        const seconds = (endedAt - this.startedAt) / 1000;
        recorder.record(spec.histogram as 'tokenRefreshDuration' | 'middlewareDuration', facts, seconds);
        break;
      }
    }

    if (!this.wantsSpan(result)) return;
    const span = this.span;
    if (!span.isRecording()) return;
    span.setAttributes(metricAttributes ?? attributesOfFacts(facts));
    span.setAttribute(ATTRIBUTES.userAgentRule.key, this.scope.classification.rule);
    if (result.sessionAge !== undefined) span.setAttribute(ATTRIBUTES.sessionAge.key, Math.round(result.sessionAge));
    if (result.tokenExpiresIn !== undefined) span.setAttribute(ATTRIBUTES.tokenExpiresIn.key, Math.round(result.tokenExpiresIn));
    if (result.statusCode !== undefined) span.setAttribute(ATTRIBUTES.statusCode.key, result.statusCode);
    if (oauthError !== undefined) span.setAttribute(ATTRIBUTES.oauthError.key, oauthError);
    if (causeName !== undefined) span.setAttribute(ATTRIBUTES.errorCause.key, bounded('errorType', causeName) === 'other' ? causeName.slice(0, 64) : causeName);
    const hasher = current.hasher;
    if (hasher !== undefined && typeof result.userId === 'string') span.setAttribute(ATTRIBUTES.userHash.key, hasher.hash(result.userId));
    if (ERROR_OUTCOMES.has(result.outcome)) {
      // The status message is the bounded code, never the error's message: messages may carry user data.
      span.setStatus({ code: SpanStatusCode.ERROR, message: facts.errorCode ?? facts.errorType ?? result.outcome });
    }
    const hook = current.spanHook;
    if (hook !== undefined)
      safely('hook', () => hook(span, { operation: spec.name, outcome: result.outcome, userAgentClass: this.scope.classification.class }));
  }
}

function attributesOfFacts(facts: MetricFacts): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of Object.keys(facts) as (keyof MetricFacts)[]) {
    const value = facts[name];
    if (value !== undefined) attributes[ATTRIBUTES[name].key] = value;
  }
  return attributes;
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

type Interpreted = OperationResult | Promise<OperationResult>;

export type Interpretation<T> = {
  /** May be async when facts are only reachable asynchronously (App Router `cookies()`). */
  result: (value: T, operation: Operation) => Interpreted;
  error: (thrown: unknown, operation: Operation) => Interpreted;
};

/** Interprets and ends the operation; never rejects, whatever the interpretation does. */
async function settle<T>(interpret: (value: T, operation: Operation) => Interpreted, value: T, operation: Operation): Promise<void> {
  try {
    operation.end(await interpret(value, operation));
  } catch (error) {
    reportInstrumentationError('other', error);
    operation.end({ outcome: 'error' });
  }
}

/** Ends the operation now when the interpretation is synchronous; otherwise returns when it will have. */
function settleSync<T>(interpret: (value: T, operation: Operation) => Interpreted, value: T, operation: Operation): Promise<void> | undefined {
  let interpreted: Interpreted;
  try {
    interpreted = interpret(value, operation);
  } catch (error) {
    reportInstrumentationError('other', error);
    interpreted = { outcome: 'error' };
  }
  if (isPromiseLike(interpreted)) return settle(() => interpreted, value, operation);
  operation.end(interpreted);
  return undefined;
}

/**
 * Records an operation recognised only from its effects (an event, a log line, a rotated token):
 * started now, or at `startedAt`, and ended with what `interpret` makes of it. Never rejects.
 */
export function recordObserved(kind: SpanName, target: CallTarget, interpret: (operation: Operation) => Interpreted, startedAt?: number): Promise<void> {
  return settle((_value: undefined, operation) => interpret(operation), undefined, startOperation(kind, target, startedAt));
}

/**
 * Runs an SDK call inside an operation. The caller gets exactly what the SDK returned or threw:
 * the same value, the same error object.
 */
export function observeCall<T>(kind: SpanName, target: CallTarget, call: (operation: Operation) => T, interpretation: Interpretation<Awaited<T>>): T {
  const operation = startOperation(kind, target);
  let returned: T;
  try {
    // `context.with` passes the operation on, so no closure is made per call.
    returned = context.with(operation.context, call, undefined, operation);
  } catch (thrown) {
    void settleSync(interpretation.error, thrown, operation);
    throw thrown;
  }
  if (isPromiseLike(returned)) {
    return returned.then(
      (value) => {
        const pending = settleSync(interpretation.result, value as Awaited<T>, operation);
        return pending === undefined ? value : pending.then(() => value);
      },
      (thrown: unknown) => {
        const pending = settleSync(interpretation.error, thrown, operation);
        if (pending === undefined) throw thrown;
        return pending.then(() => {
          throw thrown;
        });
      },
    ) as T;
  }
  void settleSync(interpretation.result, returned as Awaited<T>, operation);
  return returned;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
