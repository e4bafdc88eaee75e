/**
 * @auth0/nextjs-auth0 v3 (3.7.x): the module namespace, its `/edge` namespace, or an
 * `initAuth0()` instance. Only the functions the caller passed in are called, never the package's
 * named exports: v3 throws when named exports and an `initAuth0()` instance are mixed.
 */
import { isNextControlFlow } from '../../core/errors.js';
import { readSessionCookie, setsCookie } from '../../core/headers.js';
import { jwtExpiry } from '../../core/jwt.js';
import { middlewareResult, withAuthTelemetry } from '../../core/middleware.js';
import { observeCall, startOperation, type Operation, type OperationResult } from '../../core/operation.js';
import { invalidCookieReason, sessionAgeFromJwe } from '../../core/session-cookie.js';
import { appRouterRequest, sessionCookieSnapshot } from '../next/app-router.js';

const SDK = 'nextjs-auth0-v3';

export type Auth0V3Options = {
  /** The session cookie name when changed with `AUTH0_SESSION_NAME` / `session.name`. Default `appSession`. */
  sessionCookieName?: string;
};

type AnyFunction = (...args: any[]) => any;
type V3Session = { user?: { sub?: unknown }; accessTokenExpiresAt?: unknown };

const V3_FUNCTIONS = ['getSession', 'getAccessToken', 'touchSession', 'updateSession', 'withApiAuthRequired', 'withPageAuthRequired', 'handleAuth'] as const;

/** True for the v3 namespaces and `initAuth0()` instances: plain functions, no `Auth0Client` class. */
export function isAuth0V3(target: unknown): boolean {
  if (typeof target !== 'object' || target === null) return false;
  const candidate = target as Record<string, unknown>;
  return V3_FUNCTIONS.every((name) => typeof candidate[name] === 'function') && typeof candidate.middleware !== 'function';
}

function isRequestLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'headers' in value && ('url' in value || 'method' in value);
}

const instrumented = new WeakSet<AnyFunction>();

function mark<F extends AnyFunction>(fn: F, name: string): F {
  Object.defineProperty(fn, 'name', { value: name });
  instrumented.add(fn);
  return fn;
}

