// @vitest-environment edge-runtime
/**
 * nextjs-auth0 v4 (4.30.0) inside the Edge runtime, the Next 15 default for `middleware.ts`. v4 has
 * no `/edge` subpath: its one server entry (`@auth0/nextjs-auth0/server`) is meant to run on Edge
 * and in Node alike. Here the real `Auth0Client`, instrumented with `instrumentAuth0`, runs behind
 * `withAuthTelemetry` with the Edge runtime's globals (`fetch`, `Request`, `Response`, `Headers`,
 * `crypto`, `TextEncoder`, … from `@edge-runtime/vm`, the runtime Next uses), the way
 * test/auth0-v3.edge.test.ts runs v3's `/edge` module. Logins, refreshes and revocations go to the
 * real loopback IdP (issuer https://localhost, reached through `idp.fetch`, see testkit/README.md).
 *
 * Context propagation is what the real Edge runtime gives: Next's Edge sandbox exposes Node's
 * `AsyncLocalStorage` as a global (@edge-runtime/vm alone does not), and registerAuthTelemetry()
 * builds its Edge context manager on it. Without any context manager the refresh span, which starts
 * inside the SDK's own token-endpoint fetch, cannot see its request and is classed `unknown`.
 *
 * What this environment does not change: modules are still resolved by Node, not bundled by Next's
 * Edge compiler. For v4 that picks the same files: its dependencies (jose 6, oauth4webapi 3) ship a
 * single WebCrypto/fetch build with no Node variant. A Next 15.5 production build with the default
 * Edge `middleware.ts` also logs in with v4 (checked by hand with examples/auth0-v4-next15-middleware
 * without `runtime: 'nodejs'`: the Chromium login succeeds, and its e2e test fails on the runtime
 * checks, `auth.runtime=edge` and the build manifest).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context } from '@opentelemetry/api';
import { NextRequest, NextResponse } from 'next/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth0Client } from '@auth0/nextjs-auth0-v4/server';
import { instrumentAuth0 } from '../src/auth0.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { withAuthTelemetry } from '../src/core/next/middleware.js';
import { edgeContextManager } from '../src/register/edge-context.js';
import { TestTelemetry } from './support/telemetry.js';
import { CHROME_UA, getAccessTokenAndContinue, startV4App, type V4App } from './support/v4-app.js';

const SDK = 'nextjs-auth0-v4';
const DATADOG = { userAgent: 'Datadog/Synthetics', headers: { 'x-datadog-origin': 'synthetics' } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const telemetry = new TestTelemetry();
let app: V4App;
let auth0: Auth0Client;
/** The example app's middleware.ts: the SDK's routes and rolling sessions, wrapped. */
let middleware: (request: NextRequest) => Promise<Response>;
/** A middleware that also hands out an access token, the v4 pattern for calling APIs from middleware. */
let tokenMiddleware: (request: NextRequest) => Promise<Response>;

const count = (metric: string, filter: Record<string, unknown>) => telemetry.count(metric, { 'auth.sdk': SDK, 'auth.runtime': 'edge', ...filter });
const spans = (name: string) => telemetry.finishedSpans(name);
const refreshGrants = () => app.idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === 'success').length;

beforeAll(async () => {
  // As Next's Edge sandbox does (next/dist/server/web/sandbox/context.js), then as registerAuthTelemetry() does on Edge.
  (globalThis as { AsyncLocalStorage?: unknown }).AsyncLocalStorage ??= AsyncLocalStorage;
  telemetry.install({ contextManager: false });
  const manager = edgeContextManager();
  if (!manager) throw new Error('no AsyncLocalStorage global: the Edge context manager cannot be built');
  context.setGlobalContextManager(manager);
  app = await startV4App();
  auth0 = instrumentAuth0(app.client());
  middleware = withAuthTelemetry((request: NextRequest) => auth0.middleware(request), { sdk: SDK }) as typeof middleware;
  tokenMiddleware = withAuthTelemetry(getAccessTokenAndContinue(auth0), { sdk: SDK }) as typeof tokenMiddleware;
  // Every request of the login flow goes through the instrumented middleware.
  app.setHandler((request) => middleware(request));
});

afterAll(async () => {
  await app?.stop();
});

