/**
 * What every v3 wrapper needs: the functions the caller passed in and the session cookie name,
 * plus the session facts v3 lets us read without the secret.
 */
import { readSessionCookie } from '../../../core/parsing/headers.js';
import type { Operation } from '../../../core/operation/operation.js';
import type { OperationResult } from '../../../core/operation/result.js';
import { subOf } from '../../../core/parsing/parse.js';
import { invalidCookieReason, sessionAgeFromJwe } from '../../../core/parsing/session-cookie.js';
import { requestCookieSize, storeCookieSize, withCookieSize } from '../../../core/parsing/cookie-size.js';
import { appRouterRequest, sessionCookieSnapshot } from '../../next/app-router.js';
import type { AnyFunction } from '../../wrap.js';

export const SDK = 'nextjs-auth0-v3';

export type V3Session = { user?: { sub?: unknown }; accessTokenExpiresAt?: unknown; refreshToken?: unknown };

export type V3Context = Readonly<{
  /** The module, `/edge` module or `initAuth0()` instance as given: only its own functions are called. */
  source: Readonly<Record<string, AnyFunction | undefined>>;
  cookieName: string;
}>;

/** Session-read facts from the cookie alone, for guards that read the session internally. */
export function sessionFacts(found: boolean, cookie: string | undefined, session?: V3Session | null): OperationResult {
  if (found) return { outcome: 'found', sessionAge: sessionAgeFromJwe(cookie), userId: subOf(session) };
  if (cookie !== undefined) return { outcome: 'invalid', invalidReason: invalidCookieReason(cookie), sessionKey: cookie };
  return { outcome: 'missing' };
}

export function requestCookie(ctx: V3Context, request: unknown): string | undefined {
  return readSessionCookie(request as never, ctx.cookieName);
}

/** A session read's facts from the request's cookie, with the cookie's size (`appSession` or all its chunks). */
export function requestReadFacts(ctx: V3Context, request: unknown, interpret: (cookie: string | undefined) => OperationResult): OperationResult {
  const cookie = requestCookie(ctx, request);
  const result = interpret(cookie);
  return cookie === undefined ? result : withCookieSize(result, requestCookieSize(request, ctx.cookieName));
}

/**
 * Interprets with the request's session cookie: synchronously from the request when the call
 * form has one (the hot path), else through `next/headers`.
 */
export function withCookie(
  ctx: V3Context,
  request: unknown,
  operation: Operation,
  interpret: (cookie: string | undefined) => OperationResult,
): OperationResult | Promise<OperationResult> {
  if (request !== undefined) return requestReadFacts(ctx, request, interpret);
  return appRouterRequest().then((appRouter) => {
    if (appRouter === undefined) return interpret(undefined);
    operation.classifyLate(appRouter.headers);
    const cookie = sessionCookieSnapshot(appRouter.cookies, ctx.cookieName).first;
    const result = interpret(cookie);
    return cookie === undefined ? result : withCookieSize(result, storeCookieSize(appRouter.cookies, ctx.cookieName));
  });
}

/** The error interpretation of every call that has nothing to add. */
export function failed(thrown: unknown): OperationResult {
  return { outcome: 'error', error: thrown };
}
