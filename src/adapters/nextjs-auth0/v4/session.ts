/** v4's `getSession` and `updateSession`. */
import { isNextControlFlow } from '../../../core/parsing/errors.js';
import { activeExchangeHost, runAsExchangeHost } from '../../../core/refresh/exchange.js';
import { expectSessionCookies } from '../../../core/next/middleware.js';
import { observeCall } from '../../../core/operation/observe.js';
import { isRequestLike, named, type AnyFunction } from '../../wrap.js';
import { SDK, cookieFacts, readFacts, requestCookieFacts, type V4Context, type V4Session } from './context.js';

export function wrapGetSession(ctx: V4Context, getSession: AnyFunction): AnyFunction {
  return named(function (...args: unknown[]) {
    // updateSession and createFetcher read the session through `this.getSession`: their own
    // spans already cover that read.
    if (activeExchangeHost() !== undefined) return getSession(...args);
    const request = isRequestLike(args[0]) ? args[0] : undefined;
    return observeCall('sessionRead', { sdk: SDK, request }, () => getSession(...args), {
      result: (session: V4Session | null | undefined, operation) => {
        if (request !== undefined) return readFacts(session, requestCookieFacts(ctx, request));
        const cookie = cookieFacts(ctx, request, operation);
        return cookie instanceof Promise ? cookie.then((c) => readFacts(session, c)) : readFacts(session, cookie);
      },
      error: (thrown) => ({ outcome: 'error', error: thrown }),
    });
  }, 'getSession');
}

export function wrapUpdateSession(ctx: V4Context, updateSession: AnyFunction): AnyFunction {
  return named(function (...args: unknown[]) {
    const request = isRequestLike(args[0]) ? args[0] : undefined;
    return observeCall('sessionUpdate', { sdk: SDK, request }, (operation) => runAsExchangeHost(operation, () => updateSession(...args)).result, {
      result: () => {
        if (request !== undefined && args[1] !== undefined) expectSessionCookies(request, args[1], ctx.isSessionCookie);
        return { outcome: 'success' };
      },
      // v4 throws a plain Error when there is no session to update.
      error: (thrown) => (isNotAuthenticated(thrown) ? { outcome: 'missing' } : { outcome: 'error', error: thrown }),
    });
  }, 'updateSession');
}

function isNotAuthenticated(thrown: unknown): boolean {
  if (isNextControlFlow(thrown)) return false;
  const message = typeof thrown === 'object' && thrown !== null ? (thrown as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message.includes('not authenticated');
}
