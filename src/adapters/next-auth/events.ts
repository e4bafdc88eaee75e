/** `events` and `logger.error`: sign-ins, sign-outs, and the failures NextAuth reports only by logging them. */
import { reportInstrumentationError } from '../../core/engine/engine.js';
import { normalizeError } from '../../core/parsing/errors.js';
import { recordObserved } from '../../core/operation/observe.js';
import type { OperationResult } from '../../core/operation/result.js';
import type { AnyFunction } from '../wrap.js';
import {
  callbackErrors,
  classifyFromAppRouter,
  isOurs,
  own,
  recordedErrors,
  withSessionCookieSize,
  type NextAuthContext,
  type NextAuthSdk,
} from './context.js';
import { defaultLoggerError, invalidReasonOf, kindOfLoggedError, parseLoggedError } from './logger.js';
import { recordSessionFound } from './session.js';

function recordHandler(ctx: NextAuthContext, kind: string, result: Omit<OperationResult, 'handlerKind'>, sdk: NextAuthSdk = ctx.sdk()): Promise<void> {
  return recordObserved('handler', { sdk, request: ctx.request }, async (operation) => {
    await classifyFromAppRouter(operation);
    return { ...result, handlerKind: kind };
  });
}

/** The user's events, each still called with its message, plus ours. */
export function instrumentEvents(ctx: NextAuthContext, userEvents: Record<string, unknown>, hasSessionCallback: boolean): Record<string, unknown> {
  const events: Record<string, unknown> = { ...userEvents };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each event passes its own message shape, read by its recorder
  const compose = (name: string, record: (message: any) => Promise<void>) => {
    const userEvent = events[name] as AnyFunction | undefined;
    if (isOurs(userEvent)) return;
    events[name] = own(function (this: unknown, message: unknown) {
      record(message).catch((error: unknown) => reportInstrumentationError('record', error));
      return userEvent?.call(this, message);
    });
  };
  // Without a user session callback there is nothing to wrap; `events.session` fires after each
  // successful JWT or database session read instead (neither SDK calls anything without a cookie).
  if (!hasSessionCallback) compose('session', (message: { token?: unknown }) => recordSessionFound(ctx, message?.token));
  compose('signIn', () => recordHandler(ctx, 'callback', { outcome: 'success' }));
  compose('signOut', () => recordHandler(ctx, 'signout', { outcome: 'success' }));
  return events;
}

/** The user's logger with an `error` that records what it is told before passing it on. */
export function instrumentLogger(ctx: NextAuthContext, explicitSdk: NextAuthSdk | undefined, userLogger: Record<string, unknown>): Record<string, unknown> {
  const userError = userLogger.error as AnyFunction | undefined;
  if (isOurs(userError)) return { ...userLogger };
  const error = own(function error(this: unknown, ...args: unknown[]) {
    recordLoggedError(ctx, explicitSdk, args).catch((error: unknown) => reportInstrumentationError('record', error));
    if (typeof userError === 'function') return userError.apply(this, args);
    return defaultLoggerError(args);
  });
  return { ...userLogger, error };
}

async function recordLoggedError(ctx: NextAuthContext, explicitSdk: NextAuthSdk | undefined, args: unknown[]): Promise<void> {
  const logged = parseLoggedError(args);
  const sdk = explicitSdk ?? logged.sdk;
  // v5 errors are AuthError subclasses whose `.type` is the code; their class names are not in the
  // `error.type` allowlist, the family is. v4 names the failure by its code; the cause gives the type.
  const errorFacts: OperationResult =
    sdk === 'authjs-v5'
      ? { outcome: 'error', error: logged.error, errorType: 'AuthError' }
      : { outcome: 'error', errorCode: logged.code, errorType: logged.cause === undefined ? undefined : normalizeError(logged.cause).type };
  const kind = kindOfLoggedError(logged.code);
  if (kind !== 'session') return recordHandler(ctx, kind, errorFacts, sdk);
  const cause = logged.cause as object | undefined;
  if (cause !== undefined && recordedErrors.has(cause)) return;
  return recordObserved('sessionRead', { sdk, request: ctx.request }, async (operation) => {
    await classifyFromAppRouter(operation);
    if (cause !== undefined && callbackErrors.has(cause)) return errorFacts;
    return withSessionCookieSize(ctx, { ...errorFacts, outcome: 'invalid', invalidReason: invalidReasonOf(cause) });
  });
}