export function instrumentAuth0V3<T extends object>(target: T, options: Auth0V3Options = {}): T {
  const cookieName = options.sessionCookieName ?? 'appSession';
  const source = target as Record<string, AnyFunction | undefined>;
  const wrapped: Record<string, unknown> = { ...(target as Record<string, unknown>) };

  /** Session-read facts from the cookie alone, for guards that read the session internally. */
  const sessionFacts = (found: boolean, cookie: string | undefined, session?: V3Session | null): OperationResult => {
    if (found) return { outcome: 'found', sessionAge: sessionAgeFromJwe(cookie), userId: subOf(session) };
    if (cookie !== undefined) return { outcome: 'invalid', invalidReason: invalidCookieReason(cookie) };
    return { outcome: 'missing' };
  };

  /**
   * Interprets with the request's session cookie: synchronously from the request when the call
   * form has one (the hot path), else through `next/headers`.
   */
  const withCookie = (request: unknown, operation: Operation, interpret: (cookie: string | undefined) => OperationResult): OperationResult | Promise<OperationResult> => {
    if (request !== undefined) return interpret(readSessionCookie(request as never, cookieName));
    return appRouterRequest().then((appRouter) => {
      if (appRouter === undefined) return interpret(undefined);
      operation.classifyLate(appRouter.headers);
      return interpret(sessionCookieSnapshot(appRouter.cookies, cookieName).first);
    });
  };

  const getSession = source.getSession;
  if (getSession) {
    wrapped.getSession = mark(function (this: unknown, ...args: unknown[]) {
      const request = isRequestLike(args[0]) ? args[0] : undefined;
      return observeCall('sessionRead', { sdk: SDK, request }, () => getSession.apply(this, args), {
        result: (session: V3Session | null | undefined, operation) => withCookie(request, operation, (cookie) => sessionFacts(Boolean(session), cookie, session)),
        error: (thrown) => ({ outcome: 'error', error: thrown }),
      });
    }, 'getSession');
  }

  const getAccessToken = source.getAccessToken;
  if (getAccessToken) {
    wrapped.getAccessToken = mark(async function (this: unknown, ...args: unknown[]) {
      const request = isRequestLike(args[0]) ? args[0] : undefined;
      const optionsIndex = request === undefined ? 0 : 2;
      const operation = startOperation('tokenGet', { sdk: SDK, request });
      let refresh: Operation | undefined;
      let refreshed: V3Session | undefined;
      let presented: Promise<void> | undefined;
      const callArgs = args.slice();
      while (callArgs.length < optionsIndex) callArgs.push(undefined);
      callArgs[optionsIndex] = withRefreshSignals(args[optionsIndex], {
        exchangeStarting: () => {
          refresh ??= operation.child('tokenRefresh');
          const child = refresh;
          presented ??= presentedRefreshToken(getSession, this, request === undefined ? [] : [args[0], args[1]]).then((token) => child.presentRefreshToken(token));
        },
        exchanged: (session) => {
          refreshed = session;
          const end = () => refresh?.end({ outcome: 'success', tokenExpiresIn: secondsUntil(session?.accessTokenExpiresAt), userId: subOf(session) });
          if (presented === undefined) end();
          else void presented.then(end);
        },
      });
      // In App Router forms the cookie write goes through `cookies().set()`, which Server Components
      // silently refuse; comparing the cookie before and after a refresh shows whether it landed.
      const appRouter = request === undefined ? await appRouterRequest() : undefined;
      const before = appRouter && sessionCookieSnapshot(appRouter.cookies, cookieName);
      let result: { accessToken?: string } | undefined;
      try {
        result = await operation.run(() => getAccessToken.apply(this, callArgs));
      } catch (thrown) {
        if (presented !== undefined) await presented;
        refresh?.end({ outcome: 'failure', error: thrown });
        operation.classifyLate(appRouter?.headers);
        const cookie = request ? readSessionCookie(request as never, cookieName) : before?.first;
        // A session cookie was sent, yet the SDK found no session in it (tampered, rotated secret,
        // expired): a session read that failed, which ERR_MISSING_SESSION alone would hide.
        if (cookie !== undefined && isMissingSession(thrown)) operation.child('sessionRead').end(sessionFacts(false, cookie));
        operation.end({ outcome: 'error', error: thrown, sessionAge: sessionAgeFromJwe(cookie) });
        throw thrown;
      }
      try {
        operation.classifyLate(appRouter?.headers);
        const cookie = request ? readSessionCookie(request as never, cookieName) : before?.first;
        if (refresh !== undefined && before !== undefined && appRouter !== undefined) {
          const after = sessionCookieSnapshot(appRouter.cookies, cookieName);
          if (after.all === before.all) operation.unpersisted('read_only_context');
        }
        const expiresAt = refreshed?.accessTokenExpiresAt ?? jwtExpiry(result?.accessToken);
        operation.end({
          outcome: refresh !== undefined ? 'refreshed' : 'cached',
          tokenExpiresIn: secondsUntil(expiresAt),
          sessionAge: sessionAgeFromJwe(cookie),
          userId: subOf(refreshed),
        });
      } catch {
        operation.end({ outcome: refresh !== undefined ? 'refreshed' : 'cached' });
      }
      return result;
    }, 'getAccessToken');
  }

  for (const [name, kind] of [
    ['touchSession', 'sessionTouch'],
    ['updateSession', 'sessionUpdate'],
  ] as const) {
    const original = source[name];
    if (!original) continue;
    wrapped[name] = mark(function (this: unknown, ...args: unknown[]) {
      const request = isRequestLike(args[0]) ? args[0] : undefined;
      return observeCall(kind, { sdk: SDK, request }, () => original.apply(this, args), {
        result: (_value: unknown, operation) =>
          withCookie(request, operation, (cookie) => {
            const present = cookie !== undefined || setsCookie(request !== undefined ? args[1] : undefined, cookieName);
            if (kind === 'sessionTouch') return { outcome: present ? 'touched' : 'missing' };
            return { outcome: present ? 'success' : 'missing' };
          }),
        error: (thrown) => ({ outcome: 'error', error: thrown }),
      });
    }, name);
  }

  const withMiddlewareAuthRequired = source.withMiddlewareAuthRequired;
  if (withMiddlewareAuthRequired) {
    wrapped.withMiddlewareAuthRequired = mark(function (this: unknown, arg?: unknown) {
      const reached = new WeakSet<object>();
      const userMiddleware = typeof arg === 'function' ? (arg as AnyFunction) : (arg as { middleware?: AnyFunction } | undefined)?.middleware;
      const inner = userMiddleware
        ? function (this: unknown, request: object, ...rest: unknown[]) {
            reached.add(request);
            return userMiddleware.call(this, request, ...rest);
          }
        : undefined;
      const sdkArg = typeof arg === 'function' ? inner : arg && inner ? { ...(arg as object), middleware: inner } : arg;
      const sdkMiddleware = withMiddlewareAuthRequired.call(this, sdkArg) as AnyFunction;
      const guarded = function (this: unknown, request: object, ...rest: unknown[]) {
        return observeCall('sessionRead', { sdk: SDK, request }, () => sdkMiddleware.call(this, request, ...rest), {
          // The SDK runs the inner middleware only with a session; without one it redirects or answers 401.
          result: (response) => sessionFacts(reached.has(request) || middlewareResult(response).outcome === 'pass', readSessionCookie(request as never, cookieName)),
          error: (thrown) => (reached.has(request) ? sessionFacts(true, readSessionCookie(request as never, cookieName)) : { outcome: 'error', error: thrown }),
        });
      };
      // Counted as a middleware run unless it already runs inside one wrapped with withAuthTelemetry.
      return withAuthTelemetry(guarded, { sdk: SDK });
    }, 'withMiddlewareAuthRequired');
  }

  const withApiAuthRequired = source.withApiAuthRequired;
  if (withApiAuthRequired) {
    wrapped.withApiAuthRequired = mark(function (this: unknown, apiRoute: AnyFunction) {
      const reached = new WeakSet<object>();
      const inner =
        typeof apiRoute === 'function'
          ? function (this: unknown, request: object, ...rest: unknown[]) {
              reached.add(request);
              return apiRoute.call(this, request, ...rest);
            }
          : apiRoute;
      const sdkRoute = withApiAuthRequired.call(this, inner) as AnyFunction;
      return function (this: unknown, request: object, ...rest: unknown[]) {
        return observeCall('sessionRead', { sdk: SDK, request }, () => sdkRoute.call(this, request, ...rest), {
          result: () => sessionFacts(reached.has(request), readSessionCookie(request as never, cookieName)),
          error: (thrown) => (reached.has(request) ? sessionFacts(true, readSessionCookie(request as never, cookieName)) : { outcome: 'error', error: thrown }),
        });
      };
    }, 'withApiAuthRequired');
  }

  const withPageAuthRequired = source.withPageAuthRequired;
  if (withPageAuthRequired) {
    wrapped.withPageAuthRequired = mark(function (this: unknown, fnOrOptions?: unknown, appOptions?: unknown) {
      const reached = new WeakSet<object>();
      if (typeof fnOrOptions === 'function') {
        // App Router: the SDK throws NEXT_REDIRECT without a session, else renders the page with the same params object.
        const page = fnOrOptions as AnyFunction;
        const inner = function (this: unknown, params: unknown) {
          if (typeof params === 'object' && params !== null) reached.add(params);
          return page.call(this, params);
        };
        const sdkPage = withPageAuthRequired.call(this, inner, appOptions) as AnyFunction;
        return function (this: unknown, params: unknown) {
          const wasReached = () => typeof params === 'object' && params !== null && reached.has(params);
          return observeCall('sessionRead', { sdk: SDK }, () => sdkPage.call(this, params), {
            result: (_page, operation) => withCookie(undefined, operation, (cookie) => sessionFacts(true, cookie)),
            error: (thrown, operation) => {
              if (wasReached()) return withCookie(undefined, operation, (cookie) => sessionFacts(true, cookie));
              if (isNextControlFlow(thrown)) return withCookie(undefined, operation, (cookie) => sessionFacts(false, cookie));
              return { outcome: 'error', error: thrown };
            },
          });
        };
      }
      // Pages Router: the SDK returns `{ redirect }` without a session, else runs the user's getServerSideProps.
      const pageOptions = (fnOrOptions ?? {}) as { getServerSideProps?: AnyFunction };
      const userGssp = pageOptions.getServerSideProps;
      const sdkOptions =
        typeof userGssp === 'function'
          ? {
              ...pageOptions,
              getServerSideProps(this: unknown, ctx: object) {
                reached.add(ctx);
                return userGssp.call(this, ctx);
              },
            }
          : fnOrOptions;
      const sdkGssp = withPageAuthRequired.call(this, sdkOptions) as AnyFunction;
      return function (this: unknown, ctx: { req?: unknown }) {
        return observeCall('sessionRead', { sdk: SDK, request: ctx?.req }, () => sdkGssp.call(this, ctx), {
          result: (props: unknown) =>
            sessionFacts(reached.has(ctx) || !(typeof props === 'object' && props !== null && 'redirect' in props), readSessionCookie(ctx?.req as never, cookieName)),
          error: (thrown) => (reached.has(ctx) ? sessionFacts(true, readSessionCookie(ctx?.req as never, cookieName)) : { outcome: 'error', error: thrown }),
        });
      };
    }, 'withPageAuthRequired');
  }

  for (const [name, kind] of [
    ['handleLogin', 'login'],
    ['handleCallback', 'callback'],
    ['handleLogout', 'logout'],
    ['handleProfile', 'profile'],
    ['handleBackchannelLogout', 'backchannel-logout'],
  ] as const) {
    const original = source[name];
    if (original) wrapped[name] = instrumentHandler(original, kind, name);
  }

  const handleAuth = source.handleAuth;
  if (handleAuth) {
    wrapped.handleAuth = mark(function (this: unknown, userHandlers: Record<string, unknown> = {}) {
      // The same handlers handleAuth would pick itself, instrumented, so failures are seen with their code.
      const defaults: Record<string, AnyFunction | undefined> = {
        login: source.handleLogin,
        callback: source.handleCallback,
        logout: source.handleLogout,
        me: (userHandlers.profile as AnyFunction | undefined) ?? source.handleProfile,
      };
      const handlers: Record<string, unknown> = {};
      for (const [route, handler] of Object.entries({ ...defaults, ...userHandlers })) {
        if (route === 'onError' || typeof handler !== 'function') {
          if (handler !== undefined) handlers[route] = handler;
          continue;
        }
        handlers[route] = instrumentHandler(handler as AnyFunction, route === 'me' ? 'profile' : route, route);
      }
      return handleAuth.call(this, handlers);
    }, 'handleAuth');
  }

  return wrapped as T;
}

