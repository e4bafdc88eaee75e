/**
 * @auth0/nextjs-auth0 v4 (4.x, tested with 4.30.0): an `Auth0Client` instance. Its methods use
 * `#private` fields, so a Proxy (or a copy) calling them with another `this` throws; the methods
 * are replaced on the instance itself, each calling the original bound to the instance.
 *
 * v4 reports almost nothing: since 4.9 an expired, undecryptable or invalid session cookie is
 * silently "no session", and there is no logger or telemetry hook. What it does give:
 * - the session itself (`internal.createdAt` for the session age);
 * - a `fetch` it calls exactly when it exchanges a refresh token (see core/exchange.ts);
 * - the cookies it writes on the responses it returns.
 * Everything else is inferred from the request's cookie without the secret.
 */
import { isNextControlFlow } from '../../core/errors.js';
import { activeExchangeHost, observeTokenEndpoint, runAsExchangeHost, type ExchangeHost } from '../../core/exchange.js';
import { readHeader, setCookiesOf } from '../../core/headers.js';
import { expectSessionCookies } from '../../core/middleware.js';
import { observeCall, startOperation, type Operation, type OperationResult } from '../../core/operation.js';
import { appRouterRequest } from '../next/app-router.js';

const SDK = 'nextjs-auth0-v4';
const INSTRUMENTED = Symbol.for('nextjs-auth-otel.nextjs-auth0-v4');

export type Auth0V4Options = {
  /** The session cookie name when changed with `session.cookie.name`. Default: what the client uses, `__session`. */
  sessionCookieName?: string;
};

type AnyFunction = (...args: any[]) => any;
type V4Session = { user?: { sub?: unknown }; internal?: { createdAt?: unknown } };
type V4Client = Record<string | symbol, unknown> & {
  routes?: Record<string, unknown>;
  sessionStore?: { sessionCookieName?: unknown; isRolling?: unknown; beforeSessionRolled?: unknown };
  provider?: { isResolverMode?: unknown; getAuthClientForStaticMode?: () => unknown; forRequest?: AnyFunction };
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

function isRequestLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'headers' in value && ('url' in value || 'method' in value);
}

function mark<F extends AnyFunction>(fn: F, name: string): F {
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}

// ---------------------------------------------------------------------------------------------
// The session cookie, read without the secret
// ---------------------------------------------------------------------------------------------

/** What the request's cookies say about the session cookie: absent, or present with its value. */
type CookieFacts = { present: false } | { present: true; value: string | undefined };

const CHUNK = /^(.*)__(\d+)$/;

/**
 * The session cookie as v4 reads it: the cookie itself, else its `name__N` chunks joined. An
 * incomplete chunk set is present but has no value (v4 treats it as no session).
 */
function sessionCookieFrom(entries: Iterable<[string, string]>, name: string): CookieFacts {
  const chunks: [number, string][] = [];
  for (const [key, value] of entries) {
    if (key === name) {
      if (value !== '') return { present: true, value };
      continue;
    }
    const chunk = CHUNK.exec(key);
    if (chunk !== null && chunk[1] === name) chunks.push([Number(chunk[2]), value]);
  }
  if (chunks.length === 0) return { present: false };
  chunks.sort((a, b) => a[0] - b[0]);
  const complete = chunks[chunks.length - 1]![0] === chunks.length - 1;
  return { present: true, value: complete ? chunks.map((c) => c[1]).join('') : undefined };
}

function* cookiePairs(header: string): Iterable<[string, string]> {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    yield [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  }
}

function cookieFactsOfHeader(header: string | undefined, name: string): CookieFacts {
  if (!header || !header.includes(name)) return { present: false };
  return sessionCookieFrom(cookiePairs(header), name);
}

type CookieStore = { getAll?: () => { name: string; value: string }[] };

function cookieFactsOfStore(cookies: CookieStore, name: string): CookieFacts {
  const all = typeof cookies.getAll === 'function' ? cookies.getAll() : [];
  return sessionCookieFrom(
    all.map((c) => [c.name, c.value] as [string, string]),
    name,
  );
}

