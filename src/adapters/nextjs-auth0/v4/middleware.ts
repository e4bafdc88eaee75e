/**
 * v4's `auth0.middleware`: an auth route (`auth.handler`) or, on any other path, the
 * rolling-session touch it does for every page.
 */
import { runAsExchangeHost, type ExchangeHost } from '../../../core/refresh/exchange.js';
import { expectSessionCookies } from '../../../core/next/middleware.js';
import { observeCall } from '../../../core/operation/observe.js';
import type { OperationResult } from '../../../core/operation/result.js';
import { HANDLER_STATUS, statusOf, statusResult } from '../../../core/parsing/parse.js';
import { named, type AnyFunction } from '../../wrap.js';
import { SDK, readFacts, requestCookieFacts, sessionWrites, type V4Context } from './context.js';
import type { CookieFacts } from './session-cookie.js';
import { withCookieSize } from '../../../core/parsing/cookie-size.js';

export function wrapMiddleware(ctx: V4Context, middleware: AnyFunction): AnyFunction {
  return named(function (request: unknown, ...rest: unknown[]) {
    const kind = handlerKindOf(request, ctx.client.routes);
    if (kind !== undefined) return runHandler(ctx, kind, request, () => middleware(request, ...rest));
    return runRollingTouch(ctx, request, () => middleware(request, ...rest));
  }, 'middleware');
}

function handlerResult(kind: string, status: number | undefined): OperationResult {
  return { ...statusResult(status, HANDLER_STATUS), handlerKind: kind };
}

/** An auth route served by `auth0.middleware`: login, callback, logout, profile, access-token, backchannel logout. */
function runHandler(ctx: V4Context, kind: string, request: unknown, call: () => unknown): unknown {
  let host: ExchangeHost | undefined;
  return observeCall(
    'handler',
    { sdk: SDK, request },
    (operation) => {
      const hosted = runAsExchangeHost(operation, call);
      host = hosted.host;
      return hosted.result;
    },
    {
      result: (response: unknown) => {
        expectSessionCookies(request, response, ctx.isSessionCookie);
        const status = statusOf(response);
        const failed = status !== undefined && status >= 400;
        if (!failed || kind !== 'access-token') {
          host?.settleRefresh(!failed);
          return handlerResult(kind, status);
        }
        // The access-token route answers every failure with 401 and the SDK's error code as JSON:
        // only "no session" is the designed anonymous answer, a failed refresh is an error.
        return errorCodeOfJson(response).then((code) => {
          host?.settleRefresh(false);
          const outcome = status < 500 && code === 'missing_session' ? 'unauthorized' : 'error';
          return { ...handlerResult(kind, status), outcome, errorCode: code };
        });
      },
      error: (thrown) => {
        host?.settleRefresh(false, { error: thrown });
        return { outcome: 'error', error: thrown, handlerKind: kind };
      },
    },
  );
}

/**
 * Any other path: with rolling sessions v4 reads the session and writes it back with a new
 * expiry. No write although a session cookie came in means the cookie was unreadable (v4 treats
 * it silently as no session), recorded as an `invalid` session read.
 */
function runRollingTouch(ctx: V4Context, request: unknown, call: () => unknown): unknown {
  const store = ctx.client.sessionStore;
  // Without rolling (or with a hook that may veto it) the SDK does not read the session here.
  if (store?.isRolling === false || typeof store?.beforeSessionRolled === 'function') return call();
  let cookie: CookieFacts | undefined;
  return observeCall(
    'sessionTouch',
    { sdk: SDK, request },
    () => {
      cookie = requestCookieFacts(ctx, request);
      return call();
    },
    {
      result: (response: unknown, operation) => {
        expectSessionCookies(request, response, ctx.isSessionCookie);
        const touched = sessionWrites(ctx, response) > 0;
        const facts = cookie ?? { present: false };
        const cookies = (request as { cookies?: object } | undefined)?.cookies;
        const session = cookies !== undefined ? ctx.sessionsRead.get(cookies) : undefined;
        const found = session ? readFacts(session, facts) : withCookieSize({ outcome: 'found' }, facts.present ? facts.size : undefined);
        operation.child('sessionRead').end(touched ? found : readFacts(undefined, facts));
        return { outcome: touched ? 'touched' : 'missing' };
      },
      error: (thrown) => ({ outcome: 'error', error: thrown }),
    },
  );
}

const ROUTE_KINDS: readonly (readonly [routeKey: string, kind: string, method: string, fallback: string])[] = [
  ['login', 'login', 'GET', '/auth/login'],
  ['callback', 'callback', 'GET', '/auth/callback'],
  ['logout', 'logout', 'GET', '/auth/logout'],
  ['profile', 'profile', 'GET', '/auth/profile'],
  ['accessToken', 'access-token', 'GET', '/auth/access-token'],
  ['backChannelLogout', 'backchannel-logout', 'POST', '/auth/backchannel-logout'],
];

/** The auth route a request is for, matched the way the SDK's router does (path after basePath, method). */
function handlerKindOf(request: unknown, routes: Record<string, unknown> | undefined): string | undefined {
  try {
    const req = request as { nextUrl?: { pathname?: string; basePath?: string }; url?: string; method?: string };
    let pathname = req.nextUrl?.pathname ?? (typeof req.url === 'string' ? new URL(req.url).pathname : undefined);
    if (typeof pathname !== 'string') return undefined;
    const basePath = req.nextUrl?.basePath;
    if (basePath && pathname.startsWith(basePath)) pathname = pathname.slice(basePath.length) || '/';
    if (pathname.length > 1 && pathname.endsWith('/')) pathname = pathname.slice(0, -1);
    const method = (req.method ?? 'GET').toUpperCase();
    for (const [key, kind, routeMethod, fallback] of ROUTE_KINDS) {
      const route = typeof routes?.[key] === 'string' ? (routes[key] as string) : fallback;
      if (pathname === route && method === routeMethod) return kind;
    }
  } catch {
    // An odd request is served as a plain page.
  }
  return undefined;
}

async function errorCodeOfJson(response: unknown): Promise<string | undefined> {
  try {
    const body = (await (response as Response).clone().json()) as { error?: { code?: unknown } };
    return typeof body?.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    // Not a JSON error response: no code to read.
    return undefined;
  }
}