/**
 * `handleLogin` and friends are both handlers `(req, res|ctx)` and factories `(options)` that
 * return handlers; each produced handler is instrumented too, once.
 */
function instrumentHandler(original: AnyFunction, kind: string, name: string): AnyFunction {
  if (instrumented.has(original)) return original;
  return mark(function (this: unknown, ...args: unknown[]) {
    if (!isRequestLike(args[0])) {
      const produced = original.apply(this, args);
      return typeof produced === 'function' ? instrumentHandler(produced, kind, name) : produced;
    }
    const nodeResponse = args[1] as { statusCode?: number } | undefined;
    return observeCall('handler', { sdk: SDK, request: args[0] }, () => original.apply(this, args), {
      result: (response: unknown) => {
        const status = typeof (response as { status?: unknown })?.status === 'number' ? (response as { status: number }).status : nodeResponse?.statusCode;
        if (typeof status !== 'number' || status < 300) return { outcome: 'success', handlerKind: kind, statusCode: status };
        if (status < 400) return { outcome: 'redirect', handlerKind: kind, statusCode: status };
        return { outcome: 'error', handlerKind: kind, statusCode: status, errorType: status >= 500 ? String(status) : undefined };
      },
      error: (thrown) => ({ outcome: 'error', error: thrown, handlerKind: kind }),
    });
  }, name);
}