describe('nextjs-auth0 v4 (edge): Auth0Client in the Edge runtime', () => {
  it('runs with the Edge runtime globals', () => {
    expect(typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('string');
  });

  it('a login through the wrapped auth0.middleware: login and callback handlers, then a found session with its age, all with auth.runtime=edge', async () => {
    telemetry.reset();
    const { cookie } = await app.login('alice');
    const handlers = spans(SPANS.handler.name).map((s) => [s.attributes['auth.handler.kind'], s.attributes['auth.outcome'], s.attributes['auth.runtime']]);
    expect(handlers).toEqual([
      ['login', 'redirect', 'edge'],
      ['callback', 'redirect', 'edge'],
    ]);
    const runs = spans(SPANS.middleware.name);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.every((s) => s.attributes['auth.runtime'] === 'edge' && s.attributes['auth.sdk'] === SDK)).toBe(true);

    telemetry.reset();
    const before = await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' });
    const session = await auth0.getSession(app.request('/', { cookie }));
    expect(session?.user.sub).toBe('alice');
    const [read] = spans(SPANS.sessionRead.name);
    expect(read!.attributes).toMatchObject({ 'auth.sdk': SDK, 'auth.outcome': 'found', 'auth.runtime': 'edge', 'auth.user_agent.class': 'browser' });
    expect(read!.attributes['auth.session.age']).toBeGreaterThanOrEqual(0);
    expect(read!.attributes['auth.session.age']).toBeLessThan(60);
    expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before + 1);

    // A page behind the middleware: the rolling touch re-sets the cookie, recorded on Edge.
    telemetry.reset();
    const page = await middleware(app.request('/dashboard', { cookie }));
    expect(page.headers.get('x-middleware-next')).toBe('1');
    expect(page.headers.getSetCookie().some((c) => c.startsWith('__session='))).toBe(true);
    const [touch] = spans(SPANS.sessionTouch.name);
    expect(touch!.attributes).toMatchObject({ 'auth.outcome': 'touched', 'auth.runtime': 'edge' });
  });

  it('an expired access token is refreshed in the middleware: auth.token.refresh under auth.token.get, the new cookie on the response', async () => {
    const { cookie } = await app.login('bob', { ttl: 1 });
    app.idp.setAccessTokenTtl(3600); // for the token the refresh brings
    await sleep(1200);
    telemetry.reset();
    const grantsBefore = refreshGrants();
    const before = await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    const response = await tokenMiddleware(app.request('/dashboard', { cookie }));
    expect(response.headers.get('x-middleware-next')).toBe('1');
    expect(refreshGrants()).toBe(grantsBefore + 1);
    expect(response.headers.getSetCookie().some((c) => c.startsWith('__session='))).toBe(true);

    const [get] = spans(SPANS.tokenGet.name);
    const [refresh] = spans(SPANS.tokenRefresh.name);
    const [run] = spans(SPANS.middleware.name);
    expect(get!.attributes).toMatchObject({ 'auth.outcome': 'refreshed', 'auth.runtime': 'edge', 'auth.user_agent.class': 'browser' });
    expect(refresh!.attributes).toMatchObject({ 'auth.outcome': 'success', 'auth.sdk': SDK, 'auth.runtime': 'edge', 'auth.user_agent.class': 'browser' });
    expect(refresh!.parentSpanContext?.spanId).toBe(get!.spanContext().spanId);
    expect(get!.parentSpanContext?.spanId).toBe(run!.spanContext().spanId);
    expect(run!.attributes).toMatchObject({ 'auth.runtime': 'edge', 'auth.outcome': 'pass' });
    // The cookie was written by middleware and returned: nothing is flagged as lost.
    expect(run!.events.map((e) => e.name)).not.toContain('auth.refresh.unpersisted');
    expect(await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before + 1);
  });

  it('a refresh token revoked at the IdP: failed_to_refresh_token from the SDK, invalid_grant on the refresh, on Edge', async () => {
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
    expect((thrown as { code: string }).code).toBe('failed_to_refresh_token');
    const [refresh] = spans(SPANS.tokenRefresh.name);
    // The same error.type as on Node for the same refusal.
    expect(refresh!.attributes).toMatchObject({
      'auth.outcome': 'failure',
      'auth.error.code': 'invalid_grant',
      'error.type': 'OAuth2Error',
      'auth.runtime': 'edge',
    });
    expect(
      await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' }),
    ).toBe(before + 1);
  });

  it('missing_session from Datadog Synthetics is monitor noise, from Chrome a real user', async () => {
    const { cookie } = await app.login('alice');
    const filter = (cls: string) => ({ 'auth.outcome': 'error', 'auth.error.code': 'missing_session', 'auth.user_agent.class': cls });
    const [monitorBefore, browserBefore] = [
      await count(METRICS.tokenRequests.name, filter('monitor')),
      await count(METRICS.tokenRequests.name, filter('browser')),
    ];
    const cachedBefore = await count(METRICS.tokenRequests.name, { 'auth.outcome': 'cached', 'auth.user_agent.class': 'browser' });
    telemetry.reset();
    await tokenMiddleware(app.request('/dashboard', DATADOG));
    await tokenMiddleware(app.request('/dashboard', { userAgent: CHROME_UA })); // a logged-out visitor
    await tokenMiddleware(app.request('/dashboard', { cookie }));
    expect(await count(METRICS.tokenRequests.name, filter('monitor'))).toBe(monitorBefore + 1);
    expect(await count(METRICS.tokenRequests.name, filter('browser'))).toBe(browserBefore + 1);
    expect(await count(METRICS.tokenRequests.name, { 'auth.outcome': 'cached', 'auth.user_agent.class': 'browser' })).toBe(cachedBefore + 1);
    const gets = spans(SPANS.tokenGet.name);
    expect(gets.map((s) => [s.attributes['auth.user_agent.class'], s.attributes['auth.outcome'], s.attributes['auth.runtime']])).toEqual([
      ['monitor', 'error', 'edge'],
      ['browser', 'error', 'edge'],
      ['browser', 'cached', 'edge'],
    ]);
    expect(gets[0]!.attributes['user_agent.synthetic.type']).toBe('test');

    // The SDK's own access-token route answers a probe with missing_session too, and says so.
    telemetry.reset();
    const probe = await middleware(app.request('/auth/access-token', DATADOG));
    expect(probe.status).toBe(401);
    const [handler] = spans(SPANS.handler.name);
    expect(handler!.attributes).toMatchObject({
      'auth.handler.kind': 'access-token',
      'auth.outcome': 'unauthorized',
      'auth.error.code': 'missing_session',
      'auth.user_agent.class': 'monitor',
      'auth.runtime': 'edge',
    });
  });
});
