/**
 * NextAuth v4 (`AuthOptions`, 4.24.x) and Auth.js v5 (`next-auth@5` beta config). Neither SDK
 * exposes a request-level hook, so the plugin observes the configuration's own extension points:
 * `callbacks.jwt` (runs on every session read, and is where apps rotate refresh tokens),
 * `callbacks.session`, `logger.error` (the only place decoding and sign-in failures surface) and
 * `events`. Everything else in the configuration is passed through untouched.
 */
import { observeFrameExchanges } from '../../core/refresh/frame-exchange.js';
import { defaultAccessTokenOf, defaultExpiresAtOf, defaultRefreshTokenOf } from '../../core/refresh/trace-token-refresh.js';
import type { AnyFunction } from '../wrap.js';
import { isOurs, isPromiseLike, type Config, type NextAuthContext, type NextAuthSdk } from './context.js';
import { instrumentEvents, instrumentLogger } from './events.js';
import { wrapJwt } from './jwt.js';
import { wrapSession } from './session.js';

export { CREATED_AT, type NextAuthSdk } from './context.js';

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
  observeFrameExchanges();
  const wrapped: Config = { ...config };
  const ctx: NextAuthContext = {
    // Auth.js v5 writes `basePath` into the configuration it is given (ours) before any callback runs.
    sdk: () => options.sdk ?? (typeof wrapped.basePath === 'string' ? 'authjs-v5' : 'next-auth-v4'),
    request,
    accessTokenOf: options.accessTokenOf ?? defaultAccessTokenOf,
    expiresAtOf: options.expiresAtOf ?? defaultExpiresAtOf,
    refreshTokenOf: options.refreshTokenOf ?? defaultRefreshTokenOf,
  };
  const callbacks: Record<string, unknown> = { ...(config.callbacks ?? {}) };
  const userJwt = callbacks.jwt as AnyFunction | undefined;
  const userSession = callbacks.session as AnyFunction | undefined;
  if (!isOurs(userJwt)) callbacks.jwt = wrapJwt(ctx, userJwt);
  if (typeof userSession === 'function' && !isOurs(userSession)) callbacks.session = wrapSession(ctx, userSession);
  wrapped.callbacks = callbacks;
  wrapped.events = instrumentEvents(ctx, config.events ?? {}, typeof userSession === 'function');
  wrapped.logger = instrumentLogger(ctx, options.sdk, (config.logger ?? {}) as Record<string, unknown>);
  return wrapped;
}