function base64UrlJson(segment: string): Record<string, unknown> | undefined {
  try {
    const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
    const parsed = JSON.parse(atob(base64 + '==='.slice((base64.length + 3) % 4))) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a present session cookie gave no session. v4 writes a compact JWE with only
 * `{"alg":"dir","enc":"A256GCM"}` in the clear (`exp` is inside the ciphertext), so:
 * - broken structure (truncated, a missing chunk, a mangled header) is `malformed`;
 * - a well-formed JWE that v4 cannot have written (another algorithm) is `undecryptable`;
 * - a well-formed v4 JWE is expired, encrypted with another secret or tampered with inside the
 *   ciphertext: without the secret these look the same, so `unknown`.
 */
export function v4InvalidCookieReason(value: string | undefined): 'malformed' | 'undecryptable' | 'unknown' {
  if (value === undefined || value === '') return 'malformed';
  const parts = value.split('.');
  if (parts.length !== 5) return 'malformed';
  const header = base64UrlJson(parts[0]!);
  if (header === undefined || typeof header.alg !== 'string' || typeof header.enc !== 'string') return 'malformed';
  if (header.alg !== 'dir' || header.enc !== 'A256GCM') return 'undecryptable';
  // `dir` has no encrypted key; A256GCM has a 96-bit IV and a 128-bit tag.
  if (parts[1] !== '' || parts[2]!.length !== 16 || parts[4]!.length !== 22 || parts[3]!.length === 0) return 'malformed';
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------
// Instrumentation
// ---------------------------------------------------------------------------------------------

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
    // Without it, refreshes are still recognised from their results (see getAccessToken).
  }
}

export function instrumentAuth0V4<T extends object>(target: T, options: Auth0V4Options = {}): T {
  const client = target as unknown as V4Client;
  if (client[INSTRUMENTED] === true) return target;
  const configuredName = client.sessionStore?.sessionCookieName;
  const cookieName = options.sessionCookieName ?? (typeof configuredName === 'string' ? configuredName : '__session');
  const isSessionCookie = (name: string): boolean => name === cookieName || (name.startsWith(cookieName + '__') && /^\d+$/.test(name.slice(cookieName.length + 2)));
  const original = (name: string): AnyFunction | undefined => {
    const fn = client[name];
    return typeof fn === 'function' ? (fn as AnyFunction).bind(client) : undefined;
  };
  instrumentAuthClients(client);

  /** The session cookie of the call's request, or of the App Router request when the call form has none. */
  const cookieFacts = (request: unknown, operation: Operation): CookieFacts | Promise<CookieFacts> => {
    if (request !== undefined) return cookieFactsOfHeader(readHeader(request as never, 'cookie'), cookieName);
    return appRouterRequest().then((appRouter) => {
      if (appRouter === undefined) return { present: false } as const;
      operation.classifyLate(appRouter.headers);
      return cookieFactsOfStore(appRouter.cookies as CookieStore, cookieName);
    });
  };

  const readFacts = (session: V4Session | null | undefined, cookie: CookieFacts): OperationResult => {
    if (session) return { outcome: 'found', sessionAge: sessionAgeOf(session), userId: subOf(session) };
    if (cookie.present) return { outcome: 'invalid', invalidReason: v4InvalidCookieReason(cookie.value) };
    return { outcome: 'missing' };
  };

  const getSession = original('getSession');
  if (getSession) {
    client.getSession = mark(function (...args: unknown[]) {
      // updateSession and createFetcher read the session through `this.getSession`: their own
      // spans already cover that read.
      if (insideHost()) return getSession(...args);
      const request = isRequestLike(args[0]) ? args[0] : undefined;
      return observeCall('sessionRead', { sdk: SDK, request }, () => getSession(...args), {
        result: (session: V4Session | null | undefined, operation) => {
          if (session && request !== undefined) return readFacts(session, { present: true, value: undefined });
          const cookie = cookieFacts(request, operation);
          return cookie instanceof Promise ? cookie.then((c) => readFacts(session, c)) : readFacts(session, cookie);
        },
        error: (thrown) => ({ outcome: 'error', error: thrown }),
      });
    }, 'getSession');
  }

  const getAccessToken = original('getAccessToken');
  if (getAccessToken) {
    client.getAccessToken = mark(async function (...args: unknown[]) {
      const request = isRequestLike(args[0]) ? args[0] : undefined;
      const response = request !== undefined ? args[1] : undefined;
      const operation = startOperation('tokenGet', { sdk: SDK, request });
      // In the App Router forms the SDK writes through `cookies().set()`, which Server Components
      // silently refuse; comparing the cookie before and after shows whether a refresh landed.
      const appRouter = request === undefined ? await appRouterRequest() : undefined;
      // Before the call, so a refresh child started during it inherits the request's class.
      operation.classifyLate(appRouter?.headers);
      const before = appRouter && cookieFactsOfStore(appRouter.cookies as CookieStore, cookieName);
      const writesBefore = response !== undefined ? sessionWrites(response, isSessionCookie) : 0;
      let host: ExchangeHost | undefined;
      let result: { token?: unknown; expiresAt?: unknown } | undefined;
      try {
        const hosted = runAsExchangeHost(operation, () => getAccessToken(...args) as Promise<typeof result>);
        host = hosted.host;
        result = await hosted.result;
      } catch (thrown) {
        if (host !== undefined) {
          // Seen only through its result when no context carried the exchange to us.
          if (host.refresh === undefined && codeOf(thrown) === 'failed_to_refresh_token') host.refresh = lateRefresh(operation, request);
          host.settleRefresh(false, { error: thrown });
        }
        operation.end({ outcome: 'error', error: thrown });
        throw thrown;
      }
      const exchange = host!;
      try {
        const tokenExpiresIn = secondsUntil(result?.expiresAt);
        const wrote =
          response !== undefined
            ? sessionWrites(response, isSessionCookie) > writesBefore
            : appRouter !== undefined && before !== undefined && !sameCookie(before, cookieFactsOfStore(appRouter.cookies as CookieStore, cookieName));
        // The SDK writes the session only when the token set changed, i.e. after a refresh.
        if (exchange.refresh === undefined && wrote) exchange.refresh = lateRefresh(operation, request);
        const refreshed = exchange.refresh !== undefined;
        exchange.settleRefresh(true, { tokenExpiresIn });
        if (refreshed && appRouter !== undefined && !wrote) operation.unpersisted('read_only_context');
        if (response !== undefined && wrote) expectSessionCookies(request, response, isSessionCookie);
        operation.end({ outcome: refreshed ? 'refreshed' : 'cached', tokenExpiresIn });
      } catch {
        operation.end({ outcome: exchange.refresh !== undefined ? 'refreshed' : 'cached' });
      }
      return result;
    }, 'getAccessToken');
  }

  const getAccessTokenForConnection = original('getAccessTokenForConnection');
  if (getAccessTokenForConnection) {
    client.getAccessTokenForConnection = mark(function (...args: unknown[]) {
      const request = isRequestLike(args[1]) ? args[1] : undefined;
      let host: ExchangeHost | undefined;
      return observeCall(
        'tokenGet',
        { sdk: SDK, request },
        (operation) => {
          const hosted = runAsExchangeHost(operation, () => getAccessTokenForConnection(...args));
          host = hosted.host;
          return hosted.result;
        },
        {
          result: (value: { expiresAt?: unknown } | undefined) => ({
            outcome: host?.exchanged === true ? 'refreshed' : 'cached',
            tokenExpiresIn: secondsUntil(value?.expiresAt),
          }),
          error: (thrown) => ({ outcome: 'error', error: thrown }),
        },
      );
    }, 'getAccessTokenForConnection');
  }

  const updateSession = original('updateSession');
  if (updateSession) {
    client.updateSession = mark(function (...args: unknown[]) {
      const request = isRequestLike(args[0]) ? args[0] : undefined;
      return observeCall('sessionUpdate', { sdk: SDK, request }, (operation) => runAsExchangeHost(operation, () => updateSession(...args)).result, {
        result: () => {
          if (request !== undefined && args[1] !== undefined) expectSessionCookies(request, args[1], isSessionCookie);
          return { outcome: 'success' };
        },
        // v4 throws a plain Error when there is no session to update.
        error: (thrown) => (isNotAuthenticated(thrown) ? { outcome: 'missing' } : { outcome: 'error', error: thrown }),
      });
    }, 'updateSession');
  }

  const middleware = original('middleware');
  if (middleware) {
    client.middleware = mark(function (request: unknown, ...rest: unknown[]) {
      const kind = handlerKindOf(request, client.routes);
      if (kind !== undefined) return runHandler(kind, request, () => middleware(request, ...rest));
      return runRollingTouch(request, () => middleware(request, ...rest));
    }, 'middleware');
  }

  /** An auth route served by `auth0.middleware`: login, callback, logout, profile, access-token, backchannel logout. */
  const runHandler = (kind: string, request: unknown, call: () => unknown): unknown => {
    let host: ExchangeHost | undefined;
    return observeCall(
      'handler',
      { sdk: SDK, request },
      (operation) => {
        const hosted = runAsExchangeHost(operation, call);
        host = hosted.host;
        return hosted.result;
      },
      {
        result: (response: unknown) => {
          expectSessionCookies(request, response, isSessionCookie);
          const status = statusOf(response);
          const failed = status !== undefined && status >= 400;
          if (!failed || kind !== 'access-token') {
            host?.settleRefresh(!failed);
            return handlerResult(kind, status);
          }
          // The access-token route answers failures as JSON with the SDK's error code.
          return errorCodeOfJson(response).then((code) => {
            host?.settleRefresh(false);
            return { ...handlerResult(kind, status), errorCode: code };
          });
        },
        error: (thrown) => {
          host?.settleRefresh(false, { error: thrown });
          return { outcome: 'error', error: thrown, handlerKind: kind };
        },
      },
    );
  };

  /**
   * Any other path: with rolling sessions v4 reads the session and writes it back with a new
   * expiry. No write although a session cookie came in means the cookie was unreadable, the
   * silent seed-002 case, recorded as an `invalid` session read.
   */
  const runRollingTouch = (request: unknown, call: () => unknown): unknown => {
    const store = client.sessionStore;
    // Without rolling (or with a hook that may veto it) the SDK does not read the session here.
    if (store?.isRolling === false || typeof store?.beforeSessionRolled === 'function') return call();
    let cookie: CookieFacts | undefined;
    return observeCall(
      'sessionTouch',
      { sdk: SDK, request },
      () => {
        cookie = cookieFactsOfHeader(readHeader(request as never, 'cookie'), cookieName);
        return call();
      },
      {
        result: (response: unknown, operation) => {
          expectSessionCookies(request, response, isSessionCookie);
          const touched = sessionWrites(response, isSessionCookie) > 0;
          const facts: CookieFacts = cookie ?? { present: false };
          const read = operation.child('sessionRead');
          read.end(touched ? { outcome: 'found' } : readFacts(undefined, facts));
          return { outcome: touched ? 'touched' : 'missing' };
        },
        error: (thrown) => ({ outcome: 'error', error: thrown }),
      },
    );
  };

  Object.defineProperty(client, INSTRUMENTED, { value: true });
  return target;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function insideHost(): boolean {
  return activeExchangeHost() !== undefined;
}

/** A refresh recognised only from its result: timed from the start of the token request. */
function lateRefresh(operation: Operation, request: unknown): Operation {
  return operation.run(() => startOperation('tokenRefresh', { sdk: SDK, request }, operation.startedAt));
}

const ROUTE_KINDS: readonly (readonly [routeKey: string, kind: string, method: string, fallback: string])[] = [
  ['login', 'login', 'GET', '/auth/login'],
  ['callback', 'callback', 'GET', '/auth/callback'],
  ['logout', 'logout', 'GET', '/auth/logout'],
  ['profile', 'profile', 'GET', '/auth/profile'],
  ['accessToken', 'access-token', 'GET', '/auth/access-token'],
  ['backChannelLogout', 'backchannel-logout', 'POST', '/auth/backchannel-logout'],
];

/** The auth route a request is for, matched the way the SDK's router does (path after basePath, method). */
function handlerKindOf(request: unknown, routes: Record<string, unknown> | undefined): string | undefined {
  try {
    const req = request as { nextUrl?: { pathname?: string; basePath?: string }; url?: string; method?: string };
    let pathname = req.nextUrl?.pathname ?? (typeof req.url === 'string' ? new URL(req.url).pathname : undefined);
    if (typeof pathname !== 'string') return undefined;
    const basePath = req.nextUrl?.basePath;
    if (basePath && pathname.startsWith(basePath)) pathname = pathname.slice(basePath.length) || '/';
    if (pathname.length > 1 && pathname.endsWith('/')) pathname = pathname.slice(0, -1);
    const method = (req.method ?? 'GET').toUpperCase();
    for (const [key, kind, routeMethod, fallback] of ROUTE_KINDS) {
      const route = typeof routes?.[key] === 'string' ? (routes[key] as string) : fallback;
      if (pathname === route && method === routeMethod) return kind;
    }
  } catch {
    // An odd request is served as a plain page.
  }
  return undefined;
}

function statusOf(response: unknown): number | undefined {
  const status = (response as { status?: unknown } | null | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

function handlerResult(kind: string, status: number | undefined): OperationResult {
  if (status === undefined || status < 300) return { outcome: 'success', handlerKind: kind, statusCode: status };
  if (status < 400) return { outcome: 'redirect', handlerKind: kind, statusCode: status };
  return { outcome: 'error', handlerKind: kind, statusCode: status, errorType: status >= 500 ? String(status) : undefined };
}

async function errorCodeOfJson(response: unknown): Promise<string | undefined> {
  try {
    const body = (await (response as Response).clone().json()) as { error?: { code?: unknown } };
    return typeof body?.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** How many session cookies a response stores a value in (deletions of stale chunks do not count). */
function sessionWrites(response: unknown, isSessionCookie: (name: string) => boolean): number {
  let count = 0;
  for (const setCookie of setCookiesOf(response)) {
    const eq = setCookie.indexOf('=');
    if (eq <= 0 || !isSessionCookie(setCookie.slice(0, eq).trim())) continue;
    const semicolon = setCookie.indexOf(';');
    const value = setCookie.slice(eq + 1, semicolon === -1 ? undefined : semicolon).trim();
    if (value !== '' && !/;\s*max-age\s*=\s*0\s*(;|$)/i.test(setCookie)) count++;
  }
  return count;
}

function sameCookie(a: CookieFacts, b: CookieFacts): boolean {
  if (!a.present || !b.present) return a.present === b.present;
  return a.value === b.value;
}

function codeOf(thrown: unknown): unknown {
  return typeof thrown === 'object' && thrown !== null ? (thrown as { code?: unknown }).code : undefined;
}

function isNotAuthenticated(thrown: unknown): boolean {
  if (isNextControlFlow(thrown)) return false;
  const message = typeof thrown === 'object' && thrown !== null ? (thrown as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message.includes('not authenticated');
}

function secondsUntil(epochSeconds: unknown): number | undefined {
  return typeof epochSeconds === 'number' && Number.isFinite(epochSeconds) ? epochSeconds - Date.now() / 1000 : undefined;
}

function sessionAgeOf(session: V4Session): number | undefined {
  const createdAt = session.internal?.createdAt;
  return typeof createdAt === 'number' && Number.isFinite(createdAt) ? Math.max(0, Date.now() / 1000 - createdAt) : undefined;
}

function subOf(session: V4Session | null | undefined): string | undefined {
  const sub = session?.user?.sub;
  return typeof sub === 'string' ? sub : undefined;
}
