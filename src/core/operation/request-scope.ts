import { reportInstrumentationError } from '../engine/engine.js';
import { LayeredContext } from './layered-context.js';
import { context, createContextKey, type Context } from '@opentelemetry/api';
import type { AuthSdk } from '../telemetry/catalog.js';
import type { Classification } from '../classification/classifier.js';
import type { ExchangeHost } from '../refresh/exchange.js';
import type { RefreshFrame } from '../refresh/trace-token-refresh.js';

export type RequestScope = {
  readonly classification: Classification;
  readonly route: string | undefined;
  /**
   * The first instrumented SDK seen inside this request's wrapped middleware: the middleware's
   * own `auth.sdk` when the app did not name one, so `withAuthTelemetry(fn)` needs no `{ sdk }`.
   */
  observedSdk?: AuthSdk;
  /** The request object of the wrapped middleware run this scope belongs to. */
  middlewareRequest?: object;
  /** Session cookies an SDK wrote during the middleware run: name to whether the last write set (not cleared) it. */
  sessionCookieWrites?: Map<string, boolean>;
};

/**
 * What the active context tells this package about the current request, under one key: its
 * scope (class, route, middleware run), the SDK call whose token exchanges are in progress, and
 * the NextAuth `jwt` callback a hand-rolled refresh runs in. An operation is its own ambient (its
 * scope may still be classified late, so it is read through the operation, never copied).
 */
export interface Ambient {
  readonly scope: RequestScope | undefined;
  readonly exchangeHost: ExchangeHost | undefined;
  readonly refreshFrame: RefreshFrame | undefined;
}

const AMBIENT_KEY = createContextKey('nextjs-auth-otel.request-scope');

/**
 * Without a context manager `context.with` runs its function but the active context stays the
 * root. Two fallbacks, both here, stand in for it: the ambient of the `runInAmbient` call running
 * right now, for the synchronous part of its function (where a `jwt` callback's rotation code
 * starts its exchange: nothing there carries the request object), and the middleware scope bound
 * to the request object (`adoptScope`, for SDK calls made after an `await`). With a context
 * manager neither is set.
 */
let synchronousAmbient: Ambient | undefined;

/** The ambient of `ctx` (default: the active context), if an instrumented call put one there. */
export function ambientIn(ctx?: Context): Ambient | undefined {
  try {
    const found = (ctx ?? context.active()).getValue(AMBIENT_KEY) as Ambient | undefined;
    if (found !== undefined || synchronousAmbient === undefined) return found;
    return ctx === undefined || ctx === context.active() ? synchronousAmbient : undefined;
  } catch (error) {
    // Only a broken context manager gets here: the call proceeds without its ambient.
    reportInstrumentationError('other', error);
    return undefined;
  }
}

export function withAmbient(ctx: Context, ambient: Ambient): Context {
  return new LayeredContext(ctx, AMBIENT_KEY, ambient);
}

/**
 * Runs `fn` in `ctx`, which carries `ambient`. Without a context manager the ambient is still
 * found by `ambientIn()` during `fn`'s synchronous part.
 */
export function runInAmbient<T>(ctx: Context, ambient: Ambient, fn: () => T): T {
  return context.with(ctx, () => {
    if (context.active() === ctx) return fn();
    const previous = synchronousAmbient;
    synchronousAmbient = ambient;
    try {
      return fn();
    } finally {
      synchronousAmbient = previous;
    }
  });
}

/**
 * How SDK calls inside a wrapped middleware learn their request's class. With a context manager
 * (Node, and Edge runtimes with `AsyncLocalStorage`) the scope travels in the active context,
 * and `middlewareRequest` tells which request's run it belongs to. Without one (Next 14 Edge
 * middleware has no `AsyncLocalStorage` guarantee) the wrapped middleware binds its scope to the
 * request object in a WeakMap, and only then (docs/why-it-is-fast.md).
 */
const scopes = new WeakMap<object, RequestScope>();

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** The scope of the wrapped middleware run for this very request object, while it runs. */
export function boundRequestScope(request: unknown): RequestScope | undefined {
  if (!isObject(request)) return undefined;
  const bound = scopes.get(request);
  if (bound !== undefined) return bound;
  const active = ambientIn()?.scope;
  return active?.middlewareRequest === request ? active : undefined;
}

/** The scope bound to `request`, falling back to the one `ctx` carries. */
export function requestScopeIn(request: unknown, ctx: Context): RequestScope | undefined {
  if (isObject(request)) {
    const scope = scopes.get(request);
    if (scope !== undefined) return scope;
  }
  return ambientIn(ctx)?.scope;
}

/**
 * Makes `scope` the middleware run's scope for `request`. Called inside the run, where the run's
 * context is active: if it is not (no context manager), nested calls could not find the scope in
 * it, so it is bound to the request object too.
 */
export function adoptScope(request: unknown, scope: RequestScope, runContext: Context): void {
  if (!isObject(request)) return;
  scope.middlewareRequest ??= request;
  if (context.active() !== runContext && scopes.get(request) !== scope) scopes.set(request, scope);
}
