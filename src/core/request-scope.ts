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
  /** Session cookies an SDK wrote during the middleware run: name to whether the last write set (not cleared) it. */
  sessionCookieWrites?: Map<string, boolean>;
};

/**
 * How SDK calls inside a wrapped middleware learn their request's class. Calls that receive the
 * request object find it in the WeakMap: this works in every runtime, including Next 14 Edge
 * middleware where no context manager may be installed. Calls without a request (App Router
 * forms) fall back to the active OpenTelemetry context.
 */
const scopes = new WeakMap<object, RequestScope>();
export const REQUEST_SCOPE_KEY = createContextKey('nextjs-auth-otel.request-scope');

/** The scope a wrapped middleware bound to this very request object; only middleware binds one. */
export function boundRequestScope(request: unknown): RequestScope | undefined {
  return typeof request === 'object' && request !== null ? scopes.get(request) : undefined;
}

/** The scope bound to `request`, falling back to `active` (when the caller already holds the active context) instead of looking it up again. */
export function requestScopeIn(request: unknown, active: Context | undefined): RequestScope | undefined {
  if (typeof request === 'object' && request !== null) {
    const scope = scopes.get(request);
    if (scope !== undefined) return scope;
  }
  return (active ?? context.active()).getValue(REQUEST_SCOPE_KEY) as RequestScope | undefined;
}

/** Binds unless the request already carries this very scope (a wrapped middleware adopting the scope it just resolved). */
export function adoptScope(request: unknown, scope: RequestScope): void {
  if (typeof request === 'object' && request !== null && scopes.get(request) !== scope) scopes.set(request, scope);
}
