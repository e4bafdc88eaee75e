/**
 * nextjs-auth0 v4 (4.30.0) against the real oidc-provider IdP on loopback: real logins through the
 * SDK's own routes, real encrypted cookies, real refresh-token exchanges and revocations. Spans and
 * metric points come from real SDK pipelines with in-memory exporters.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { NextRequest, NextResponse } from 'next/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessTokenError } from '@auth0/nextjs-auth0-v4/errors';
import type { Auth0Client } from '@auth0/nextjs-auth0-v4/server';
import { instrumentAuth0 } from '../src/auth0.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { DEFAULT_RACE_WINDOW_SECONDS } from '../src/core/refresh/refresh-ledger.js';
import { withAuthTelemetry } from '../src/core/next/middleware.js';
import { onRequestError } from '../src/core/next/request-error.js';
import { v4InvalidCookieReason } from '../src/adapters/nextjs-auth0/v4/index.js';
import { TestTelemetry, spanText } from './support/telemetry.js';
import { CHROME_UA, V4_OTHER_SECRET, getAccessTokenAndContinue, startV4App, type V4App } from './support/v4-app.js';

const DATADOG = { userAgent: 'Datadog/Synthetics', headers: { 'x-datadog-origin': 'synthetics' } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const telemetry = new TestTelemetry();
let app: V4App;
let auth0: Auth0Client;

const count = (metric: string, filter: Record<string, unknown>) => telemetry.count(metric, { 'auth.sdk': 'nextjs-auth0-v4', ...filter });
const spans = (name: string) => telemetry.finishedSpans(name);
/** The session cookie value, for tampering. */
const sessionValue = (cookie: string) => /__session=([^;]+)/.exec(cookie)![1]!;
const withSession = (cookie: string, value: string) => cookie.replace(/__session=[^;]+/, `__session=${value}`);

beforeAll(async () => {
  telemetry.install();
  app = await startV4App();
  auth0 = instrumentAuth0(app.client());
  app.setHandler((request) => auth0.middleware(request));
});

afterAll(async () => {
  await app?.stop();
});

