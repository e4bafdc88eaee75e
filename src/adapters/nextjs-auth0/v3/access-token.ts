/**
 * v3's `getAccessToken`: `auth.token.get`, and a child `auth.token.refresh` when v3 really
 * exchanged the refresh token, seen through the SDK's own signals (see `SignallingAccessTokenRequest`).
 */
import { reportInstrumentationError } from '../../../core/engine/engine.js';
import { jwtExpiry } from '../../../core/parsing/jwt.js';
import { observeCall, type Interpretation } from '../../../core/operation/observe.js';
import type { Operation } from '../../../core/operation/operation.js';
import type { OperationResult } from '../../../core/operation/result.js';
import { secondsUntil, subOf } from '../../../core/parsing/parse.js';
import { sessionAgeFromJwe } from '../../../core/parsing/session-cookie.js';
import { requestCookieSize, storeCookieSize, withCookieSize, type CookieSize } from '../../../core/parsing/cookie-size.js';
import { appRouterRequest, sessionCookieSnapshot, type AppRouterRequest } from '../../next/app-router.js';
import { codeOf, isRequestLike, named, type AnyFunction } from '../../wrap.js';
import { SDK, requestCookie, sessionFacts, type V3Context, type V3Session } from './context.js';
import { SignallingAccessTokenRequest } from './refresh-signals.js';

type AccessTokenResult = { accessToken?: string } | undefined;

export function wrapGetAccessToken(ctx: V3Context, getAccessToken: AnyFunction): AnyFunction {
  return named(async function (this: unknown, ...args: unknown[]) {
    const call = new AccessTokenCall(ctx, getAccessToken, this, args);
    return observeCall('tokenGet', { sdk: SDK, request: call.request }, (operation) => call.run(operation), call);
  }, 'getAccessToken');
}

/** One `getAccessToken` call: what it saw before, during and after the SDK's work. */
class AccessTokenCall implements Interpretation<AccessTokenResult> {
  readonly request: unknown;
  private appRouter: AppRouterRequest | undefined;
  private before: { first: string | undefined; all: string } | undefined;
  private refreshedSession: V3Session | undefined;
  private presented: Promise<void> | undefined;
  /** The user of the session whose refresh token was presented: a failed refresh counts that session once. */
  private presentedUser: string | undefined;

  constructor(
    private readonly ctx: V3Context,
    private readonly original: AnyFunction,
    private readonly thisArg: unknown,
    private readonly args: unknown[],
  ) {
    this.request = isRequestLike(args[0]) ? args[0] : undefined;
  }

  async run(operation: Operation): Promise<AccessTokenResult> {
    const optionsIndex = this.request === undefined ? 0 : 2;
    const callArgs = this.args.slice();
    while (callArgs.length < optionsIndex) callArgs.push(undefined);
    callArgs[optionsIndex] = new SignallingAccessTokenRequest(callArgs[optionsIndex], {
      exchangeStarting: () => this.exchangeStarting(operation),
      exchanged: (session) => this.exchanged(operation, session),
    });
    // In App Router forms the cookie write goes through `cookies().set()`, which Server Components
    // silently refuse; comparing the cookie before and after a refresh shows whether it landed.
    if (this.request === undefined) {
      this.appRouter = await appRouterRequest();
      this.before = this.appRouter && sessionCookieSnapshot(this.appRouter.cookies, this.ctx.cookieName);
    }
    return operation.run(() => this.original.apply(this.thisArg, callArgs));
  }

  private exchangeStarting(operation: Operation): void {
    const refresh = operation.refresh();
    const args = this.request === undefined ? [] : [this.args[0], this.args[1]];
    this.presented ??= presentedSession(this.ctx.source.getSession, this.thisArg, args).then((session) => {
      refresh.presentRefreshToken(session?.refreshToken);
      this.presentedUser = subOf(session);
    });
  }

  private exchanged(operation: Operation, session: V3Session | undefined): void {
    this.refreshedSession = session;
    const end = () => operation.refreshed?.end({ outcome: 'success', tokenExpiresIn: secondsUntil(session?.accessTokenExpiresAt), userId: subOf(session) });
    if (this.presented === undefined) end();
    else void this.presented.then(end);
  }

  private cookie(): string | undefined {
    return this.request !== undefined ? requestCookie(this.ctx, this.request) : this.before?.first;
  }

  private cookieSize(): CookieSize | undefined {
    if (this.request !== undefined) return requestCookieSize(this.request, this.ctx.cookieName);
    return this.appRouter && storeCookieSize(this.appRouter.cookies, this.ctx.cookieName);
  }

  result = (value: AccessTokenResult, operation: Operation): OperationResult => {
    const outcome = operation.refreshed !== undefined ? 'refreshed' : 'cached';
    try {
      operation.classifyLate(this.appRouter?.headers);
      const { appRouter, before } = this;
      if (operation.refreshed !== undefined && before !== undefined && appRouter !== undefined) {
        if (sessionCookieSnapshot(appRouter.cookies, this.ctx.cookieName).all === before.all) operation.unpersisted('read_only_context');
      }
      const expiresAt = this.refreshedSession?.accessTokenExpiresAt ?? jwtExpiry(value?.accessToken);
      return { outcome, tokenExpiresIn: secondsUntil(expiresAt), sessionAge: sessionAgeFromJwe(this.cookie()), userId: subOf(this.refreshedSession) };
    } catch (error) {
      reportInstrumentationError('record', error);
      return { outcome };
    }
  };

  error = async (thrown: unknown, operation: Operation): Promise<OperationResult> => {
    if (this.presented !== undefined) await this.presented;
    operation.refreshed?.end({ outcome: 'failure', error: thrown, userId: this.presentedUser });
    operation.classifyLate(this.appRouter?.headers);
    const cookie = this.cookie();
    // A session cookie was sent, yet the SDK found no session in it (tampered, rotated secret,
    // expired): a session read that failed, which ERR_MISSING_SESSION alone would hide.
    if (cookie !== undefined && codeOf(thrown) === 'ERR_MISSING_SESSION')
      operation.child('sessionRead').end(withCookieSize(sessionFacts(false, cookie), this.cookieSize()));
    return { outcome: 'error', error: thrown, sessionAge: sessionAgeFromJwe(cookie) };
  };
}

/**
 * The session whose refresh token v3 is about to exchange (for lost-rotation detection, and its
 * user for counting the session once if the refresh fails), read through the
 * instance's own getSession on the same request. With a request object v3 serves it from its
 * per-request cache; App Router forms decrypt the cookie once more (and, with rolling sessions,
 * re-save it before the SDK's own write replaces it). It resolves before the exchange's network
 * round trip, so before v3 overwrites the session's `refreshToken` in place. Never rejects.
 */
function presentedSession(getSession: AnyFunction | undefined, thisArg: unknown, args: unknown[]): Promise<V3Session | null | undefined> {
  if (getSession === undefined) return Promise.resolve(undefined);
  try {
    return Promise.resolve(getSession.apply(thisArg, args)).then(
      (session: V3Session | null | undefined) => session,
      // The SDK's own getSession failing is the SDK's outcome, seen on the app's call: no token to note.
      () => undefined,
    );
  } catch {
    // As above, thrown synchronously.
    return Promise.resolve(undefined);
  }
}
