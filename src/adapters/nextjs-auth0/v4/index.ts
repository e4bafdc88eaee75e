/**
 * @auth0/nextjs-auth0 v4 (4.x, tested with 4.30.0): an `Auth0Client` instance. Its methods use
 * `#private` fields, so a Proxy (or a copy) calling them with another `this` throws; the methods
 * are replaced on the instance itself, each calling the original bound to the instance.
 *
 * v4 reports almost nothing: an expired, undecryptable or invalid session cookie is silently
 * "no session", and there is no logger or telemetry hook. What it does give:
 * - the session itself (`internal.createdAt` for the session age);
 * - a `fetch` it calls exactly when it exchanges a refresh token (see core/refresh/exchange.ts);
 * - the cookies it writes on the responses it returns.
 * Everything else is inferred from the request's cookie without the secret.
 */
import { observeTokenEndpoint, type FetchLike } from '../../../core/refresh/exchange.js';
import type { AnyFunction } from '../../wrap.js';
import { wrapGetAccessToken, wrapGetAccessTokenForConnection } from './access-token.js';
import { SDK, createContext, type V4Client, type V4Context } from './context.js';
import { wrapMiddleware } from './middleware.js';
import { wrapGetSession, wrapUpdateSession } from './session.js';

export { v4InvalidCookieReason } from './session-cookie.js';

const INSTRUMENTED = Symbol.for('nextjs-auth-otel.nextjs-auth0-v4');

export type Auth0V4Options = {
  /** The session cookie name when changed with `session.cookie.name`. Default: what the client uses, `__session`. */
  sessionCookieName?: string;
};

/** An `Auth0Client`: `middleware`, `getSession`, `getAccessToken`, `updateSession` methods and no v3 `handleAuth`. */
export function isAuth0V4(target: unknown): boolean {
  if (typeof target !== 'object' || target === null) return false;
  const candidate = target as Record<string, unknown>;
  return (
    ['middleware', 'getSession', 'getAccessToken', 'updateSession'].every((name) => typeof candidate[name] === 'function') &&
    typeof candidate.handleAuth !== 'function'
  );
}

type Wrapper = (ctx: V4Context, original: AnyFunction) => AnyFunction;

const WRAPPERS: readonly (readonly [name: string, wrap: Wrapper])[] = [
  ['getSession', wrapGetSession],
  ['getAccessToken', wrapGetAccessToken],
  ['getAccessTokenForConnection', wrapGetAccessTokenForConnection],
  ['updateSession', wrapUpdateSession],
  ['middleware', wrapMiddleware],
];

/** Replaces the client's methods in place, each calling the original bound to the client; returns the client. */
export function instrumentAuth0V4<T extends object>(target: T, options: Auth0V4Options = {}): T {
  const client = target as unknown as V4Client;
  if (client[INSTRUMENTED] === true) return target;
  const ctx = createContext(client, options.sessionCookieName);
  instrumentAuthClients(client);
  for (const [name, wrap] of WRAPPERS) {
    const fn = client[name];
    if (typeof fn === 'function') client[name] = wrap(ctx, (fn as AnyFunction).bind(client));
  }
  Object.defineProperty(client, INSTRUMENTED, { value: true });
  return target;
}

/**
 * A `fetch` for `new Auth0Client({ customFetch })` (4.23 and later) that records the client's
 * refresh-token exchanges through the SDK's public hook, without its internals. Wraps the app's
 * own fetch when given one (an mTLS agent, a proxy), else the global `fetch` at call time. An
 * exchange that also passes the internal fetch `instrumentAuth0` patches is recorded once.
 */
export function withFetchTelemetry<F extends FetchLike = typeof fetch>(baseFetch?: F): F {
  const base: FetchLike = baseFetch ?? ((input, init) => globalThis.fetch(input, init));
  return observeTokenEndpoint(SDK, base) as F;
}

const instrumentedAuthClients = new WeakSet<object>();

/** The SDK's internal clients call `this.fetch` for every IdP request, refresh exchanges included. */
function instrumentAuthClient(authClient: unknown): void {
  if (typeof authClient !== 'object' || authClient === null || instrumentedAuthClients.has(authClient)) return;
  const holder = authClient as { fetch?: unknown };
  if (typeof holder.fetch !== 'function') return;
  instrumentedAuthClients.add(authClient);
  holder.fetch = observeTokenEndpoint(SDK, holder.fetch as AnyFunction);
}

function instrumentAuthClients(client: V4Client): void {
  try {
    const provider = client.provider;
    if (provider !== undefined && provider !== null) {
      instrumentAuthClient(provider.getAuthClientForStaticMode?.call(provider));
      const forRequest = provider.forRequest;
      // A domain resolver (multiple custom domains) creates internal clients per domain, lazily.
      if (provider.isResolverMode === true && typeof forRequest === 'function') {
        provider.forRequest = async function (this: unknown, ...args: unknown[]) {
          const authClient: unknown = await forRequest.apply(this, args);
          instrumentAuthClient(authClient);
          return authClient;
        };
      }
    }
    // Earlier 4.x releases hold a single internal client.
    instrumentAuthClient(client.authClient);
  } catch {
    // A feature probe of SDK internals that differ across 4.x: without it, refreshes are still
    // recognised from their results (see getAccessToken).
  }
}
