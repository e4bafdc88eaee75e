/**
 * @auth0/nextjs-auth0 v3 (3.7.x): the module namespace, its `/edge` namespace, or an
 * `initAuth0()` instance. Only the functions the caller passed in are called, never the package's
 * named exports: v3 throws when named exports and an `initAuth0()` instance are mixed.
 */
import type { AnyFunction } from '../../wrap.js';
import { wrapGetAccessToken } from './access-token.js';
import type { V3Context } from './context.js';
import { wrapWithApiAuthRequired, wrapWithMiddlewareAuthRequired, wrapWithPageAuthRequired } from './guards.js';
import { HANDLERS, wrapHandleAuth, wrapHandler } from './handlers.js';
import { wrapGetSession, wrapSessionWrite } from './session.js';

export type Auth0V3Options = {
  /** The session cookie name when changed with `AUTH0_SESSION_NAME` / `session.name`. Default `appSession`. */
  sessionCookieName?: string;
};

const V3_FUNCTIONS = ['getSession', 'getAccessToken', 'touchSession', 'updateSession', 'withApiAuthRequired', 'withPageAuthRequired', 'handleAuth'] as const;

/** True for the v3 namespaces and `initAuth0()` instances: plain functions, no `Auth0Client` class. */
export function isAuth0V3(target: unknown): boolean {
  if (typeof target !== 'object' || target === null) return false;
  const candidate = target as Record<string, unknown>;
  return V3_FUNCTIONS.every((name) => typeof candidate[name] === 'function') && typeof candidate.middleware !== 'function';
}

type Wrapper = (ctx: V3Context, original: AnyFunction) => AnyFunction;

const WRAPPERS: readonly (readonly [name: string, wrap: Wrapper])[] = [
  ['getSession', wrapGetSession],
  ['getAccessToken', wrapGetAccessToken],
  ['touchSession', (ctx, original) => wrapSessionWrite(ctx, original, 'sessionTouch', 'touchSession')],
  ['updateSession', (ctx, original) => wrapSessionWrite(ctx, original, 'sessionUpdate', 'updateSession')],
  ['withMiddlewareAuthRequired', wrapWithMiddlewareAuthRequired],
  ['withApiAuthRequired', wrapWithApiAuthRequired],
  ['withPageAuthRequired', wrapWithPageAuthRequired],
  ...HANDLERS.map(([name, kind]) => [name, (_ctx: V3Context, original: AnyFunction) => wrapHandler(original, kind, name)] as const),
  ['handleAuth', wrapHandleAuth],
];

/** A copy of the v3 namespace or instance with each function it has replaced by its instrumented form. */
export function instrumentAuth0V3<T extends object>(target: T, options: Auth0V3Options = {}): T {
  const source = target as Record<string, AnyFunction | undefined>;
  const ctx: V3Context = { source, cookieName: options.sessionCookieName ?? 'appSession' };
  const wrapped: Record<string, unknown> = { ...(target as Record<string, unknown>) };
  for (const [name, wrap] of WRAPPERS) {
    const original = source[name];
    if (original) wrapped[name] = wrap(ctx, original);
  }
  return wrapped as T;
}
