import type { AuthSdk } from './catalog.js';
import { adoptRequestScope, observeCall, type OperationResult } from './operation.js';
import { requestScopeOf } from './request-scope.js';
import { countInstrumentationError, engine } from './engine.js';

export type MiddlewareTelemetryOptions = {
  /** `auth.sdk` on middleware metrics; `custom` unless an adapter knows better. */
  sdk?: AuthSdk;
  /** A route template for `http.route`, or a function deriving one from the request. Never a raw path. */
  route?: string | ((request: unknown) => string | undefined);
};

type Middleware = (request: any, ...rest: any[]) => unknown;

/** Classifies a middleware's return value: `NextResponse.next()`, a rewrite, a redirect, 401/403, a 5xx. */
export function middlewareResult(response: unknown): OperationResult {
  if (typeof response !== 'object' || response === null) return { outcome: 'pass' };
  const status = (response as { status?: unknown }).status;
  if (typeof status !== 'number') return { outcome: 'pass' };
  if (status >= 500) return { outcome: 'error', statusCode: status, errorType: String(status) };
  if (status === 401 || status === 403) return { outcome: 'unauthorized', statusCode: status };
  if (status >= 300 && status < 400) return { outcome: 'redirect', statusCode: status };
  return { outcome: 'pass', statusCode: status };
}

/**
 * Wraps `middleware.ts` / `proxy.ts`: one `auth.middleware` span and the middleware metrics per
 * run. The response is returned untouched, so every `Set-Cookie` the SDK wrote is kept.
 */
export function withAuthTelemetry<M extends Middleware>(middleware: M, options: MiddlewareTelemetryOptions = {}): M & ((request: any, ...rest: any[]) => ReturnType<M>) {
  if (typeof middleware !== 'function') {
    throw new TypeError('nextjs-auth-otel: withAuthTelemetry(middleware) expects the middleware function as its first argument.');
  }
  const sdk = options.sdk ?? 'custom';
  const routeOption = options.route;
  const wrapped = function (this: unknown, request: unknown, ...rest: unknown[]): unknown {
    // An SDK middleware helper wrapped again inside an instrumented middleware: count the run once.
    if (isInsideMiddleware(request)) return middleware.call(this, request, ...rest);
    let route: string | undefined;
    try {
      route = typeof routeOption === 'function' ? routeOption(request) : routeOption;
    } catch {
      route = undefined;
    }
    const returned = observeCall(
      'middleware',
      { sdk, request, route },
      (operation) => {
        adoptRequestScope(request, operation);
        if (typeof request === 'object' && request !== null) middlewareRequests.add(request);
        return middleware.call(this, request, ...rest);
      },
      {
        result: (response) => middlewareResult(response),
        error: (thrown) => ({ outcome: 'error', error: thrown }),
      },
    );
    scheduleFlush(rest[0], returned);
    return returned;
  };
  Object.defineProperty(wrapped, 'name', { value: middleware.name || 'middleware' });
  return wrapped as unknown as M & ((request: any, ...rest: any[]) => ReturnType<M>);
}

const middlewareRequests = new WeakSet<object>();

/** On Edge, exports after the run through `event.waitUntil()`, so a frozen isolate still delivers. */
function scheduleFlush(event: unknown, returned: unknown): void {
  const after = engine().afterMiddleware;
  const waitUntil = (event as { waitUntil?: unknown } | undefined)?.waitUntil;
  if (after === undefined || typeof waitUntil !== 'function') return;
  try {
    const exported = Promise.resolve(returned).then(after, after).then(
      () => undefined,
      () => undefined,
    );
    waitUntil.call(event, exported);
  } catch {
    countInstrumentationError('export');
  }
}

export function isInsideMiddleware(request: unknown): boolean {
  return typeof request === 'object' && request !== null && middlewareRequests.has(request) && requestScopeOf(request) !== undefined;
}
