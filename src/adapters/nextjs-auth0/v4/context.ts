/** What every v4 wrapper needs: the client's original methods, its session cookie, and the facts v4 gives away. */
import { readHeader, setCookiesOf } from '../../../core/parsing/headers.js';
import type { Operation } from '../../../core/operation/operation.js';
import type { OperationResult } from '../../../core/operation/result.js';
import { secondsSince, setCookieName, setCookieStoresValue, subOf } from '../../../core/parsing/parse.js';
import { appRouterRequest } from '../../next/app-router.js';
import { withCookieSize } from '../../../core/parsing/cookie-size.js';
import type { AnyFunction } from '../../wrap.js';
import { cookieFactsOfHeader, cookieFactsOfStore, v4InvalidCookieReason, type CookieFacts, type CookieStore } from './session-cookie.js';

export const SDK = 'nextjs-auth0-v4';

export type V4Session = { user?: { sub?: unknown }; internal?: { createdAt?: unknown } };
export type V4Client = Record<string | symbol, unknown> & {
  routes?: Record<string, unknown>;
  sessionStore?: { sessionCookieName?: unknown; isRolling?: unknown; beforeSessionRolled?: unknown; get?: unknown };
  provider?: { isResolverMode?: unknown; getAuthClientForStaticMode?: () => unknown; forRequest?: AnyFunction };
};

export type V4Context = Readonly<{
  client: V4Client;
  cookieName: string;
  isSessionCookie: (name: string) => boolean;
  /** The session the SDK itself decrypted for a request's cookies (e.g. to roll it in `middleware`), by cookies object. */
  sessionsRead: WeakMap<object, V4Session | null>;
}>;

export function createContext(client: V4Client, sessionCookieName: string | undefined): V4Context {
  const configured = client.sessionStore?.sessionCookieName;
  const cookieName = sessionCookieName ?? (typeof configured === 'string' ? configured : '__session');
  const isSessionCookie = (name: string): boolean =>
    name === cookieName || (name.startsWith(cookieName + '__') && /^\d+$/.test(name.slice(cookieName.length + 2)));
  return { client, cookieName, isSessionCookie, sessionsRead: observeSessionReads(client) };
}

/**
 * Notes each session the client's store decrypts, keyed by the request cookies it was read from,
 * so a middleware run that rolls the session knows its age without decrypting it a second time.
 * The store's own promise is returned untouched.
 */
function observeSessionReads(client: V4Client): WeakMap<object, V4Session | null> {
  const reads = new WeakMap<object, V4Session | null>();
  const store = client.sessionStore;
  if (typeof store?.get !== 'function') return reads;
  const original = (store.get as AnyFunction).bind(store);
  store.get = function (cookies: unknown, ...rest: unknown[]) {
    const result = original(cookies, ...rest);
    if (typeof cookies === 'object' && cookies !== null && result instanceof Promise) {
      result.then(
        (session: V4Session | null | undefined) => reads.set(cookies, session ?? null),
        () => reads.delete(cookies),
      );
    }
    return result;
  };
  return reads;
}

/** The session cookie of the call's request, or of the App Router request when the call form has none. */
export function cookieFacts(ctx: V4Context, request: unknown, operation: Operation): CookieFacts | Promise<CookieFacts> {
  if (request !== undefined) return requestCookieFacts(ctx, request);
  return appRouterRequest().then((appRouter) => {
    if (appRouter === undefined) return { present: false } as const;
    operation.classifyLate(appRouter.headers);
    return cookieFactsOfStore(appRouter.cookies as CookieStore, ctx.cookieName);
  });
}

export function requestCookieFacts(ctx: V4Context, request: unknown): CookieFacts {
  return cookieFactsOfHeader(readHeader(request as never, 'cookie'), ctx.cookieName);
}

export function readFacts(session: V4Session | null | undefined, cookie: CookieFacts): OperationResult {
  const size = cookie.present ? cookie.size : undefined;
  if (session) return withCookieSize({ outcome: 'found', sessionAge: secondsSince(session.internal?.createdAt), userId: subOf(session) }, size);
  if (cookie.present) return withCookieSize({ outcome: 'invalid', invalidReason: v4InvalidCookieReason(cookie.value), sessionKey: cookie.value }, size);
  return { outcome: 'missing' };
}

/** How many session cookies a response stores a value in (deletions of stale chunks do not count). */
export function sessionWrites(ctx: V4Context, response: unknown): number {
  let count = 0;
  for (const setCookie of setCookiesOf(response)) {
    if (ctx.isSessionCookie(setCookieName(setCookie)) && setCookieStoresValue(setCookie)) count++;
  }
  return count;
}
