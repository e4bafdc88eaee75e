/** v3's route handlers: `handleAuth` and the `handleLogin` family, each an `auth.handler` run. */
import { observeCall } from '../../../core/operation/observe.js';
import { HANDLER_STATUS, statusOf, statusResult } from '../../../core/parsing/parse.js';
import { isRequestLike, named, type AnyFunction } from '../../wrap.js';
import { SDK, type V3Context } from './context.js';

export const HANDLERS = [
  ['handleLogin', 'login'],
  ['handleCallback', 'callback'],
  ['handleLogout', 'logout'],
  ['handleProfile', 'profile'],
  ['handleBackchannelLogout', 'backchannel-logout'],
] as const;

const instrumented = new WeakSet<AnyFunction>();

/**
 * `handleLogin` and friends are both handlers `(req, res|ctx)` and factories `(options)` that
 * return handlers; each produced handler is instrumented too, once.
 */
export function wrapHandler(original: AnyFunction, kind: string, name: string): AnyFunction {
  if (instrumented.has(original)) return original;
  const wrapped = named(function (this: unknown, ...args: unknown[]) {
    if (!isRequestLike(args[0])) {
      const produced = original.apply(this, args);
      return typeof produced === 'function' ? wrapHandler(produced, kind, name) : produced;
    }
    const nodeResponse = args[1] as { statusCode?: number } | undefined;
    return observeCall('handler', { sdk: SDK, request: args[0] }, () => original.apply(this, args), {
      result: (response: unknown) => ({ ...statusResult(statusOf(response) ?? nodeResponse?.statusCode, HANDLER_STATUS), handlerKind: kind }),
      error: (thrown) => ({ outcome: 'error', error: thrown, handlerKind: kind }),
    });
  }, name);
  instrumented.add(wrapped);
  return wrapped;
}

export function wrapHandleAuth(ctx: V3Context, handleAuth: AnyFunction): AnyFunction {
  const { source } = ctx;
  return named(function (this: unknown, userHandlers: Record<string, unknown> = {}) {
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
      handlers[route] = wrapHandler(handler as AnyFunction, route === 'me' ? 'profile' : route, route);
    }
    return handleAuth.call(this, handlers);
  }, 'handleAuth');
}