describe('nextjs-auth0 v4: Auth0Client', () => {
  it('instruments the instance itself, bound: #private fields keep working, also as a detached reference', async () => {
    const bare = app.client();
    const instrumented = instrumentAuth0(bare);
    expect(instrumented).toBe(bare);
    expect(instrumentAuth0(bare)).toBe(bare); // idempotent
    const { cookie } = await app.login('alice');
    const { getSession, middleware } = instrumented; // detached, the way `export default auth0.middleware` uses it
    const session = await getSession(app.request('/', { cookie }));
    expect(session?.user.sub).toBe('alice');
    const response = await middleware(app.request('/dashboard', { cookie }));
    expect(response.headers.get('x-middleware-next')).toBe('1');
  });

  it('a valid session: found with its age from internal.createdAt, the token is served from the session', async () => {
    const { cookie } = await app.login('alice');
    telemetry.reset();
    const before = await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' });
    const session = await auth0.getSession(app.request('/', { cookie }));
    const token = await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next());
    expect(token.token).toBe(session!.tokenSet.accessToken);

    const [read] = spans(SPANS.sessionRead.name);
    expect(read!.attributes).toMatchObject({
      'auth.sdk': 'nextjs-auth0-v4',
      'auth.outcome': 'found',
      'auth.user_agent.class': 'browser',
      'auth.runtime': 'nodejs',
    });
    const age = read!.attributes['auth.session.age'] as number;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(Math.abs(age - (Date.now() / 1000 - (session!.internal as { createdAt: number }).createdAt))).toBeLessThan(2);
    const [get] = spans(SPANS.tokenGet.name);
    expect(get!.attributes['auth.outcome']).toBe('cached');
    expect(get!.attributes['auth.token.expires_in']).toBeGreaterThan(3000);
    expect(spans(SPANS.tokenRefresh.name)).toHaveLength(0);
    expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before + 1);
    const text = spanText(telemetry.finishedSpans());
    for (const secret of [
      token.token,
      session!.tokenSet.refreshToken!,
      session!.user.sub,
      session!.user.email as string,
      sessionValue(cookie).slice(60, 120),
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('login, then an expired access token is refreshed: auth.token.refresh is a child of auth.token.get, timed by the exchange', async () => {
    const { cookie } = await app.login('bob', { ttl: 1 });
    app.idp.setAccessTokenTtl(3600); // for the token the refresh brings
    await sleep(1200);
    telemetry.reset();
    const requestsBefore = app.idp.tokenRequests().filter((r) => r.grantType === 'refresh_token').length;
    const before = await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    const response = NextResponse.next();
    const token = await auth0.getAccessToken(app.request('/', { cookie }), response);
    expect(app.idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === 'success').length).toBe(requestsBefore + 1);
    expect(response.headers.getSetCookie().some((c) => c.startsWith('__session='))).toBe(true);

    const [get] = spans(SPANS.tokenGet.name);
    const [refresh] = spans(SPANS.tokenRefresh.name);
    expect(get!.attributes).toMatchObject({ 'auth.outcome': 'refreshed', 'auth.user_agent.class': 'browser' });
    expect(refresh!.attributes).toMatchObject({ 'auth.outcome': 'success', 'auth.sdk': 'nextjs-auth0-v4', 'auth.user_agent.class': 'browser' });
    expect(refresh!.parentSpanContext?.spanId).toBe(get!.spanContext().spanId);
    expect(refresh!.attributes['auth.token.expires_in']).toBeGreaterThan(3000);
    expect(token.expiresAt).toBeGreaterThan(Date.now() / 1000);
    // The refresh span covers the exchange, not the whole call: it starts after the session read.
    const startOf = (s: typeof get) => s!.startTime[0] * 1e3 + s!.startTime[1] / 1e6;
    expect(startOf(refresh)).toBeGreaterThan(startOf(get));
    expect(await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before + 1);
    const durations = await telemetry.points(METRICS.tokenRefreshDuration.name, { 'auth.sdk': 'nextjs-auth0-v4', 'auth.outcome': 'success' });
    expect(durations.reduce((n, p) => n + (typeof p.value === 'number' ? 0 : p.value.count), 0)).toBeGreaterThanOrEqual(1);
  });

  it('the old cookie after a rotation: the IdP answers invalid_grant and the lost rotation is counted as token_reused', async () => {
    const { cookie } = await app.login('bob', { ttl: 1 });
    await sleep(1200);
    await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next()); // rotates the refresh token
    // Past the race window: the user comes back later, so the reuse is a lost rotation, not two refreshes at once.
    await sleep(DEFAULT_RACE_WINDOW_SECONDS * 1000 + 100);
    telemetry.reset();
    const before = await count(METRICS.refreshUnpersisted.name, { 'auth.refresh.unpersisted_reason': 'token_reused' });
    // The browser never received the rotated cookie and sends the old one again.
    const thrown = await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next()).catch((e: unknown) => e);
    expect((thrown as { code: string }).code).toBe('failed_to_refresh_token');
    expect(await count(METRICS.refreshUnpersisted.name, { 'auth.refresh.unpersisted_reason': 'token_reused' })).toBe(before + 1);
    const [refresh] = spans(SPANS.tokenRefresh.name);
    expect(refresh!.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
  });

  it('a refresh token revoked at the IdP: failed_to_refresh_token from the SDK, invalid_grant on the refresh', async () => {
    const { cookie } = await app.login('bob', { ttl: 1 });
    await app.idp.revokeRefreshTokens('bob');
    await sleep(1200);
    telemetry.reset();
    const before = await count(METRICS.tokenRefreshes.name, {
      'auth.outcome': 'failure',
      'auth.error.code': 'invalid_grant',
      'auth.user_agent.class': 'browser',
    });
    const thrown = await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next()).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(AccessTokenError);
    expect((thrown as AccessTokenError).code).toBe('failed_to_refresh_token');
    expect((thrown as { cause: { code: string } }).cause.code).toBe('invalid_grant');

    const [refresh] = spans(SPANS.tokenRefresh.name);
    expect(refresh!.attributes).toMatchObject({
      'auth.outcome': 'failure',
      'auth.error.code': 'invalid_grant',
      'error.type': 'OAuth2Error',
      'auth.oauth.error': 'invalid_grant',
      'auth.error.cause': 'OAuth2Error',
      'auth.refresh.failure_kind': 'terminal',
    });
    expect(refresh!.status.code).toBe(SpanStatusCode.ERROR);
    const [get] = spans(SPANS.tokenGet.name);
    expect(get!.attributes).toMatchObject({ 'auth.outcome': 'error', 'auth.error.code': 'failed_to_refresh_token' });
    expect(refresh!.parentSpanContext?.spanId).toBe(get!.spanContext().spanId);
    expect(
      await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' }),
    ).toBe(before + 1);
  });

  it('a revoked session failing every request counts once per hour as an affected session, not once per failure', async () => {
    const { cookie } = await app.login('bob', { ttl: 1 });
    await app.idp.revokeRefreshTokens('bob');
    await sleep(1200);
    const filter = { 'auth.affected.outcome': 'refresh_failure', 'auth.refresh.failure_kind': 'terminal', 'auth.user_agent.class': 'browser' };
    const affected = () => count(METRICS.sessionsAffected.name, filter);
    const failures = () => count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.user_agent.class': 'browser' });
    const [affectedBefore, failuresBefore] = [await affected(), await failures()];
    const attempt = () => auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next()).catch(() => undefined);
    await attempt();
    await attempt();
    await vi.waitFor(async () => expect(await failures()).toBe(failuresBefore + 2));
    expect(await affected()).toBe(affectedBefore + 1);
    // An hour later the same session fails again: a new bucket, counted again.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3600_000 });
    try {
      await attempt();
      await vi.waitFor(async () => expect(await affected()).toBe(affectedBefore + 2));
    } finally {
      vi.useRealTimers();
    }
    expect(await failures()).toBe(failuresBefore + 3);
  });

  it('an IdP outage (503 from the token endpoint) is a transient refresh failure; the same token works once it is over', async () => {
    const { cookie } = await app.login('bob', { ttl: 1 });
    app.idp.setAccessTokenTtl(3600);
    await sleep(1200);
    telemetry.reset();
    const kind = (failureKind: string) =>
      count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.user_agent.class': 'browser', 'auth.refresh.failure_kind': failureKind });
    const [transientBefore, terminalBefore] = [await kind('transient'), await kind('terminal')];
    app.idp.failTokenEndpoint(503);
    try {
      const thrown = await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next()).catch((e: unknown) => e);
      expect((thrown as AccessTokenError).code).toBe('failed_to_refresh_token');
    } finally {
      app.idp.failTokenEndpoint(undefined);
    }
    expect(app.idp.tokenRequests().at(-1)).toMatchObject({ grantType: 'refresh_token', outcome: 'failure', status: 503 });
    const [refresh] = spans(SPANS.tokenRefresh.name);
    expect(refresh!.attributes).toMatchObject({ 'auth.outcome': 'failure', 'auth.refresh.failure_kind': 'transient', 'http.response.status_code': 503 });
    expect(await kind('transient')).toBe(transientBefore + 1);
    expect(await kind('terminal')).toBe(terminalBefore);
    // Transient indeed: the same cookie refreshes once the IdP is back.
    const token = await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next());
    expect(token.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3000);
  });

  it('the access-token route refreshes too: the refresh failure carries the IdP answer, the handler the SDK code', async () => {
    const { cookie } = await app.login('alice', { ttl: 1 });
    await app.idp.revokeRefreshTokens('alice');
    await sleep(1200);
    telemetry.reset();
    const response = await auth0.middleware(app.request('/auth/access-token', { cookie }));
    expect(response.status).toBe(401);
    const [handler] = spans(SPANS.handler.name);
    expect(handler!.attributes).toMatchObject({ 'auth.handler.kind': 'access-token', 'auth.outcome': 'error', 'auth.error.code': 'failed_to_refresh_token' });
    const [refresh] = spans(SPANS.tokenRefresh.name);
    expect(refresh!.attributes).toMatchObject({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant' });
    expect(refresh!.parentSpanContext?.spanId).toBe(handler!.spanContext().spanId);
  });

  it('the access-token route without a session answers 401 missing_session by design: unauthorized, not an error', async () => {
    telemetry.reset();
    const response = await auth0.middleware(app.request('/auth/access-token'));
    expect(response.status).toBe(401);
    const [handler] = spans(SPANS.handler.name);
    expect(handler!.attributes).toMatchObject({ 'auth.handler.kind': 'access-token', 'auth.outcome': 'unauthorized', 'auth.error.code': 'missing_session' });
  });

  it('a refresh through the access-token route carries the new token lifetime from the IdP answer', async () => {
    const { cookie } = await app.login('alice', { ttl: 1 });
    app.idp.setAccessTokenTtl(3600);
    await sleep(1200);
    telemetry.reset();
    const response = await auth0.middleware(app.request('/auth/access-token', { cookie }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; expires_at: number };
    expect(body.token).toBeTypeOf('string');
    const [refresh] = spans(SPANS.tokenRefresh.name);
    expect(refresh!.attributes).toMatchObject({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    expect(refresh!.attributes['auth.token.expires_in']).toBeGreaterThan(3000);
    expect(refresh!.attributes['auth.token.expires_in']).toBeLessThanOrEqual(3600);
  });

  it('missing_session from Datadog Synthetics is monitor noise, from Chrome a real user', async () => {
    const { cookie } = await app.login('alice');
    const middleware = withAuthTelemetry(getAccessTokenAndContinue(auth0));
    const filter = (cls: string) => ({ 'auth.outcome': 'error', 'auth.error.code': 'missing_session', 'auth.user_agent.class': cls });
    const [monitorBefore, browserBefore] = [
      await count(METRICS.tokenRequests.name, filter('monitor')),
      await count(METRICS.tokenRequests.name, filter('browser')),
    ];
    const cachedBefore = await count(METRICS.tokenRequests.name, { 'auth.outcome': 'cached', 'auth.user_agent.class': 'browser' });
    telemetry.reset();
    await middleware(app.request('/dashboard', DATADOG));
    await middleware(app.request('/dashboard', DATADOG));
    await middleware(app.request('/dashboard', {})); // a logged-out visitor
    await middleware(app.request('/dashboard', { cookie }));
    expect(await count(METRICS.tokenRequests.name, filter('monitor'))).toBe(monitorBefore + 2);
    expect(await count(METRICS.tokenRequests.name, filter('browser'))).toBe(browserBefore + 1);
    expect(await count(METRICS.tokenRequests.name, { 'auth.outcome': 'cached', 'auth.user_agent.class': 'browser' })).toBe(cachedBefore + 1);
    const runs = spans(SPANS.middleware.name);
    const gets = spans(SPANS.tokenGet.name);
    expect(gets.map((s) => [s.attributes['auth.user_agent.class'], s.attributes['auth.outcome']])).toEqual([
      ['monitor', 'error'],
      ['monitor', 'error'],
      ['browser', 'error'],
      ['browser', 'cached'],
    ]);
    expect(gets[0]!.attributes['user_agent.synthetic.type']).toBe('test');
    expect(gets[0]!.parentSpanContext?.spanId).toBe(runs[0]!.spanContext().spanId);
  });

  it('auth routes served by auth0.middleware are auth.handler spans; other paths are rolling touches', async () => {
    const { cookie } = await app.login('alice');
    telemetry.reset();
    const login = await auth0.middleware(app.request('/auth/login'));
    const callback = await auth0.middleware(app.request('/auth/callback?code=x&state=y'));
    const profile = await auth0.middleware(app.request('/auth/profile', { cookie }));
    const anonymousProfile = await auth0.middleware(app.request('/auth/profile', { userAgent: 'curl/8.5.0' }));
    const logout = await auth0.middleware(app.request('/auth/logout', { cookie }));
    const page = await auth0.middleware(app.request('/dashboard', { cookie }));
    const anonymousPage = await auth0.middleware(app.request('/dashboard', DATADOG));
    expect([login.status, callback.status, profile.status, anonymousProfile.status]).toEqual([307, 500, 200, 401]);
    expect(logout.status).toBeGreaterThanOrEqual(300);
    expect(page.headers.get('x-middleware-next')).toBe('1');
    expect(anonymousPage.headers.getSetCookie()).toEqual([]);

    const handlers = spans(SPANS.handler.name).map((s) => [
      s.attributes['auth.handler.kind'],
      s.attributes['auth.outcome'],
      s.attributes['http.response.status_code'],
    ]);
    expect(handlers).toEqual([
      ['login', 'redirect', 307],
      ['callback', 'error', 500],
      ['profile', 'success', 200],
      // The client hook's "am I logged in?" without a session: the designed answer, not an error.
      ['profile', 'unauthorized', 401],
      ['logout', 'redirect', logout.status],
    ]);
    expect(spans(SPANS.handler.name)[1]!.attributes['error.type']).toBe('500');
    const touches = spans(SPANS.sessionTouch.name).map((s) => [s.attributes['auth.outcome'], s.attributes['auth.user_agent.class']]);
    expect(touches).toEqual([
      ['touched', 'browser'],
      ['missing', 'monitor'],
    ]);
    const reads = spans(SPANS.sessionRead.name).map((s) => s.attributes['auth.outcome']);
    expect(reads).toEqual(['found', 'missing']);
    // The session the SDK decrypted to roll it gives the age, without a second decryption.
    expect(spans(SPANS.sessionRead.name)[0]!.attributes['auth.session.age']).toEqual(expect.any(Number));
  });

  it('wrapped methods return and throw exactly what the SDK does, and keep every Set-Cookie', async () => {
    const { cookie } = await app.login('alice');
    const bare = app.client();
    expect(await auth0.getSession(app.request('/', { cookie }))).toEqual(await bare.getSession(app.request('/', { cookie })));
    const bareError = await bare.getAccessToken(app.request('/'), NextResponse.next()).catch((e: unknown) => e);
    const wrappedError = await auth0.getAccessToken(app.request('/'), NextResponse.next()).catch((e: unknown) => e);
    expect(Object.getPrototypeOf(wrappedError)).toBe(Object.getPrototypeOf(bareError));
    expect(wrappedError).toMatchObject({ code: (bareError as { code: string }).code, message: (bareError as Error).message });
    const [bareResponse, wrappedResponse] = [
      await bare.middleware(app.request('/dashboard', { cookie })),
      await auth0.middleware(app.request('/dashboard', { cookie })),
    ];
    const shape = (r: Response) => r.headers.getSetCookie().map((c) => c.replace(/=[^;]*/, '=').replace(/Expires=[^;]*/, ''));
    expect(shape(wrappedResponse)).toEqual(shape(bareResponse));
    expect(shape(wrappedResponse)).toHaveLength(6); // the session plus the deletion of 5 stale chunk names
  });

  it('updateSession: success, and missing without a session; its internal session read is not counted twice', async () => {
    const { cookie } = await app.login('alice');
    const session = (await auth0.getSession(app.request('/', { cookie })))!;
    telemetry.reset();
    const response = NextResponse.next();
    await auth0.updateSession(app.request('/', { cookie }), response, { ...session, user: { ...session.user, nickname: 'ally' } });
    expect(response.headers.getSetCookie().some((c) => c.startsWith('__session='))).toBe(true);
    const thrown = await auth0.updateSession(app.request('/'), NextResponse.next(), session).catch((e: unknown) => e);
    expect((thrown as Error).message).toMatch(/not authenticated/);
    expect(spans(SPANS.sessionUpdate.name).map((s) => s.attributes['auth.outcome'])).toEqual(['success', 'missing']);
    expect(spans(SPANS.sessionRead.name)).toHaveLength(0);
  });

  it('getAccessTokenForConnection: missing_session without a session, the exchange failure with one', async () => {
    const { cookie } = await app.login('alice');
    telemetry.reset();
    const missing = await auth0.getAccessTokenForConnection({ connection: 'google-oauth2' }, app.request('/'), NextResponse.next()).catch((e: unknown) => e);
    const failed = await auth0
      .getAccessTokenForConnection({ connection: 'google-oauth2' }, app.request('/', { cookie }), NextResponse.next())
      .catch((e: unknown) => e);
    expect((missing as { code: string }).code).toBe('missing_session');
    expect((failed as { code: string }).code).toBe('failed_to_exchange_refresh_token');
    const gets = spans(SPANS.tokenGet.name).map((s) => [s.attributes['auth.outcome'], s.attributes['auth.error.code'], s.attributes['error.type']]);
    expect(gets).toEqual([
      ['error', 'missing_session', 'AccessTokenForConnectionError'],
      ['error', 'failed_to_exchange_refresh_token', 'AccessTokenForConnectionError'],
    ]);
    // A connection token exchange is not a refresh.
    expect(spans(SPANS.tokenRefresh.name)).toHaveLength(0);
  });
});

describe('nextjs-auth0 v4: silent cookie failures', () => {
  it('a tampered cookie is an invalid read, not a missing one: malformed when its structure broke, unknown inside the ciphertext', async () => {
    const { cookie } = await app.login('alice');
    const value = sessionValue(cookie);
    const parts = value.split('.');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const insideCiphertext = withSession(cookie, [parts[0], parts[1], parts[2], flip(parts[3]!, 10), parts[4]].join('.'));
    const brokenHeader = withSession(cookie, 'x' + value);
    const truncated = withSession(cookie, value.slice(0, value.length - 30));
    telemetry.reset();
    const before = await count(METRICS.sessionReads.name, { 'auth.outcome': 'invalid' });
    for (const tampered of [insideCiphertext, brokenHeader, truncated]) {
      expect(await auth0.getSession(app.request('/', { cookie: tampered }))).toBeNull();
    }
    const reads = spans(SPANS.sessionRead.name).map((s) => [s.attributes['auth.outcome'], s.attributes['auth.session.invalid_reason']]);
    expect(reads).toEqual([
      ['invalid', 'unknown'],
      ['invalid', 'malformed'],
      ['invalid', 'malformed'],
    ]);
    expect(spans(SPANS.sessionRead.name)[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'invalid' })).toBe(before + 3);
    expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'invalid', 'auth.session.invalid_reason': 'malformed' })).toBeGreaterThanOrEqual(2);
  });

  it('a chunked cookie with a chunk missing is invalid (malformed); complete chunks are found', async () => {
    const { cookie } = await app.login('alice');
    const value = sessionValue(cookie);
    const half = Math.floor(value.length / 2);
    const chunked = cookie.replace(/__session=[^;]+/, `__session__0=${value.slice(0, half)}; __session__1=${value.slice(half)}`);
    const incomplete = cookie.replace(/__session=[^;]+/, `__session__1=${value.slice(half)}`);
    telemetry.reset();
    expect(await auth0.getSession(app.request('/', { cookie: chunked }))).not.toBeNull();
    expect(await auth0.getSession(app.request('/', { cookie: incomplete }))).toBeNull();
    const reads = spans(SPANS.sessionRead.name).map((s) => [s.attributes['auth.outcome'], s.attributes['auth.session.invalid_reason']]);
    expect(reads).toEqual([
      ['found', undefined],
      ['invalid', 'malformed'],
    ]);
  });

  it('a session too big for one cookie: v4 writes __session__0, __session__1, … and every read measures all of them', async () => {
    // A profile claim that pushes the session past 4096 bytes, so the SDK itself splits the cookie.
    app.idp.addAccount({ username: 'carol', password: 'carol-password', name: 'Carol '.repeat(200) });
    const { cookie } = await app.login('carol' as 'alice');
    const parts = cookie.split('; ').filter((pair) => /^__session__\d+=/.test(pair));
    expect(parts.length).toBeGreaterThanOrEqual(2);
    const whole = parts.reduce((bytes, pair) => bytes + pair.length, 0);
    expect(whole).toBeGreaterThan(4096);
    const measured = async () => {
      const [size] = await telemetry.points(METRICS.sessionCookieSize.name, { 'auth.sdk': 'nextjs-auth0-v4', 'auth.outcome': 'found' });
      const [chunks] = await telemetry.points(METRICS.sessionCookieChunks.name, { 'auth.sdk': 'nextjs-auth0-v4', 'auth.outcome': 'found' });
      const histogram = (p: typeof size) =>
        p === undefined || typeof p.value === 'number' ? { sum: 0, count: 0 } : { sum: p.value.sum ?? 0, count: p.value.count };
      return { size: histogram(size), chunks: histogram(chunks) };
    };
    const before = await measured();
    expect((await auth0.getSession(app.request('/', { cookie })))?.user.sub).toBe('carol');
    const after = await measured();
    expect(after.size.count).toBe(before.size.count + 1);
    expect(after.size.sum - before.size.sum).toBe(whole);
    expect(after.chunks.sum - before.chunks.sum).toBe(parts.length);
  });

  it('a secret rotation: every existing cookie becomes an invalid read, in getSession and in the middleware', async () => {
    const { cookie } = await app.login('alice');
    const rotated = instrumentAuth0(app.client({ secret: V4_OTHER_SECRET }));
    telemetry.reset();
    const before = await count(METRICS.sessionReads.name, {
      'auth.outcome': 'invalid',
      'auth.session.invalid_reason': 'unknown',
      'auth.user_agent.class': 'browser',
    });
    expect(await rotated.getSession(app.request('/', { cookie }))).toBeNull();
    const response = await rotated.middleware(app.request('/dashboard', { cookie }));
    expect(response.headers.get('x-middleware-next')).toBe('1');
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(
      await count(METRICS.sessionReads.name, { 'auth.outcome': 'invalid', 'auth.session.invalid_reason': 'unknown', 'auth.user_agent.class': 'browser' }),
    ).toBe(before + 2);
    expect(spans(SPANS.sessionTouch.name).map((s) => s.attributes['auth.outcome'])).toEqual(['missing']);
  });

  it('expired session cookie as in the 4.5.1–4.8.x HTTP 500s (rolling, absoluteDuration 3, inactivityDuration 1, transient cookie): no 500, no silence', async () => {
    const session = { rolling: true, absoluteDuration: 3, inactivityDuration: 1, cookie: { transient: true } };
    const client = instrumentAuth0(app.client({ session }));
    app.setHandler(withAuthTelemetry((request: NextRequest) => client.middleware(request), { sdk: 'nextjs-auth0-v4' }));
    try {
      const { cookie } = await app.login('alice');
      await sleep(5000);
      telemetry.reset();
      // 5 s later the page still loads. v4 decrypts with a 15 s clock tolerance, so the cookie is
      // still accepted although the session is past its absolute duration: the age says so.
      const afterFive = await fetch(`${app.appUrl}/dashboard`, { headers: { cookie, 'user-agent': CHROME_UA } });
      expect(afterFive.status).toBe(200);
      const stillFound = await client.getSession(app.request('/', { cookie }));
      expect(stillFound).not.toBeNull();
      const [read] = spans(SPANS.sessionRead.name).filter((s) => s.attributes['auth.session.age'] !== undefined);
      expect(read!.attributes['auth.session.age']).toBeGreaterThanOrEqual(5);

      // Once the JWE's exp is past the tolerance the SDK says "no session", silently.
      await sleep(13_500);
      telemetry.reset();
      const before = await count(METRICS.sessionReads.name, { 'auth.outcome': 'invalid', 'auth.user_agent.class': 'browser' });
      const later = await fetch(`${app.appUrl}/dashboard`, { headers: { cookie, 'user-agent': CHROME_UA } });
      expect(later.status).toBe(200);
      expect(await client.getSession(app.request('/', { cookie }))).toBeNull();
      expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'invalid', 'auth.user_agent.class': 'browser' })).toBe(before + 2);
      const reads = spans(SPANS.sessionRead.name).map((s) => [s.attributes['auth.outcome'], s.attributes['auth.session.invalid_reason']]);
      expect(reads).toEqual([
        ['invalid', 'unknown'],
        ['invalid', 'unknown'],
      ]);
      const [run] = spans(SPANS.middleware.name);
      expect(run!.attributes).toMatchObject({ 'auth.outcome': 'pass', 'auth.sdk': 'nextjs-auth0-v4' });
    } finally {
      app.setHandler((request) => auth0.middleware(request));
    }
  }, 40_000);

  it('reasons inferred from the cookie alone', () => {
    const header = (h: object) => Buffer.from(JSON.stringify(h)).toString('base64url');
    const iv = 'A'.repeat(16);
    const tag = 'B'.repeat(22);
    expect(v4InvalidCookieReason(`${header({ alg: 'dir', enc: 'A256GCM' })}..${iv}.CCCC.${tag}`)).toBe('unknown');
    expect(v4InvalidCookieReason(`${header({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.KEY.${iv}.CCCC.${tag}`)).toBe('undecryptable');
    expect(v4InvalidCookieReason(`${header({ alg: 'dir', enc: 'A256GCM' })}..${iv}.CCCC.short`)).toBe('malformed');
    expect(v4InvalidCookieReason('not-a-jwe')).toBe('malformed');
    expect(v4InvalidCookieReason(undefined)).toBe('malformed');
  });
});

