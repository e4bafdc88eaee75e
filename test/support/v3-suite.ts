/**
 * The nextjs-auth0 v3 scenarios, run against the Node module and against the `/edge` module inside
 * the Edge runtime, for each v3 release in V3_VERSIONS (one small test file per runtime and
 * release). Real SDK, real IdP, real encrypted cookies; exact spans and metric points from real SDK
 * pipelines with in-memory exporters.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { NextRequest, NextResponse } from 'next/server';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { instrumentAuth0 } from '../../src/auth0.js';
import { METRICS, SPANS } from '../../src/core/telemetry/catalog.js';
import { withAuthTelemetry } from '../../src/core/next/middleware.js';
import { TestTelemetry, spanText } from './telemetry.js';
import { SCOPE, v3Config } from './v3-login-app.js';
import { V3_EDGE_MODULE, V3_NODE_MODULE, type V3Version } from './v3-sdks.js';

export const CHROME_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
export const DATADOG_UA = 'Datadog/Synthetics';

type V3 = Record<string, any>;

export type ReadmeMiddleware = (req: NextRequest) => Promise<Response>;

type Loaded = { bare: V3; errors: { AccessTokenError: new (...a: any[]) => Error }; readmeMiddleware?: () => Promise<ReadmeMiddleware> };

/** The Node module's `initAuth0()` instance form. */
export function loadV3Node(version: V3Version): () => Promise<Loaded> {
  return async () => {
    const sdk = (await V3_NODE_MODULE[version]()) as V3;
    return { bare: sdk.initAuth0(v3Config(inject('v3ByVersion')[version])), errors: { AccessTokenError: sdk.AccessTokenError } };
  };
}

/**
 * The `/edge` module's namespace form, as in the README's middleware: named exports configured
 * from the environment. The README's middleware itself imports `@auth0/nextjs-auth0/edge` (3.7.0
 * here), so it runs only in that release's suite.
 */
export function loadV3Edge(version: V3Version): () => Promise<Loaded> {
  return async () => {
    const env = inject('v3ByVersion')[version];
    Object.assign(process.env, {
      AUTH0_SECRET: env.secret,
      AUTH0_BASE_URL: env.appUrl,
      AUTH0_ISSUER_BASE_URL: env.issuer,
      AUTH0_CLIENT_ID: env.clientId,
      AUTH0_CLIENT_SECRET: env.clientSecret,
      AUTH0_SCOPE: SCOPE,
    });
    const sdk = (await V3_EDGE_MODULE[version]()) as V3;
    const readmeMiddleware = async () => (await import('../../docs/snippets/middleware.js')).middleware;
    return { bare: sdk, errors: { AccessTokenError: sdk.AccessTokenError }, readmeMiddleware: version === '3.7.0' ? readmeMiddleware : undefined };
  };
}