type RefreshSignals = { exchangeStarting: () => void; exchanged: (session: V3Session | undefined) => void };

/**
 * Options that report the SDK's own refresh signals: v3 reads `authorizationParams` exactly when
 * it starts the refresh-token exchange, and calls `afterRefresh` once the exchange succeeded.
 * The SDK sees the caller's values unchanged; `afterRefresh` returns what the caller's would.
 *
 * One class, so every call's options object has the same hidden class: an accessor closure
 * defined on each object gave each call its own map, and the SDK code reading the options went
 * megamorphic, the dearest step of a wrapped `getAccessToken`. v3 reads both members straight
 * off the options object, never from a copy.
 */
class SignallingAccessTokenRequest {
  readonly #base: Record<string, unknown>;
  readonly #signals: RefreshSignals;

  constructor(base: Record<string, unknown>, signals: RefreshSignals) {
    this.#base = base;
    this.#signals = signals;
    for (const key in base) {
      if (key !== 'authorizationParams' && key !== 'afterRefresh' && Object.hasOwn(base, key)) (this as Record<string, unknown>)[key] = base[key];
    }
  }

  get authorizationParams(): unknown {
    try {
      this.#signals.exchangeStarting();
    } catch {
      // Telemetry never interferes with the exchange.
    }
    return this.#base.authorizationParams;
  }

