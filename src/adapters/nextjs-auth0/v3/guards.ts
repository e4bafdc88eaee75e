/**
 * v3's guards read the session internally and call the app's code only with one: whether the
 * app's code was reached tells a found session from a missing one.
 */
import { isNextControlFlow } from '../../../core/parsing/errors.js';
import { middlewareResult, withAuthTelemetry } from '../../../core/next/middleware.js';
import { observeCall, type Interpretation } from '../../../core/operation/observe.js';
import type { OperationResult } from '../../../core/operation/result.js';
import { named, type AnyFunction } from '../../wrap.js';
import { SDK, failed, requestReadFacts, sessionFacts, withCookie, type V3Context } from './context.js';

/** Calls `fn`, noting the object it was reached with (a request, a page's params, a GSSP context). */
function reaching(fn: AnyFunction, reached: WeakSet<object>): AnyFunction {
  return function (this: unknown, key: unknown, ...rest: unknown[]) {
    if (typeof key === 'object' && key !== null) reached.add(key);
    return fn.call(this, key, ...rest);
  };
}

/** A guarded call reached the app's code, so a session was found, whatever the code returned or threw. */
function guardedRead(ctx: V3Context, request: unknown, reached: WeakSet<object>, key: object, found: (value: unknown) => boolean): Interpretation<unknown> {
  return {
    result: (value) => requestReadFacts(ctx, request, (cookie) => sessionFacts(reached.has(key) || found(value), cookie)),
    error: (thrown) => (reached.has(key) ? requestReadFacts(ctx, request, (cookie) => sessionFacts(true, cookie)) : failed(thrown)),
  };
}

export function wrapWithMiddlewareAuthRequired(ctx: V3Context, original: AnyFunction): AnyFunction {
  return named(function (this: unknown, arg?: unknown) {
    const reached = new WeakSet<object>();
    const userMiddleware = typeof arg === 'function' ? (arg as AnyFunction) : (arg as { middleware?: AnyFunction } | undefined)?.middleware;
    const inner = userMiddleware ? reaching(userMiddleware, reached) : undefined;
    const sdkArg = typeof arg === 'function' ? inner : arg && inner ? { ...(arg as object), middleware: inner } : arg;
    const sdkMiddleware = original.call(this, sdkArg) as AnyFunction;
    // The SDK runs the inner middleware only with a session; without one it redirects or answers 401.
    const passed = (response: unknown) => middlewareResult(response).outcome === 'pass';
    const guarded = function (this: unknown, request: object, ...rest: unknown[]) {
      return observeCall(
        'sessionRead',
        { sdk: SDK, request },
        () => sdkMiddleware.call(this, request, ...rest),
        guardedRead(ctx, request, reached, request, passed),
      );
    };
    // Counted as a middleware run unless it already runs inside one wrapped with withAuthTelemetry.
    return withAuthTelemetry(guarded, { sdk: SDK });
  }, 'withMiddlewareAuthRequired');
}

export function wrapWithApiAuthRequired(ctx: V3Context, original: AnyFunction): AnyFunction {
  return named(function (this: unknown, apiRoute: AnyFunction) {
    const reached = new WeakSet<object>();
    const sdkRoute = original.call(this, typeof apiRoute === 'function' ? reaching(apiRoute, reached) : apiRoute) as AnyFunction;
    return function (this: unknown, request: object, ...rest: unknown[]) {
      return observeCall(
        'sessionRead',
        { sdk: SDK, request },
        () => sdkRoute.call(this, request, ...rest),
        guardedRead(ctx, request, reached, request, () => false),
      );
    };
  }, 'withApiAuthRequired');
}

export function wrapWithPageAuthRequired(ctx: V3Context, original: AnyFunction): AnyFunction {
  return named(function (this: unknown, fnOrOptions?: unknown, appOptions?: unknown) {
    if (typeof fnOrOptions === 'function') return guardAppRouterPage(ctx, original, this, fnOrOptions as AnyFunction, appOptions);
    return guardGetServerSideProps(ctx, original, this, fnOrOptions);
  }, 'withPageAuthRequired');
}

/** App Router: the SDK throws NEXT_REDIRECT without a session, else renders the page with the same params object. */
function guardAppRouterPage(ctx: V3Context, original: AnyFunction, thisArg: unknown, page: AnyFunction, appOptions: unknown): AnyFunction {
  const reached = new WeakSet<object>();
  const sdkPage = original.call(thisArg, reaching(page, reached), appOptions) as AnyFunction;
  return function (this: unknown, params: unknown) {
    const wasReached = () => typeof params === 'object' && params !== null && reached.has(params);
    return observeCall('sessionRead', { sdk: SDK }, () => sdkPage.call(this, params), {
      result: (_page, operation) => withCookie(ctx, undefined, operation, (cookie) => sessionFacts(true, cookie)),
      error: (thrown, operation): OperationResult | Promise<OperationResult> => {
        if (wasReached()) return withCookie(ctx, undefined, operation, (cookie) => sessionFacts(true, cookie));
        if (isNextControlFlow(thrown)) return withCookie(ctx, undefined, operation, (cookie) => sessionFacts(false, cookie));
        return failed(thrown);
      },
    });
  };
}

/** Pages Router: the SDK returns `{ redirect }` without a session, else runs the user's getServerSideProps. */
function guardGetServerSideProps(ctx: V3Context, original: AnyFunction, thisArg: unknown, fnOrOptions: unknown): AnyFunction {
  const reached = new WeakSet<object>();
  const pageOptions = (fnOrOptions ?? {}) as { getServerSideProps?: AnyFunction };
  const userGssp = pageOptions.getServerSideProps;
  const sdkOptions = typeof userGssp === 'function' ? { ...pageOptions, getServerSideProps: reaching(userGssp, reached) } : fnOrOptions;
  const sdkGssp = original.call(thisArg, sdkOptions) as AnyFunction;
  const rendered = (props: unknown) => !(typeof props === 'object' && props !== null && 'redirect' in props);
  return function (this: unknown, gsspContext: { req?: unknown }) {
    const request = gsspContext?.req;
    return observeCall(
      'sessionRead',
      { sdk: SDK, request },
      () => sdkGssp.call(this, gsspContext),
      guardedRead(ctx, request, reached, gsspContext as object, rendered),
    );
  };
}
