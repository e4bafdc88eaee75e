import { AuthTelemetryConfigError } from './core/engine/config.js';
import { instrumentAuth0V3, isAuth0V3, type Auth0V3Options } from './adapters/nextjs-auth0/v3/index.js';
import { instrumentAuth0V4, isAuth0V4, type Auth0V4Options } from './adapters/nextjs-auth0/v4/index.js';

export type InstrumentAuth0Options = Auth0V3Options & Auth0V4Options;

/**
 * v3: returns the given `@auth0/nextjs-auth0` module, `/edge` module or `initAuth0()` instance
 * with every session, token, middleware and handler function recording telemetry; use the
 * returned object everywhere the original was used.
 *
 * v4: instruments the given `Auth0Client` itself (its methods are replaced on the instance, bound
 * to it) and returns it.
 */
export function instrumentAuth0<T extends object>(target: T, options?: InstrumentAuth0Options): T {
  if (isAuth0V4(target)) return instrumentAuth0V4(target, options);
  if (isAuth0V3(target)) return instrumentAuth0V3(target, options);
  throw new AuthTelemetryConfigError(
    'nextjs-auth-otel: instrumentAuth0() expects a v4 Auth0Client, or for v3 the @auth0/nextjs-auth0 module, its /edge module, or an initAuth0() instance ' +
      `(an object with getSession, getAccessToken, middleware or handleAuth, …); got ${describe(target)}.`,
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const keys = Object.keys(value).slice(0, 6);
  return keys.length ? `an object with ${keys.join(', ')}` : 'an empty object';
}

export { withAuthTelemetry } from './core/next/middleware.js';
export type { MiddlewareTelemetryOptions } from './core/next/middleware.js';
export { withRequestTelemetry } from './core/next/request-telemetry.js';
export type { RequestTelemetryOptions } from './core/next/request-telemetry.js';
export { withFetchTelemetry } from './adapters/nextjs-auth0/v4/index.js';
