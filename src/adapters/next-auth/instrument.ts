/**
 * NextAuth v4 (`AuthOptions`, 4.24.x) and Auth.js v5 (`next-auth@5` beta config). Neither SDK
 * exposes a request-level hook, so the plugin observes the configuration's own extension points:
 * `callbacks.jwt` (runs on every session read, and is where apps rotate refresh tokens),
 * `callbacks.session`, `logger.error` (the only place decoding and sign-in failures surface) and
 * `events`. Everything else in the configuration is passed through untouched.
 */
import type { AuthSdk } from '../../core/catalog.js';
import { countInstrumentationError } from '../../core/engine.js';
import { normalizeError } from '../../core/errors.js';
import { observeCall, startOperation, type Operation, type OperationResult } from '../../core/operation.js';
import {
  defaultAccessTokenOf,
  defaultErrorOf,
  defaultExpiresAtOf,
  defaultRefreshTokenOf,
  failure,
  runInRefreshFrame,
  type RefreshFrame,
} from '../../core/trace-token-refresh.js';
import { epochSeconds, secondsSince, secondsUntil, subOf } from '../../core/parse.js';
import { appRouterRequest } from '../next/app-router.js';
import { defaultLoggerError, invalidReasonOf, kindOfLoggedError, parseLoggedError } from './logger.js';

export type NextAuthSdk = Extract<AuthSdk, 'next-auth-v4' | 'authjs-v5'>;

export type InstrumentNextAuthOptions = {
  /** Default: detected (Auth.js v5 sets `basePath` on the configuration it is given; v4 never does). */
  sdk?: NextAuthSdk;
  /** Where the token keeps its access token. Default: `accessToken` or `access_token`. */
  accessTokenOf?: (token: Record<string, unknown>) => unknown;
  /** The access token's expiry, epoch seconds or milliseconds. Default: `accessTokenExpires`, `accessTokenExpiry`, `expiresAt`, `expires_at`, … */
  expiresAtOf?: (token: Record<string, unknown>) => unknown;
  /** The refresh token presented by a refresh, for lost-rotation detection. Default: `refreshToken` or `refresh_token`. */
  refreshTokenOf?: (token: Record<string, unknown>) => unknown;
};

/** Seconds since epoch of the sign-in, stamped into the JWT: `iat` is reset on every write. */
export const CREATED_AT = 'createdAt';

type AnyFunction = (...args: any[]) => any;
type Token = Record<string, unknown>;
type Config = Record<string, unknown> & { callbacks?: Record<string, unknown>; events?: Record<string, unknown>; logger?: Record<string, unknown> };

/** Errors thrown by the user's own callbacks: NextAuth logs them as session errors too. */
const callbackErrors = new WeakSet<object>();
/** Errors already recorded by a callback wrapper, so the logger does not count them again. */
const recordedErrors = new WeakSet<object>();

/** Our own wrappers: a configuration instrumented twice (auth.config.ts and auth.ts) records once. */
const ours = new WeakSet<AnyFunction>();
function own<F extends AnyFunction>(fn: F): F {
  ours.add(fn);
  return fn;
}
const isOurs = (fn: unknown): boolean => typeof fn === 'function' && ours.has(fn as AnyFunction);

