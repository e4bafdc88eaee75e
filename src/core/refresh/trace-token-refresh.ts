import { context } from '@opentelemetry/api';
import type { ExchangeHost } from './exchange.js';
import { ambientIn, runInAmbient, withAmbient, type Ambient, type RequestScope } from '../operation/request-scope.js';
import type { AuthSdk } from '../telemetry/catalog.js';
import { reportInstrumentationError } from '../engine/engine.js';
import { secondsUntil } from '../parsing/parse.js';
import { observeCall } from '../operation/observe.js';
import type { Operation } from '../operation/operation.js';
import type { OperationResult } from '../operation/result.js';

/**
 * Where hand-rolled refresh code keeps its tokens. Field names follow the common tutorials
 * (`accessToken`, `accessTokenExpiry`, `refreshToken`; Auth.js guide: `access_token`,
 * `expires_at`, `refresh_token`).
 */
const ACCESS_TOKEN_FIELDS = ['accessToken', 'access_token'] as const;
const EXPIRY_FIELDS = ['accessTokenExpires', 'accessTokenExpiry', 'accessTokenExpiresAt', 'expiresAt', 'expires_at'] as const;
const REFRESH_TOKEN_FIELDS = ['refreshToken', 'refresh_token'] as const;

function firstField(value: unknown, fields: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const field of fields) {
    const found = (value as Record<string, unknown>)[field];
    if (found !== undefined && found !== null) return found;
  }
  return undefined;
}

export function defaultAccessTokenOf(token: unknown): unknown {
  return firstField(token, ACCESS_TOKEN_FIELDS);
}

export function defaultRefreshTokenOf(token: unknown): unknown {
  return firstField(token, REFRESH_TOKEN_FIELDS);
}

export function defaultExpiresAtOf(token: unknown): unknown {
  return firstField(token, EXPIRY_FIELDS);
}

/** The `error` field NextAuth refresh code returns instead of throwing (`RefreshAccessTokenError`). */
export function defaultErrorOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  const error = (value as { error?: unknown }).error;
  return error === undefined || error === null || error === false || error === '' ? undefined : error;
}

/**
 * Set by an instrumented NextAuth `jwt` callback around the user's code, so a refresh function
 * wrapped with `traceTokenRefresh` inside it inherits the SDK and the request, and the callback
 * does not count the same refresh a second time.
 */
export type RefreshFrame = {
  readonly sdk: AuthSdk;
  readonly request?: unknown;
  /** Classifies an operation that had no request (e.g. through `next/headers`). */
  readonly classifyLate?: (operation: Operation) => Promise<void> | void;
  /** The `sub` of the token the callback was given, for the user hash of a refresh seen on the wire. */
  readonly userId?: string;
  /** A refresh in this callback recorded itself: a `traceTokenRefresh` call, or an exchange seen on the wire (frame-exchange.ts). */
  traced: boolean;
};

/** The ambient of a `jwt` callback: the frame, over whatever the enclosing context carried. */
class FrameAmbient implements Ambient {
  constructor(
    readonly refreshFrame: RefreshFrame,
    private readonly outer: Ambient | undefined,
  ) {}

  get scope(): RequestScope | undefined {
    return this.outer?.scope;
  }

  get exchangeHost(): ExchangeHost | undefined {
    return this.outer?.exchangeHost;
  }
}

/** Runs a `jwt` callback in its frame; without a context manager, for the callback's synchronous part. */
export function runInRefreshFrame<T>(frame: RefreshFrame, fn: () => T): T {
  const active = context.active();
  const ambient = new FrameAmbient(frame, ambientIn(active));
  return runInAmbient(withAmbient(active, ambient), ambient, fn);
}

export function currentRefreshFrame(): RefreshFrame | undefined {
  return ambientIn()?.refreshFrame;
}