describe('Set-Cookie integrity in withAuthTelemetry', () => {
  const droppedFilter = { 'auth.refresh.unpersisted_reason': 'cookie_dropped' };

  it('a next-intl style merge with headers.set() drops the rolled session cookie: detected, on the counter and the span', async () => {
    const { cookie } = await app.login('alice');
    const middleware = withAuthTelemetry(async (request: NextRequest) => {
      const authResponse = await auth0.middleware(request);
      const response = NextResponse.next();
      authResponse.headers.forEach((value, key) => response.headers.set(key, value));
      return response;
    });
    telemetry.reset();
    const before = await count(METRICS.refreshUnpersisted.name, droppedFilter).catch(() => 0);
    const response = await middleware(app.request('/dashboard', { cookie }));
    // The bug itself: only the last Set-Cookie survived, a deletion of a stale chunk.
    expect(response.headers.getSetCookie().filter((c) => c.startsWith('__session='))).toEqual([]);
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter)).toBe(before + 1);
    const [run] = spans(SPANS.middleware.name);
    expect(run!.attributes['auth.refresh.unpersisted_reason']).toBe('cookie_dropped');
    expect(run!.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
  });

  it('a locale redirect that drops the callback cookie is detected too', async () => {
    const { cookie } = await app.login('alice');
    const middleware = withAuthTelemetry(async (request: NextRequest) => {
      await auth0.middleware(request);
      return NextResponse.redirect(new URL('/en/dashboard', request.url));
    });
    const before = await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter);
    await middleware(app.request('/dashboard', { cookie }));
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter)).toBe(before + 1);
  });

  it('the correct getSetCookie() + append() merge is not flagged, and every Set-Cookie reaches the browser unchanged', async () => {
    const { cookie } = await app.login('alice');
    let sdkCookies: string[] = [];
    const middleware = withAuthTelemetry(async (request: NextRequest) => {
      const authResponse = await auth0.middleware(request);
      sdkCookies = authResponse.headers.getSetCookie();
      const response = NextResponse.next();
      response.cookies.set('NEXT_LOCALE', 'en');
      for (const setCookie of authResponse.headers.getSetCookie()) response.headers.append('set-cookie', setCookie);
      return response;
    });
    telemetry.reset();
    const before = await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter);
    const response = await middleware(app.request('/dashboard', { cookie }));
    expect(sdkCookies.some((c) => c.startsWith('__session='))).toBe(true);
    expect(response.headers.getSetCookie()).toEqual([expect.stringMatching(/^NEXT_LOCALE=en/), ...sdkCookies]);
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter)).toBe(before);
    expect(spans(SPANS.middleware.name)[0]!.attributes['auth.refresh.unpersisted_reason']).toBeUndefined();
    // A logout clears the cookie on purpose: nothing to keep.
    const logout = withAuthTelemetry(async (request: NextRequest) => {
      await auth0.middleware(request);
      return NextResponse.redirect(new URL('/', request.url));
    });
    await logout(app.request('/auth/logout', { cookie }));
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter)).toBe(before);
  });

  it('a refreshed session written by getAccessToken(req, res) but a different response returned: dropped', async () => {
    const { cookie } = await app.login('bob', { ttl: 1 });
    await sleep(1200);
    const middleware = withAuthTelemetry(async (request: NextRequest) => {
      await auth0.getAccessToken(request, NextResponse.next());
      return NextResponse.next();
    });
    const before = await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter);
    await middleware(app.request('/dashboard', { cookie }));
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, droppedFilter)).toBe(before + 1);
  });
});