function remember(set: WeakSet<object>, value: unknown): void {
  if (typeof value === 'object' && value !== null) set.add(value);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Classifies from the App Router request (`next/headers`) when the call had no request object.
 * Only reached after NextAuth itself read the request's headers and cookies, so it never makes a
 * page dynamic on its own. Outside App Router (Pages API routes) the class stays `unknown`.
 */
async function classifyFromAppRouter(operation: Operation): Promise<void> {
  if (operation.classification.class !== 'unknown' || operation.classification.rule !== 'no-request') return;
  const appRouter = await appRouterRequest();
  if (appRouter !== undefined) operation.classifyLate(appRouter.headers);
}

function sessionAgeOf(token: unknown): number | undefined {
  return typeof token === 'object' && token !== null ? secondsSince((token as Token)[CREATED_AT]) : undefined;
}

type Snapshot = { access: unknown; expiresAt: number | undefined; refresh: unknown; error: unknown };

/**
 * Wraps a NextAuth v4 `AuthOptions` / Auth.js v5 configuration (or v5's lazy `(req) => config`)
 * and returns the same shape: the user's callbacks, logger and events still run and return
 * exactly what they returned.
 */
export function instrumentNextAuth<T extends object>(config: T, options: InstrumentNextAuthOptions = {}): T {
  if (typeof config === 'function') {
    const lazy = config as unknown as AnyFunction;
    const wrapped = function (this: unknown, request: unknown) {
      const produced = lazy.call(this, request);
      const wrap = (value: unknown) => (typeof value === 'object' && value !== null ? instrumentConfig(value as Config, options, request ?? undefined) : value);
      return isPromiseLike(produced) ? Promise.resolve(produced).then(wrap) : wrap(produced);
    };
    Object.defineProperty(wrapped, 'name', { value: lazy.name || 'config' });
    return wrapped as unknown as T;
  }
  if (typeof config !== 'object' || config === null) {
    throw new TypeError('nextjs-auth-otel: instrumentNextAuth(config) expects the NextAuth options object (or an Auth.js v5 config / lazy config function).');
  }
  return instrumentConfig(config as Config, options, undefined) as unknown as T;
}

function instrumentConfig(config: Config, options: InstrumentNextAuthOptions, request: unknown): Config {
  const accessTokenOf = options.accessTokenOf ?? defaultAccessTokenOf;
  const expiresAtOf = options.expiresAtOf ?? defaultExpiresAtOf;
  const refreshTokenOf = options.refreshTokenOf ?? defaultRefreshTokenOf;
  const wrapped: Config = { ...config };
  // Auth.js v5 writes `basePath` into the configuration it is given (ours) before any callback runs.
  const sdkOf = (): NextAuthSdk => options.sdk ?? (typeof wrapped.basePath === 'string' ? 'authjs-v5' : 'next-auth-v4');
  const target = () => ({ sdk: sdkOf(), request });

  const callbacks: Record<string, unknown> = { ...(config.callbacks ?? {}) };
  const userJwt = callbacks.jwt as AnyFunction | undefined;
  const userSession = callbacks.session as AnyFunction | undefined;

  const snapshot = (token: unknown): Snapshot | undefined => {
    if (typeof token !== 'object' || token === null) return undefined;
    try {
      const t = token as Token;
      return { access: accessTokenOf(t), expiresAt: epochSeconds(expiresAtOf(t)), refresh: refreshTokenOf(t), error: defaultErrorOf(t) };
    } catch {
      countInstrumentationError('other');
      return undefined;
    }
  };

  /** Runs after the user's jwt callback; recording never delays or changes what it returned beyond the stamp. */
  const afterJwt = async (params: { token?: unknown }, returned: unknown, before: Snapshot | undefined, frame: RefreshFrame, startedAt: number, signIn: boolean): Promise<void> => {
    if (typeof returned !== 'object' || returned === null) return;
    const token = returned as Token;
    const incoming = params.token as Token | undefined;
    if (token[CREATED_AT] === undefined) {
      const carried = incoming?.[CREATED_AT];
      if (signIn) token[CREATED_AT] = Math.floor(Date.now() / 1000);
      else if (carried !== undefined) token[CREATED_AT] = carried;
    }
    // Sign-ins are not refreshes; a refresh function wrapped with traceTokenRefresh has recorded itself.
    if (signIn || frame.traced || before === undefined) return;
    const after = snapshot(token);
    if (after === undefined) return;
    const rotated = (before.access !== undefined && after.access !== before.access) || (before.expiresAt !== undefined && after.expiresAt !== before.expiresAt);
    const newError = after.error !== undefined && after.error !== before.error;
    // An error carried over unchanged in the very token object NextAuth passed in is an old failure,
    // not a new attempt (apps that stop refreshing once `error` is set return `token` as is).
    const failedAgain = after.error !== undefined && returned !== params.token;
    let result: OperationResult;
    if (rotated) result = newError ? failure(after.error) : { outcome: 'success', tokenExpiresIn: secondsUntil(after.expiresAt) };
    else if (newError || failedAgain) result = failure(after.error);
    else return;
    const operation = startOperation('tokenRefresh', target(), startedAt);
    operation.presentRefreshToken(before.refresh);
    await classifyFromAppRouter(operation);
    result.userId = subOf(token);
    operation.end(result);
  };

  if (!isOurs(userJwt)) callbacks.jwt = own(function jwt(this: unknown, params: { token?: unknown; account?: unknown; user?: unknown; trigger?: unknown }) {
    const startedAt = performance.now();
    let before: Snapshot | undefined;
    let signIn = false;
    const frame: RefreshFrame = { sdk: sdkOf(), request, classifyLate: classifyFromAppRouter, traced: false };
    try {
      signIn = Boolean(params?.account) || Boolean(params?.user) || params?.trigger === 'signIn' || params?.trigger === 'signUp';
      before = signIn ? undefined : snapshot(params?.token);
    } catch {
      countInstrumentationError('other');
    }
    const settle = (value: unknown) =>
      afterJwt(params, value, before, frame, startedAt, signIn).catch(() => {
        countInstrumentationError('record');
      });
    let returned: unknown;
    try {
      returned = runInRefreshFrame(frame, () => (userJwt ? userJwt.call(this, params) : params?.token));
    } catch (thrown) {
      remember(callbackErrors, thrown);
      throw thrown;
    }
    if (isPromiseLike(returned)) {
      return Promise.resolve(returned).then(
        (value) => settle(value).then(() => value),
        (thrown: unknown) => {
          remember(callbackErrors, thrown);
          throw thrown;
        },
      );
    }
    // Synchronous callbacks: the stamp must land before NextAuth encodes the token.
    const pending = settle(returned);
    return pending.then(() => returned);
  });

  if (typeof userSession === 'function' && !isOurs(userSession)) {
    callbacks.session = own(function session(this: unknown, params: { token?: unknown; user?: { id?: unknown } }) {
      return observeCall('sessionRead', target(), () => userSession.call(this, params), {
        result: async (_value, operation): Promise<OperationResult> => {
          await classifyFromAppRouter(operation);
          return { outcome: 'found', sessionAge: sessionAgeOf(params?.token), userId: subOf(params?.token) };
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
  wrapped.callbacks = callbacks;

  const recordSessionFound = async (token: unknown): Promise<void> => {
    const operation = startOperation('sessionRead', target());
    await classifyFromAppRouter(operation);
    operation.end({ outcome: 'found', sessionAge: sessionAgeOf(token), userId: subOf(token) });
  };

  const recordHandler = async (kind: string, result: Omit<OperationResult, 'handlerKind'>, sdk: NextAuthSdk = sdkOf()): Promise<void> => {
    const operation = startOperation('handler', { sdk, request });
    await classifyFromAppRouter(operation);
    operation.end({ ...result, handlerKind: kind });
  };

  const events: Record<string, unknown> = { ...(config.events ?? {}) };
  const compose = (name: string, record: (message: any) => Promise<void>) => {
    const userEvent = events[name] as AnyFunction | undefined;
    if (isOurs(userEvent)) return;
    events[name] = own(function (this: unknown, message: unknown) {
      record(message).catch(() => countInstrumentationError('record'));
      return userEvent?.call(this, message);
    });
  };
  // Without a user session callback there is nothing to wrap; `events.session` fires after each
  // successful JWT or database session read instead (neither SDK calls anything without a cookie).
  if (typeof userSession !== 'function') compose('session', (message: { token?: unknown }) => recordSessionFound(message?.token));
  compose('signIn', () => recordHandler('callback', { outcome: 'success' }));
  compose('signOut', () => recordHandler('signout', { outcome: 'success' }));
  wrapped.events = events;

  const userLogger = (config.logger ?? {}) as Record<string, unknown>;
  const userError = userLogger.error as AnyFunction | undefined;
  wrapped.logger = {
    ...userLogger,
    error: isOurs(userError)
      ? userError
      : own(function error(this: unknown, ...args: unknown[]) {
          recordLoggedError(args).catch(() => countInstrumentationError('record'));
          if (typeof userError === 'function') return userError.apply(this, args);
          return defaultLoggerError(args);
        }),
  };

  const recordLoggedError = async (args: unknown[]): Promise<void> => {
    const logged = parseLoggedError(args);
    const sdk = options.sdk ?? logged.sdk;
    // v5 errors are AuthError subclasses whose `.type` is the code; their class names are not in the
    // `error.type` allowlist, the family is. v4 names the failure by its code; the cause gives the type.
    const errorFacts: OperationResult =
      sdk === 'authjs-v5'
        ? { outcome: 'error', error: logged.error, errorType: 'AuthError' }
        : { outcome: 'error', errorCode: logged.code, errorType: logged.cause === undefined ? undefined : normalizeError(logged.cause).type };
    switch (kindOfLoggedError(logged.code)) {
      case 'session': {
        const cause = logged.cause as object | undefined;
        if (cause !== undefined && recordedErrors.has(cause)) return;
        const operation = startOperation('sessionRead', { sdk, request });
        await classifyFromAppRouter(operation);
        if (cause !== undefined && callbackErrors.has(cause)) operation.end(errorFacts);
        else operation.end({ ...errorFacts, outcome: 'invalid', invalidReason: invalidReasonOf(cause) });
        return;
      }
      case 'signin':
        return recordHandler('signin', errorFacts, sdk);
      case 'callback':
        return recordHandler('callback', errorFacts, sdk);
      default:
        return recordHandler('other', errorFacts, sdk);
    }
  };

  return wrapped;
}