  afterRefresh(...hookArgs: unknown[]): unknown {
    const session = hookArgs[hookArgs.length - 1] as V3Session | undefined;
    try {
      this.#signals.exchanged(session);
    } catch {
      // As above.
    }
    const userAfterRefresh = this.#base.afterRefresh;
    return typeof userAfterRefresh === 'function' ? (userAfterRefresh as AnyFunction).apply(this, hookArgs) : session;
  }
}

function withRefreshSignals(userOptions: unknown, signals: RefreshSignals): object {
  const base = (typeof userOptions === 'object' && userOptions !== null ? userOptions : {}) as Record<string, unknown>;
  return new SignallingAccessTokenRequest(base, signals);
}

/**
 * The refresh token v3 is about to exchange, for lost-rotation detection, read through the
 * instance's own getSession on the same request. With a request object v3 serves it from its
 * per-request cache; App Router forms decrypt the cookie once more (and, with rolling sessions,
 * re-save it before the SDK's own write replaces it). It resolves before the exchange's network
 * round trip, so before v3 overwrites the session's `refreshToken` in place. Never rejects.
 */
function presentedRefreshToken(getSession: AnyFunction | undefined, thisArg: unknown, args: unknown[]): Promise<unknown> {
  if (getSession === undefined) return Promise.resolve(undefined);
  try {
    return Promise.resolve(getSession.apply(thisArg, args)).then(
      (session: { refreshToken?: unknown } | null | undefined) => session?.refreshToken,
      () => undefined,
    );
  } catch {
    return Promise.resolve(undefined);
  }
}

function isMissingSession(thrown: unknown): boolean {
  try {
    return (thrown as { code?: unknown } | null)?.code === 'ERR_MISSING_SESSION';
  } catch {
    return false;
  }
}

function secondsUntil(epochSeconds: unknown): number | undefined {
  return typeof epochSeconds === 'number' && Number.isFinite(epochSeconds) ? epochSeconds - Date.now() / 1000 : undefined;
}

function subOf(session: V3Session | null | undefined): string | undefined {
  const sub = session?.user?.sub;
  return typeof sub === 'string' ? sub : undefined;
}