describe('onRequestError (Next ≥ 15 instrumentation.ts)', () => {
  it('records auth errors with the route type, the request class and the SDK code; ignores other errors', async () => {
    const thrown = await auth0.getAccessToken(app.request('/'), NextResponse.next()).catch((e: unknown) => e);
    telemetry.reset();
    const filter = {
      'auth.next.route_type': 'render',
      'auth.error.code': 'missing_session',
      'auth.user_agent.class': 'browser',
      'error.type': 'AccessTokenError',
    };
    const before = await count(METRICS.requestErrors.name, filter);
    onRequestError(
      thrown,
      { path: '/dashboard', method: 'GET', headers: { 'user-agent': CHROME_UA } },
      { routerKind: 'App Router', routePath: '/dashboard', routeType: 'render' },
    );
    onRequestError(
      new TypeError('x is undefined'),
      { path: '/', method: 'GET', headers: {} },
      { routerKind: 'App Router', routePath: '/', routeType: 'render' },
    );
    const expired = Object.assign(new Error('"exp" claim timestamp check failed'), { name: 'JWTExpired', code: 'ERR_JWT_EXPIRED' });
    onRequestError(
      expired,
      { path: '/', method: 'GET', headers: { 'user-agent': 'kube-probe/1.29' } },
      { routerKind: 'Pages Router', routePath: '/proxy', routeType: 'proxy' },
    );
    expect(await count(METRICS.requestErrors.name, filter)).toBe(before + 1);
    expect(
      await telemetry.count(METRICS.requestErrors.name, {
        'auth.next.route_type': 'proxy',
        'auth.error.code': 'ERR_JWT_EXPIRED',
        'auth.user_agent.class': 'monitor',
      }),
    ).toBeGreaterThanOrEqual(1);
    const errors = spans(SPANS.requestError.name);
    expect(errors.map((s) => [s.attributes['auth.next.route_type'], s.attributes['auth.error.code']])).toEqual([
      ['render', 'missing_session'],
      ['proxy', 'ERR_JWT_EXPIRED'],
    ]);
    expect(spanText(errors)).not.toContain('claim timestamp');
    // Never throws, whatever Next hands it.
    expect(() => onRequestError(undefined, undefined, undefined)).not.toThrow();
  });
});

