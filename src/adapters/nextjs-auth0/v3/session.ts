/** v3's session functions: `getSession`, `touchSession`, `updateSession`. */
import { setsCookie } from '../../../core/parsing/headers.js';
import { observeCall } from '../../../core/operation/observe.js';
import { isRequestLike, named, type AnyFunction } from '../../wrap.js';
import { SDK, failed, sessionFacts, withCookie, type V3Context, type V3Session } from './context.js';

export function wrapGetSession(ctx: V3Context, getSession: AnyFunction): AnyFunction {
  return named(function (this: unknown, ...args: unknown[]) {
    const request = isRequestLike(args[0]) ? args[0] : undefined;
    return observeCall('sessionRead', { sdk: SDK, request }, () => getSession.apply(this, args), {
      result: (session: V3Session | null | undefined, operation) =>
        withCookie(ctx, request, operation, (cookie) => sessionFacts(Boolean(session), cookie, session)),
      error: failed,
    });
  }, 'getSession');
}

/** `touchSession` and `updateSession`: a session is there when the request brought one or the call set one. */
export function wrapSessionWrite(ctx: V3Context, original: AnyFunction, kind: 'sessionTouch' | 'sessionUpdate', name: string): AnyFunction {
  const found = kind === 'sessionTouch' ? 'touched' : 'success';
  return named(function (this: unknown, ...args: unknown[]) {
    const request = isRequestLike(args[0]) ? args[0] : undefined;
    return observeCall(kind, { sdk: SDK, request }, () => original.apply(this, args), {
      result: (_value: unknown, operation) =>
        withCookie(ctx, request, operation, (cookie) => {
          const present = cookie !== undefined || setsCookie(request !== undefined ? args[1] : undefined, ctx.cookieName);
          return { outcome: present ? found : 'missing' };
        }),
      error: failed,
    });
  }, name);
}
