import { context, createContextKey, type Context } from '@opentelemetry/api';
import type { AuthSdk } from './catalog.js';
import type { Classification } from './classifier.js';

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
 * How SDK calls inside a wrapped middleware learn their request's class. With a context manager
 * (Node, and Edge runtimes with `AsyncLocalStorage`) the scope travels in the active context,
 * and `middlewareRequest` tells which request's run it belongs to. Without one (Next 14 Edge
 * middleware has no `AsyncLocalStorage` guarantee) the wrapped middleware binds its scope to the
 * request object in a WeakMap; only then, because binding a fresh request was the dearest step of
 * a middleware run (an identity hash and an ephemeron entry, ~1 µs in place).
 */
const scopes = new WeakMap<object, RequestScope>();
export const REQUEST_SCOPE_KEY = createContextKey('nextjs-auth-otel.request-scope');

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** The scope of the wrapped middleware run for this very request object, while it runs. */
export function boundRequestScope(request: unknown): RequestScope | undefined {
  if (!isObject(request)) return undefined;
  const bound = scopes.get(request);
  if (bound !== undefined) return bound;
  const active = context.active().getValue(REQUEST_SCOPE_KEY) as RequestScope | undefined;
  return active?.middlewareRequest === request ? active : undefined;
}

/** The scope bound to `request`, falling back to `active` (when the caller already holds the active context) instead of looking it up again. */
export function requestScopeIn(request: unknown, active: Context | undefined): RequestScope | undefined {
  if (isObject(request)) {
    const scope = scopes.get(request);
    if (scope !== undefined) return scope;
  }
  return (active ?? context.active()).getValue(REQUEST_SCOPE_KEY) as RequestScope | undefined;
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