describe('README snippets for v4 (docs/snippets/proxy.ts, lib/auth0-v4.ts, proxy-instrumentation.ts)', () => {
  it('the proxy.ts of the README serves logins and pages through auth0.middleware, recorded as nextjs-auth0-v4', async () => {
    Object.assign(process.env, {
      AUTH0_DOMAIN: 'localhost',
      AUTH0_CLIENT_ID: app.idp.clientId,
      AUTH0_CLIENT_SECRET: app.idp.clientSecret,
      AUTH0_SECRET: 'readme-snippet-secret-0123456789abcdef0123456789',
      APP_BASE_URL: app.appUrl,
    });
    // The snippet's `new Auth0Client()` has no customFetch: it takes the global fetch when it is
    // constructed, which here routes https://localhost to the loopback IdP (what DNS and TLS would do).
    const original = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const request = new Request(input as RequestInfo, init);
      return new URL(request.url).origin === app.idp.issuer.replace(/\/$/, '') ? app.idp.fetch(request) : original(request);
    };
    let snippet: typeof import('../docs/snippets/proxy.js');
    try {
      snippet = await import('../docs/snippets/proxy.js');
    } finally {
      globalThis.fetch = original;
    }
    expect(snippet.config.matcher).toHaveLength(1);
    app.setHandler((request) => snippet.proxy(request) as Promise<Response>);
    try {
      telemetry.reset();
      const { cookie } = await app.login('alice');
      const page = await fetch(`${app.appUrl}/dashboard`, { headers: { cookie, 'user-agent': CHROME_UA } });
      expect(page.status).toBe(200);
      const handlers = spans(SPANS.handler.name).map((s) => [s.attributes['auth.handler.kind'], s.attributes['auth.outcome'], s.attributes['auth.sdk']]);
      expect(handlers).toEqual([
        ['login', 'redirect', 'nextjs-auth0-v4'],
        ['callback', 'redirect', 'nextjs-auth0-v4'],
      ]);
      const runs = spans(SPANS.middleware.name);
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(new Set(runs.map((s) => s.attributes['auth.sdk']))).toEqual(new Set(['nextjs-auth0-v4']));
      expect(spans(SPANS.sessionTouch.name).at(-1)!.attributes['auth.outcome']).toBe('touched');
      expect(spans(SPANS.handler.name)[1]!.parentSpanContext?.spanId).toBe(runs[1]!.spanContext().spanId);
    } finally {
      app.setHandler((request) => auth0.middleware(request));
    }
  });

  it('proxy-instrumentation.ts is the top-level instrumentation.ts plus the onRequestError export', async () => {
    const { readFileSync } = await import('node:fs');
    const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
    expect(read('docs/snippets/proxy-instrumentation.ts').startsWith(read('instrumentation.ts'))).toBe(true);
    const module = await import('../docs/snippets/proxy-instrumentation.js');
    expect(module.onRequestError).toBe(onRequestError);
    expect(typeof module.register).toBe('function');
  });
});
