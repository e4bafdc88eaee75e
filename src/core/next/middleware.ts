import { ATTRIBUTES, type AuthSdk } from '../telemetry/catalog.js';
import { adoptRequestScope, type Operation } from '../operation/operation.js';
import { observeCall } from '../operation/observe.js';
import type { OperationResult } from '../operation/result.js';
import { boundRequestScope } from '../operation/request-scope.js';
import { engine, reportInstrumentationError, safely } from '../engine/engine.js';
import { setCookiesOf } from '../parsing/headers.js';
import { MIDDLEWARE_STATUS, setCookieName, setCookieStoresValue, statusOf, statusResult } from '../parsing/parse.js';

export type MiddlewareTelemetryOptions = {
  /**
   * `auth.sdk` on middleware metrics. Without it, the first instrumented SDK the middleware
   * calls names it, and a middleware that calls none is `custom`.
   */
  sdk?: AuthSdk;
  /** A route template for `http.route`, or a function deriving one from the request. Never a raw path. */
  route?: string | ((request: unknown) => string | undefined);
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a middleware takes NextRequest, Request or the app's own request type
type Middleware = (request: any, ...rest: any[]) => unknown;
/** The wrapper accepts what the wrapped middleware accepts and returns what it returns. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for Middleware
type Wrapped<M extends Middleware> = M & ((request: any, ...rest: any[]) => ReturnType<M>);

/** Classifies a middleware's return value: `NextResponse.next()`, a rewrite, a redirect, 401/403, a 5xx. */
export function middlewareResult(response: unknown): OperationResult {
  return statusResult(statusOf(response), MIDDLEWARE_STATUS);
}

/**
 * Wraps `middleware.ts` / `proxy.ts`: one `auth.middleware` span and the middleware metrics per
 * run. The response is returned untouched, so every `Set-Cookie` the SDK wrote is kept.
 */
export function withAuthTelemetry<M extends Middleware>(middleware: M, options: MiddlewareTelemetryOptions = {}): Wrapped<M> {
  if (typeof middleware !== 'function') {
    throw new TypeError('nextjs-auth-otel: withAuthTelemetry(middleware) expects the middleware function as its first argument.');
  }
  const sdk = options.sdk ?? 'custom';
  const routeOption = options.route;
  const wrapped = function (this: unknown, request: unknown, ...rest: unknown[]): unknown {
    // An SDK middleware helper wrapped again inside an instrumented middleware: count the run once.
    if (isInsideMiddleware(request)) return middleware.call(this, request, ...rest);
    // A throwing `route` option is the app's bug in a telemetry hook: the run is kept, unrouted.
    const route = typeof routeOption === 'function' ? safely('hook', () => routeOption(request)) : routeOption;
    const returned = observeCall(
      'middleware',
      { sdk, request, route },
      (operation) => {
        adoptRequestScope(request, operation);
        return middleware.call(this, request, ...rest);
      },
      {
        result: (response, operation) => {
          checkSessionCookies(response, operation);
          return middlewareResult(response);
        },
        error: (thrown) => ({ outcome: 'error', error: thrown }),
      },
    );
    scheduleFlush(rest[0], returned);
    return returned;
  };
  Object.defineProperty(wrapped, 'name', { value: middleware.name || 'middleware' });
  return wrapped as unknown as Wrapped<M>;
}

/** On Edge, exports after the run through `event.waitUntil()`, so a frozen isolate still delivers. */
function scheduleFlush(event: unknown, returned: unknown): void {
  const after = engine().afterMiddleware;
  const waitUntil = (event as { waitUntil?: unknown } | undefined)?.waitUntil;
  if (after === undefined || typeof waitUntil !== 'function') return;
  try {
    // Flushing swallows its own export failures, so a rejection here is the plugin's own.
    const exported = Promise.resolve(returned)
      .then(after, after)
      .then(
        () => undefined,
        (error: unknown) => reportInstrumentationError('export', error),
      );
    waitUntil.call(event, exported);
  } catch (error) {
    reportInstrumentationError('export', error);
  }
}

export function isInsideMiddleware(request: unknown): boolean {
  return boundRequestScope(request) !== undefined;
}

/**
 * Called by adapters with a response an SDK produced inside a wrapped middleware: the session
 * cookies it sets must reach the browser. Reads headers only; the response is never changed.
 */
export function expectSessionCookies(request: unknown, sdkResponse: unknown, isSessionCookie: (name: string) => boolean): void {
  const scope = boundRequestScope(request);
  if (scope === undefined) return;
  try {
    for (const setCookie of setCookiesOf(sdkResponse)) {
      const name = setCookieName(setCookie);
      if (name === '' || !isSessionCookie(name)) continue;
      scope.sessionCookieWrites ??= new Map();
      scope.sessionCookieWrites.set(name, setCookieStoresValue(setCookie));
    }
  } catch (error) {
    reportInstrumentationError('cookie', error);
  }
}

/**
 * A dropped session cookie: a chain that rebuilds the response (a locale redirect, a
 * `headers.set('set-cookie', …)` merge) loses the session cookie the SDK just rolled or refreshed,
 * and the user keeps sending a stale one.
 */
function checkSessionCookies(response: unknown, operation: Operation): void {
  const writes = operation.scope.sessionCookieWrites;
  if (writes === undefined) return;
  operation.scope.sessionCookieWrites = undefined;
  try {
    const kept = new Set<string>();
    for (const setCookie of setCookiesOf(response)) if (setCookieStoresValue(setCookie)) kept.add(setCookieName(setCookie));
    let dropped = false;
    for (const [name, stored] of writes) {
      if (stored && !kept.has(name)) {
        dropped = true;
        break;
      }
    }
    if (!dropped) return;
    operation.unpersisted('cookie_dropped');
    operation.span.setAttribute(ATTRIBUTES.unpersistedReason.key, 'cookie_dropped');
  } catch (error) {
    reportInstrumentationError('cookie', error);
  }
}
