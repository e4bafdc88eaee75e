/** Session reads: the user's `session` callback when there is one, else `events.session`. */
import { observeCall, recordObserved } from '../../core/operation/observe.js';
import type { OperationResult } from '../../core/operation/result.js';
import { subOf } from '../../core/parsing/parse.js';
import type { AnyFunction } from '../wrap.js';
import { callbackErrors, classifyFromAppRouter, own, recordedErrors, remember, sessionAgeOf, withSessionCookieSize, type NextAuthContext } from './context.js';

function found(token: unknown): OperationResult {
  return { outcome: 'found', sessionAge: sessionAgeOf(token), userId: subOf(token) };
}

export function wrapSession(ctx: NextAuthContext, userSession: AnyFunction): AnyFunction {
  return own(function session(this: unknown, params: { token?: unknown; user?: { id?: unknown } }) {
    return observeCall('sessionRead', { sdk: ctx.sdk(), request: ctx.request }, () => userSession.call(this, params), {
      result: async (_value, operation): Promise<OperationResult> => {
        await classifyFromAppRouter(operation);
        return withSessionCookieSize(ctx, found(params?.token));
      },
      error: async (thrown, operation): Promise<OperationResult> => {
        remember(callbackErrors, thrown);
        remember(recordedErrors, thrown);
        await classifyFromAppRouter(operation);
        return { outcome: 'error', error: thrown };
      },
    });
  });
}

/** `events.session` fires after each successful JWT or database session read. */
export function recordSessionFound(ctx: NextAuthContext, token: unknown): Promise<void> {
  return recordObserved('sessionRead', { sdk: ctx.sdk(), request: ctx.request }, async (operation) => {
    await classifyFromAppRouter(operation);
    return withSessionCookieSize(ctx, found(token));
  });
}