export type TraceTokenRefreshOptions<A extends unknown[], R> = {
  /** `auth.sdk`. Default: the NextAuth adapter's inside an instrumented `jwt` callback, else `custom`. */
  sdk?: AuthSdk;
  /**
   * The incoming request (or its headers) for the user-agent class, or a function of the call's
   * arguments returning it. Without one the class is inherited from an instrumented `jwt` callback
   * or middleware, else `unknown`.
   */
  request?: unknown;
  /**
   * The refresh token this call presents, for lost-rotation detection. Default: the first
   * argument's `refreshToken` or `refresh_token`. Only a salted fingerprint is kept.
   */
  refreshTokenOf?: (...args: A) => unknown;
  /** A failure returned instead of thrown. Default: the returned value's truthy `error` field. */
  errorOf?: (value: Awaited<R>) => unknown;
  /** The new access token's expiry (epoch seconds or milliseconds). Default: the usual field names. */
  expiresAtOf?: (value: Awaited<R>) => unknown;
  /** A route template for `http.route`. Never a raw path. */
  route?: string;
};

/**
 * Wraps a hand-rolled refresh function (a tutorial's `refreshAccessToken`): each call becomes an
 * `auth.token.refresh` span with the refresh metrics. A thrown error or a returned `{ error }` is a
 * failure with its code in `auth.error.code` (the OAuth `error` of a thrown token-endpoint body,
 * e.g. `invalid_grant`, or the returned string, e.g. `RefreshAccessTokenError`). The caller gets
 * exactly what `fn` returned and the very error it threw.
 */
export function traceTokenRefresh<A extends unknown[], R>(fn: (...args: A) => R, options: TraceTokenRefreshOptions<A, R> = {}): (...args: A) => R {
  if (typeof fn !== 'function') {
    throw new TypeError('nextjs-auth-otel: traceTokenRefresh(fn, options) expects the refresh function as its first argument.');
  }
  const refreshTokenOf = options.refreshTokenOf ?? ((...args: A) => defaultRefreshTokenOf(args[0]));
  const errorOf = options.errorOf ?? defaultErrorOf;
  const expiresAtOf = options.expiresAtOf ?? defaultExpiresAtOf;
  const traced = function (this: unknown, ...args: A): R {
    const frame = currentRefreshFrame();
    let request: unknown;
    let presented: unknown;
    try {
      if (frame !== undefined) frame.traced = true;
      request = typeof options.request === 'function' ? (options.request as (...a: A) => unknown)(...args) : options.request;
      presented = refreshTokenOf(...args);
    } catch (error) {
      reportInstrumentationError('other', error);
    }
    return observeCall(
      'tokenRefresh',
      { sdk: options.sdk ?? frame?.sdk ?? 'custom', request: request ?? frame?.request, route: options.route },
      (operation) => {
        operation.presentRefreshToken(presented);
        // Already the active context with a context manager; without one, this keeps the
        // operation the ambient of `fn`'s synchronous part, so its exchange is not counted twice.
        return runInAmbient(operation.context, operation, () => fn.apply(this, args));
      },
      {
        result: (value, operation) => {
          const returnedError = errorOf(value as Awaited<R>);
          const result: OperationResult =
            returnedError !== undefined ? failure(returnedError) : { outcome: 'success', tokenExpiresIn: secondsUntil(expiresAtOf(value as Awaited<R>)) };
          return afterClassifying(frame, operation, result);
        },
        error: (thrown, operation) => afterClassifying(frame, operation, { outcome: 'failure', error: thrown }),
      },
    );
  };
  Object.defineProperty(traced, 'name', { value: fn.name || 'refreshAccessToken' });
  return traced;
}

/** Synchronous unless the frame has to classify late, so a synchronous refresh is recorded before it returns. */
function afterClassifying(frame: RefreshFrame | undefined, operation: Operation, result: OperationResult): OperationResult | Promise<OperationResult> {
  const late = frame?.classifyLate?.(operation);
  return late === undefined ? result : Promise.resolve(late).then(() => result);
}

/** A returned error string is an allowlisted code; an object is normalised like a thrown error. */
export function failure(error: unknown): OperationResult {
  return typeof error === 'string' ? { outcome: 'failure', errorCode: error } : { outcome: 'failure', error };
}
