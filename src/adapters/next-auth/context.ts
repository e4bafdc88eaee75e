/** What every NextAuth wrapper needs: the configuration's SDK and request, and the facts a token gives away. */
import type { AuthSdk } from '../../core/telemetry/catalog.js';
import type { Operation } from '../../core/operation/operation.js';
import { secondsSince } from '../../core/parsing/parse.js';
import { appRouterRequest } from '../next/app-router.js';
import { requestCookieSize, storeCookieSize, withCookieSize } from '../../core/parsing/cookie-size.js';
import type { OperationResult } from '../../core/operation/result.js';
import { readCookie, type HeaderSource } from '../../core/parsing/headers.js';
import type { AnyFunction } from '../wrap.js';

export type NextAuthSdk = Extract<AuthSdk, 'next-auth-v4' | 'authjs-v5'>;
export type Token = Record<string, unknown>;
export type Config = Record<string, unknown> & { callbacks?: Record<string, unknown>; events?: Record<string, unknown>; logger?: Record<string, unknown> };

/** Seconds since epoch of the sign-in, stamped into the JWT: `iat` is reset on every write. */
export const CREATED_AT = 'createdAt';

export type NextAuthContext = Readonly<{
  /** The SDK named in the options, else detected from the configuration. */
  sdk: () => NextAuthSdk;
  /** v5's lazy configuration receives the request; v4 and static configurations have none. */
  request: unknown;
  accessTokenOf: (token: Token) => unknown;
  expiresAtOf: (token: Token) => unknown;
  refreshTokenOf: (token: Token) => unknown;
}>;

/** Errors thrown by the user's own callbacks: NextAuth logs them as session errors too. */
export const callbackErrors = new WeakSet<object>();
/** Errors already recorded by a callback wrapper, so the logger does not count them again. */
export const recordedErrors = new WeakSet<object>();

export function remember(set: WeakSet<object>, value: unknown): void {
  if (typeof value === 'object' && value !== null) set.add(value);
}

/** Our own wrappers: a configuration instrumented twice (auth.config.ts and auth.ts) records once. */
const ours = new WeakSet<AnyFunction>();
export function own<F extends AnyFunction>(fn: F): F {
  ours.add(fn);
  return fn;
}
export const isOurs = (fn: unknown): boolean => typeof fn === 'function' && ours.has(fn as AnyFunction);

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Classifies from the App Router request (`next/headers`) when the call had no request object.
 * Only reached after NextAuth itself read the request's headers and cookies, so it never makes a
 * page dynamic on its own. Pages Router code has no `next/headers`: its class comes from a
 * handler wrapped with `withRequestTelemetry`, found in the active context like a middleware's.
 */
export async function classifyFromAppRouter(operation: Operation): Promise<void> {
  if (operation.classification.class !== 'unknown' || operation.classification.rule !== 'no-request') return;
  const appRouter = await appRouterRequest();
  if (appRouter !== undefined) operation.classifyLate(appRouter.headers);
}

export function sessionAgeOf(token: unknown): number | undefined {
  return typeof token === 'object' && token !== null ? secondsSince((token as Token)[CREATED_AT]) : undefined;
}

/** The session cookie names of Auth.js v5 and NextAuth v4, `__Secure-` (https) first; each may be chunked (`.0`, `.1`). */
const SESSION_COOKIES = ['__Secure-authjs.session-token', 'authjs.session-token', '__Secure-next-auth.session-token', 'next-auth.session-token'] as const;

/**
 * Adds the session cookie's size to a session read, from the request v5 passed to a lazy
 * configuration or from the App Router request (`next/headers`); Pages Router reads have neither.
 * An unreadable cookie's value (its first chunk when chunked) also becomes the read's session key,
 * so the session counts once in `auth.sessions.affected`.
 */
export async function withSessionCookieSize(ctx: NextAuthContext, result: OperationResult): Promise<OperationResult> {
  const store = ctx.request === undefined ? (await appRouterRequest())?.cookies : undefined;
  for (const name of SESSION_COOKIES) {
    const size = ctx.request !== undefined ? requestCookieSize(ctx.request, name) : storeCookieSize(store, name);
    if (size === undefined) continue;
    if (result.outcome === 'invalid') {
      result.sessionKey =
        ctx.request !== undefined
          ? (readCookie(ctx.request as HeaderSource, name) ?? readCookie(ctx.request as HeaderSource, `${name}.0`))
          : (store?.get(name) ?? store?.get(`${name}.0`))?.value;
    }
    return withCookieSize(result, size);
  }
  return result;
}