export function defineV3Suite(runtime: 'nodejs' | 'edge', version: V3Version, load: () => Promise<Loaded>): void {
  const env = inject('v3ByVersion')[version];
  const telemetry = new TestTelemetry();
  let auth0: V3;
  let AccessTokenError: new (...a: any[]) => Error;

  const login = async (user: string, ttl: number): Promise<string> => {
    const response = await fetch(`${env.appUrl}/__test/login?user=${user}&ttl=${ttl}`);
    const { cookie } = (await response.json()) as { cookie: string };
    expect(cookie).toMatch(/appSession(\.0)?=/);
    return cookie;
  };
  const request = (cookie: string | undefined, userAgent = CHROME_UA, extra: Record<string, string> = {}) =>
    new NextRequest(`${env.appUrl}/dashboard`, { headers: { 'user-agent': userAgent, ...(cookie ? { cookie } : {}), ...extra } });
  const count = (metric: string, filter: Record<string, unknown>) => telemetry.count(metric, { 'auth.runtime': runtime, ...filter });

  beforeAll(async () => {
    telemetry.install();
    const loaded = await load();
    auth0 = instrumentAuth0(loaded.bare);
    AccessTokenError = loaded.errors.AccessTokenError;
  });

  describe(`nextjs-auth0 ${version} (${runtime})`, () => {
    it('a valid session: session read found with its age, token served from the session without a refresh', async () => {
      const cookie = await login('alice', 3600);
      telemetry.reset();
      const before = await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' });
      const session = await auth0.getSession(request(cookie), NextResponse.next());
      expect(session.user.sub).toBeTypeOf('string');
      const token = await auth0.getAccessToken(request(cookie), NextResponse.next());
      expect(token.accessToken).toBeTypeOf('string');

      const [read] = telemetry.finishedSpans(SPANS.sessionRead.name);
      expect(read!.attributes).toMatchObject({
        'auth.sdk': 'nextjs-auth0-v3',
        'auth.outcome': 'found',
        'auth.runtime': runtime,
        'auth.user_agent.class': 'browser',
      });
      expect(read!.attributes['auth.session.age']).toBeGreaterThanOrEqual(0);
      expect(read!.attributes['auth.session.age']).toBeLessThan(120);
      const [get] = telemetry.finishedSpans(SPANS.tokenGet.name);
      expect(get!.attributes['auth.outcome']).toBe('cached');
      expect(telemetry.finishedSpans(SPANS.tokenRefresh.name)).toHaveLength(0);
      expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before + 1);
      const ages = await telemetry.points(METRICS.sessionAge.name, { 'auth.runtime': runtime });
      expect(ages.length).toBeGreaterThan(0);
      // Nothing secret leaves: no token, no cookie, no user id.
      const text = spanText(telemetry.finishedSpans());
      expect(text).not.toContain(token.accessToken);
      expect(text).not.toContain(session.user.sub);
      expect(text).not.toContain(cookie.slice(12, 60));
    });

    it('an expiring access token is refreshed: auth.token.refresh is a child of auth.token.get, and the new cookie is written', async () => {
      const cookie = await login('bob', 30); // inside the SDK's 60 s leeway: the next call refreshes
      telemetry.reset();
      const before = await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
      const response = NextResponse.next();
      const token = await auth0.getAccessToken(request(cookie), response);
      expect(token.accessToken).toBeTypeOf('string');
      expect(response.headers.getSetCookie().some((c) => c.startsWith('appSession'))).toBe(true);

      const [get] = telemetry.finishedSpans(SPANS.tokenGet.name);
      const [refresh] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
      expect(get!.attributes['auth.outcome']).toBe('refreshed');
      expect(refresh!.attributes).toMatchObject({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser', 'auth.runtime': runtime });
      expect(refresh!.parentSpanContext?.spanId).toBe(get!.spanContext().spanId);
      expect(refresh!.attributes['auth.token.expires_in']).toBeGreaterThan(0);
      expect(await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before + 1);
      const durations = await telemetry.points(METRICS.tokenRefreshDuration.name, { 'auth.outcome': 'success', 'auth.runtime': runtime });
      expect(durations.reduce((n, p) => n + (typeof p.value === 'number' ? 0 : p.value.count), 0)).toBeGreaterThanOrEqual(1);
    });

    it("the caller's access-token options reach the SDK unchanged: refresh, authorizationParams, afterRefresh and its result", async () => {
      const cookie = await login('alice', 3600); // far from expiry: only `refresh: true` makes the SDK refresh
      telemetry.reset();
      // An empty params object that notes when the exchange reads it, so we know it is the caller's object that arrived.
      let paramsEnumerated = false;
      const authorizationParams = new Proxy(
        {},
        {
          ownKeys: (target) => {
            paramsEnumerated = true;
            return Reflect.ownKeys(target);
          },
        },
      );
      const hookCalls: unknown[][] = [];
      const response = NextResponse.next();
      const token = await auth0.getAccessToken(request(cookie), response, {
        refresh: true,
        authorizationParams,
        afterRefresh: (...hookArgs: unknown[]) => {
          hookCalls.push(hookArgs);
          const session = hookArgs[hookArgs.length - 1] as { user: Record<string, unknown> };
          return { ...session, user: { ...session.user, marker: 'from-after-refresh' } };
        },
      });
      expect(token.accessToken).toBeTypeOf('string');
      expect(paramsEnumerated).toBe(true);
      expect(hookCalls).toHaveLength(1);
      const [refresh] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
      expect(refresh!.attributes['auth.outcome']).toBe('success');
      // The session the caller's hook returned is the one the SDK saved.
      const saved = response.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const session = await auth0.getSession(request(saved), NextResponse.next());
      expect(session.user.marker).toBe('from-after-refresh');
    });

    it('a refresh token revoked at the IdP: ERR_FAILED_REFRESH_GRANT from the SDK, invalid_grant on the refresh', async () => {
      const cookie = await login('bob', 30);
      await fetch(`${env.appUrl}/__test/revoke?user=bob`);
      telemetry.reset();
      const before = await count(METRICS.tokenRefreshes.name, {
        'auth.outcome': 'failure',
        'auth.error.code': 'invalid_grant',
        'auth.user_agent.class': 'browser',
      });
      const thrown = await auth0.getAccessToken(request(cookie), NextResponse.next()).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(AccessTokenError);
      expect((thrown as { code: string }).code).toBe('ERR_FAILED_REFRESH_GRANT');
      expect((thrown as { cause: { error: string } }).cause.error).toBe('invalid_grant');

      const [refresh] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
      expect(refresh!.attributes).toMatchObject({
        'auth.outcome': 'failure',
        'auth.error.code': 'invalid_grant',
        // The IdP's refusal, the same on every SDK and runtime; the SDK's AccessTokenError stays on auth.token.get.
        'error.type': 'OAuth2Error',
        'auth.error.cause': 'IdentityProviderError',
        'auth.refresh.failure_kind': 'terminal',
      });
      expect(refresh!.status.code).toBe(SpanStatusCode.ERROR);
      const [get] = telemetry.finishedSpans(SPANS.tokenGet.name);
      expect(get!.attributes).toMatchObject({ 'auth.outcome': 'error', 'auth.error.code': 'ERR_FAILED_REFRESH_GRANT', 'error.type': 'AccessTokenError' });
      expect(
        await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' }),
      ).toBe(before + 1);
    });

    it('an IdP outage (503 from the token endpoint) is a transient refresh failure, whatever error the SDK makes of it', async () => {
      const cookie = await login('alice', 30);
      telemetry.reset();
      const kind = (failureKind: string) =>
        count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.user_agent.class': 'browser', 'auth.refresh.failure_kind': failureKind });
      const [transientBefore, terminalBefore] = [await kind('transient'), await kind('terminal')];
      await fetch(`${env.appUrl}/__test/outage?status=503`);
      try {
        const thrown = await auth0.getAccessToken(request(cookie), NextResponse.next()).catch((e: unknown) => e);
        expect(thrown).toBeInstanceOf(Error);
      } finally {
        await fetch(`${env.appUrl}/__test/outage`);
      }
      const [refresh] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
      expect(refresh!.attributes).toMatchObject({ 'auth.outcome': 'failure', 'auth.refresh.failure_kind': 'transient' });
      expect(await kind('transient')).toBe(transientBefore + 1);
      expect(await kind('terminal')).toBe(terminalBefore);
      // The grant survived the outage: the same cookie refreshes now.
      const token = await auth0.getAccessToken(request(cookie), NextResponse.next());
      expect(token.accessToken).toBeTypeOf('string');
    });

    it('a session too big for one cookie: v3 writes appSession.0, appSession.1, … and the read measures all of them', async () => {
      const cookie = await login('carol', 3600);
      const parts = cookie.split('; ').filter((pair) => /^appSession\.\d+=/.test(pair));
      expect(parts.length).toBeGreaterThanOrEqual(2);
      const whole = parts.reduce((bytes, pair) => bytes + pair.length, 0);
      expect(whole).toBeGreaterThan(4096);
      const measured = async (metric: string) => {
        const points = await telemetry.points(metric, { 'auth.runtime': runtime, 'auth.outcome': 'found' });
        return points.reduce((sum, p) => sum + (typeof p.value === 'number' ? 0 : (p.value.sum ?? 0)), 0);
      };
      const [bytesBefore, chunksBefore] = [await measured(METRICS.sessionCookieSize.name), await measured(METRICS.sessionCookieChunks.name)];
      expect((await auth0.getSession(request(cookie), NextResponse.next())).user.sub).toBe('carol');
      // The age comes from the header in the first chunk.
      expect(telemetry.finishedSpans(SPANS.sessionRead.name).at(-1)!.attributes['auth.session.age']).toBeGreaterThanOrEqual(0);
      expect((await measured(METRICS.sessionCookieSize.name)) - bytesBefore).toBe(whole);
      expect((await measured(METRICS.sessionCookieChunks.name)) - chunksBefore).toBe(parts.length);
    });

    it('no cookie: ERR_MISSING_SESSION, the session read is missing', async () => {
      telemetry.reset();
      const thrown = await auth0.getAccessToken(request(undefined), NextResponse.next()).catch((e: unknown) => e);
      expect((thrown as { code: string }).code).toBe('ERR_MISSING_SESSION');
      expect(await auth0.getSession(request(undefined), NextResponse.next())).toBeFalsy();
      expect(telemetry.finishedSpans(SPANS.tokenGet.name)[0]!.attributes['auth.error.code']).toBe('ERR_MISSING_SESSION');
      expect(telemetry.finishedSpans(SPANS.sessionRead.name)[0]!.attributes['auth.outcome']).toBe('missing');
    });

    it('a tampered cookie is an invalid read (undecryptable), not a missing one', async () => {
      const cookie = await login('alice', 3600);
      const tampered = cookie.replace(/(appSession=[^.]*\.[^.]*\.[^.]*\.)(.)/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
      expect(tampered).not.toBe(cookie);
      telemetry.reset();
      const session = await auth0.getSession(request(tampered), NextResponse.next()).catch(() => null);
      expect(session).toBeFalsy();
      const [read] = telemetry.finishedSpans(SPANS.sessionRead.name);
      expect(read!.attributes['auth.outcome']).toBe('invalid');
      expect(read!.attributes['auth.session.invalid_reason']).toBe('undecryptable');
      expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'invalid', 'auth.session.invalid_reason': 'undecryptable' })).toBeGreaterThanOrEqual(1);
    });

    it('getAccessToken on a tampered cookie: ERR_MISSING_SESSION as the SDK throws it, plus an invalid session read', async () => {
      const cookie = await login('alice', 3600);
      const tampered = cookie.replace(/(appSession=[^.]*\.[^.]*\.[^.]*\.)(.)/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
      telemetry.reset();
      const thrown = await auth0.getAccessToken(request(tampered), NextResponse.next()).catch((e: unknown) => e);
      expect((thrown as { code: string }).code).toBe('ERR_MISSING_SESSION');
      const [get] = telemetry.finishedSpans(SPANS.tokenGet.name);
      const [read] = telemetry.finishedSpans(SPANS.sessionRead.name);
      expect(get!.attributes['auth.error.code']).toBe('ERR_MISSING_SESSION');
      expect(read!.parentSpanContext?.spanId ?? (read as unknown as { parentSpanId?: string }).parentSpanId).toBe(get!.spanContext().spanId);
      expect(read!.attributes['auth.outcome']).toBe('invalid');
      expect(read!.attributes['auth.session.invalid_reason']).toBe('undecryptable');

      // Without any cookie it stays a plain missing session: no read is invented.
      telemetry.reset();
      await auth0.getAccessToken(request(undefined), NextResponse.next()).catch(() => undefined);
      expect(telemetry.finishedSpans(SPANS.sessionRead.name)).toHaveLength(0);
    });

    it('getAccessToken + touchSession middleware: the same request from Datadog Synthetics is monitor noise, from Chrome a real user', async () => {
      // On Edge: the README's middleware.ts itself. On Node: the same code around the initAuth0() instance.
      const readme = await (await load()).readmeMiddleware?.();
      const middleware =
        readme ??
        withAuthTelemetry(async (req: NextRequest) => {
          const res = NextResponse.next();
          try {
            await auth0.getAccessToken(req, res);
            await auth0.touchSession(req, res);
          } catch {
            // The middleware logs and continues.
          }
          return res;
        });
      const cookie = await login('alice', 3600);
      telemetry.reset();
      const monitorBefore = await count(METRICS.tokenRequests.name, {
        'auth.outcome': 'error',
        'auth.error.code': 'ERR_MISSING_SESSION',
        'auth.user_agent.class': 'monitor',
      });
      const browserBefore = await count(METRICS.tokenRequests.name, { 'auth.outcome': 'cached', 'auth.user_agent.class': 'browser' });
      const customRunsBefore = await count(METRICS.middlewareRuns.name, { 'auth.sdk': 'custom' });
      const sdkProbeRunsBefore = await count(METRICS.middlewareRuns.name, { 'auth.sdk': 'nextjs-auth0-v3', 'auth.user_agent.class': 'monitor' });
      const probe = await middleware(request(undefined, DATADOG_UA, { 'x-datadog-origin': 'synthetics' }));
      const user = await middleware(request(cookie, CHROME_UA));
      expect(probe.headers.get('x-middleware-next')).toBe('1');
      expect(user.headers.get('x-middleware-next')).toBe('1');
      expect(
        await count(METRICS.tokenRequests.name, { 'auth.outcome': 'error', 'auth.error.code': 'ERR_MISSING_SESSION', 'auth.user_agent.class': 'monitor' }),
      ).toBe(monitorBefore + 1);
      expect(await count(METRICS.tokenRequests.name, { 'auth.outcome': 'cached', 'auth.user_agent.class': 'browser' })).toBe(browserBefore + 1);
      const runs = telemetry.finishedSpans(SPANS.middleware.name);
      expect(runs.map((s) => s.attributes['auth.user_agent.class'])).toEqual(['monitor', 'browser']);
      expect(runs.every((s) => s.attributes['auth.outcome'] === 'pass')).toBe(true);
      // The middleware is wrapped without `{ sdk }`: the SDK it calls names the middleware, on spans and metrics.
      expect(runs.map((s) => s.attributes['auth.sdk'])).toEqual(['nextjs-auth0-v3', 'nextjs-auth0-v3']);
      expect(await count(METRICS.middlewareRuns.name, { 'auth.sdk': 'custom' })).toBe(customRunsBefore);
      expect(await count(METRICS.middlewareRuns.name, { 'auth.sdk': 'nextjs-auth0-v3', 'auth.user_agent.class': 'monitor' })).toBe(sdkProbeRunsBefore + 1);
      const touches = telemetry.finishedSpans(SPANS.sessionTouch.name);
      // The probe's getAccessToken threw, so the middleware's touchSession never ran for it.
      expect(touches.map((s) => [s.attributes['auth.user_agent.class'], s.attributes['auth.outcome']])).toEqual([['browser', 'touched']]);
      const [probeToken] = telemetry.finishedSpans(SPANS.tokenGet.name);
      expect(probeToken!.attributes).toMatchObject({ 'auth.user_agent.class': 'monitor', 'user_agent.synthetic.type': 'test' });
      if (runtime === 'nodejs') expect(probeToken!.parentSpanContext?.spanId).toBe(runs[0]!.spanContext().spanId);
    });

    it('wrapped functions return and throw exactly what the SDK does', async () => {
      const cookie = await login('alice', 3600);
      const bare = (await load()).bare;
      const [bareSession, wrappedSession] = [
        await bare.getSession(request(cookie), NextResponse.next()),
        await auth0.getSession(request(cookie), NextResponse.next()),
      ];
      expect(wrappedSession).toEqual(bareSession);
      const bareError = await bare.getAccessToken(request(undefined), NextResponse.next()).catch((e: unknown) => e);
      const wrappedError = await auth0.getAccessToken(request(undefined), NextResponse.next()).catch((e: unknown) => e);
      expect(Object.getPrototypeOf(wrappedError)).toBe(Object.getPrototypeOf(bareError));
      expect(wrappedError).toMatchObject({ code: (bareError as { code: string }).code, message: (bareError as Error).message });
      // The rolling cookie the SDK writes survives wrapping.
      const response = NextResponse.next();
      await auth0.touchSession(request(cookie), response);
      expect(response.headers.getSetCookie().filter((c) => c.startsWith('appSession')).length).toBeGreaterThan(0);
    });

    it('handleAuth: login redirects, a callback without state fails with its handler code and cause', async () => {
      telemetry.reset();
      const handler = auth0.handleAuth();
      const login = await handler(new NextRequest(`${env.appUrl}/api/auth/login`, { headers: { 'user-agent': CHROME_UA } }), { params: { auth0: 'login' } });
      expect(login.status).toBeGreaterThanOrEqual(300);
      const callback = await handler(new NextRequest(`${env.appUrl}/api/auth/callback?code=x&state=y`, { headers: { 'user-agent': CHROME_UA } }), {
        params: { auth0: 'callback' },
      });
      expect(callback.status).toBeGreaterThanOrEqual(400);
      const handlers = telemetry.finishedSpans(SPANS.handler.name);
      expect(handlers.map((s) => [s.attributes['auth.handler.kind'], s.attributes['auth.outcome']])).toEqual([
        ['login', 'redirect'],
        ['callback', 'error'],
      ]);
      expect(handlers[1]!.attributes).toMatchObject({ 'auth.error.code': 'ERR_CALLBACK_HANDLER_FAILURE', 'auth.error.cause': 'MissingStateCookieError' });
    });

    it('withApiAuthRequired: a request without a session is a missing read and a 401; with one the route runs', async () => {
      const cookie = await login('alice', 3600);
      telemetry.reset();
      const route = auth0.withApiAuthRequired(async () => Response.json({ ok: true }));
      const anonymous = await route(new NextRequest(`${env.appUrl}/api/orders`, { headers: { 'user-agent': 'curl/8.5.0' } }), { params: {} });
      expect(anonymous.status).toBe(401);
      const user = await route(request(cookie), { params: {} });
      expect(await user.json()).toEqual({ ok: true });
      const reads = telemetry.finishedSpans(SPANS.sessionRead.name).map((s) => [s.attributes['auth.outcome'], s.attributes['auth.user_agent.class']]);
      expect(reads).toEqual([
        ['missing', 'cli'],
        ['found', 'browser'],
      ]);
    });

    if (runtime === 'edge') {
      it('withMiddlewareAuthRequired: a missing session redirects and is recorded as such; a session passes', async () => {
        const cookie = await login('alice', 3600);
        telemetry.reset();
        const guarded = auth0.withMiddlewareAuthRequired(async () => NextResponse.next());
        const anonymous = await guarded(request(undefined), {});
        expect(anonymous.status).toBeGreaterThanOrEqual(300);
        const user = await guarded(request(cookie), {});
        expect(user.headers.get('x-middleware-next')).toBe('1');
        const reads = telemetry.finishedSpans(SPANS.sessionRead.name).map((s) => s.attributes['auth.outcome']);
        const runs = telemetry.finishedSpans(SPANS.middleware.name).map((s) => s.attributes['auth.outcome']);
        expect(reads).toEqual(['missing', 'found']);
        expect(runs).toEqual(['redirect', 'pass']);
      });
    }
  });
}
