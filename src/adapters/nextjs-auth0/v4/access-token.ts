/**
 * v4's `getAccessToken` and `getAccessTokenForConnection`: `auth.token.get`, and a child
 * `auth.token.refresh` started by the token-endpoint request itself (core/refresh/exchange.ts), or,
 * when no context carried that request to us, recognised from the session write it caused.
 */
import { reportInstrumentationError } from '../../../core/engine/engine.js';
import { runAsExchangeHost, type ExchangeHost } from '../../../core/refresh/exchange.js';
import { expectSessionCookies } from '../../../core/next/middleware.js';
import { observeCall, type Interpretation } from '../../../core/operation/observe.js';
import type { Operation } from '../../../core/operation/operation.js';
import type { OperationResult } from '../../../core/operation/result.js';
import { secondsUntil } from '../../../core/parsing/parse.js';
import { appRouterRequest, type AppRouterRequest } from '../../next/app-router.js';
import { codeOf, isRequestLike, named, type AnyFunction } from '../../wrap.js';
import { SDK, sessionWrites, type V4Context } from './context.js';
import { cookieFactsOfStore, sameCookie, type CookieFacts, type CookieStore } from './session-cookie.js';

type TokenResult = { token?: unknown; expiresAt?: unknown } | undefined;

export function wrapGetAccessToken(ctx: V4Context, getAccessToken: AnyFunction): AnyFunction {
  return named(async function (...args: unknown[]) {
    const call = new AccessTokenCall(ctx, getAccessToken, args);
    return observeCall('tokenGet', { sdk: SDK, request: call.request }, (operation) => call.run(operation), call);
  }, 'getAccessToken');
}

/** One `getAccessToken` call: the session cookie before it, the exchange during it, the write after it. */
class AccessTokenCall implements Interpretation<TokenResult> {
  readonly request: unknown;
  private readonly response: unknown;
  private appRouter: AppRouterRequest | undefined;
  private before: CookieFacts | undefined;
  private writesBefore = 0;
  private host: ExchangeHost | undefined;

  constructor(
    private readonly ctx: V4Context,
    private readonly original: AnyFunction,
    private readonly args: unknown[],
  ) {
    this.request = isRequestLike(args[0]) ? args[0] : undefined;
    this.response = this.request !== undefined ? args[1] : undefined;
  }

  async run(operation: Operation): Promise<TokenResult> {
    if (this.request === undefined) {
      // In the App Router forms the SDK writes through `cookies().set()`, which Server Components
      // silently refuse; comparing the cookie before and after shows whether a refresh landed.
      this.appRouter = await appRouterRequest();
      // Before the call, so a refresh child started during it inherits the request's class.
      operation.classifyLate(this.appRouter?.headers);
      this.before = this.appRouter && this.cookieNow(this.appRouter);
    }
    if (this.response !== undefined) this.writesBefore = sessionWrites(this.ctx, this.response);
    const hosted = runAsExchangeHost(operation, () => this.original(...this.args) as Promise<TokenResult>);
    this.host = hosted.host;
    return hosted.result;
  }

  private cookieNow(appRouter: AppRouterRequest): CookieFacts {
    return cookieFactsOfStore(appRouter.cookies as CookieStore, this.ctx.cookieName);
  }

  /** Whether the call wrote the session: the SDK does so only when the token set changed, i.e. after a refresh. */
  private wrote(): boolean {
    if (this.response !== undefined) return sessionWrites(this.ctx, this.response) > this.writesBefore;
    return this.appRouter !== undefined && this.before !== undefined && !sameCookie(this.before, this.cookieNow(this.appRouter));
  }

  result = (value: TokenResult, operation: Operation): OperationResult => {
    const host = this.host!;
    try {
      const tokenExpiresIn = secondsUntil(value?.expiresAt);
      const wrote = this.wrote();
      // Seen only through its result when no context carried the exchange to us.
      if (wrote) operation.refresh(operation.startedAt);
      const refreshed = host.refresh !== undefined;
      host.settleRefresh(true, { tokenExpiresIn });
      if (refreshed && this.appRouter !== undefined && !wrote) operation.unpersisted('read_only_context');
      if (this.response !== undefined && wrote) expectSessionCookies(this.request, this.response, this.ctx.isSessionCookie);
      return { outcome: refreshed ? 'refreshed' : 'cached', tokenExpiresIn };
    } catch (error) {
      reportInstrumentationError('record', error);
      return { outcome: host.refresh !== undefined ? 'refreshed' : 'cached' };
    }
  };

  error = (thrown: unknown, operation: Operation): OperationResult => {
    if (this.host !== undefined) {
      if (codeOf(thrown) === 'failed_to_refresh_token') operation.refresh(operation.startedAt);
      this.host.settleRefresh(false, { error: thrown });
    }
    return { outcome: 'error', error: thrown };
  };
}

export function wrapGetAccessTokenForConnection(_ctx: V4Context, original: AnyFunction): AnyFunction {
  return named(function (...args: unknown[]) {
    const request = isRequestLike(args[1]) ? args[1] : undefined;
    let host: ExchangeHost | undefined;
    return observeCall(
      'tokenGet',
      { sdk: SDK, request },
      (operation) => {
        const hosted = runAsExchangeHost(operation, () => original(...args));
        host = hosted.host;
        return hosted.result;
      },
      {
        result: (value: { expiresAt?: unknown } | undefined) => ({
          outcome: host?.exchanged === true ? 'refreshed' : 'cached',
          tokenExpiresIn: secondsUntil(value?.expiresAt),
        }),
        error: (thrown) => ({ outcome: 'error', error: thrown }),
      },
    );
  }, 'getAccessTokenForConnection');
}
