/**
 * Auth.js v5 end to end: examples/authjs-v5 (Next 15.5 production build, next-auth 5 beta with the
 * Auth.js guide's rotation inline in callbacks.jwt, `export default auth((req) => …)` as Edge
 * middleware wrapped with withAuthTelemetry, a Server Component and a route handler calling `auth`)
 * against a real IdP with rotating refresh tokens, driven by real Chromium. Everything is asserted
 * on what the app exports over OTLP.
 *
 * One build serves two `next start`s. The first shares the refresh ledger between its two runtimes
 * through the README's instrumentation.ts: Node.js reaches Redis, Edge (no TCP) an unstorage
 * storage server in front of the same Redis. The second starts without those variables: each
 * runtime keeps its own ledger in memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { latestCumulative, startIdp, startOtlpReceiver, type Idp, type OtlpReceiver } from '../../testkit/index.js';
import { REPOSITORY_ROOT, freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { chromiumUnavailableReason, launchChromium, loginThroughIdpForm } from '../../testkit/browser.js';
import { redisServerVersion, startRedis, type RedisServer } from '../../testkit/redis.js';
import { startRedisStorageServer, type StorageServer } from '../../testkit/storage-server.js';
import { DEFAULT_RACE_WINDOW_SECONDS } from '../../src/core/refresh/refresh-ledger.js';

const EXAMPLE = 'authjs-v5';
// Headless Chromium announces itself as HeadlessChrome, which is a bot; these stand for real users.
const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const SHARED = 'authjs-v5-e2e-shared-ledger';
const MEMORY = 'authjs-v5-e2e-memory-ledger';
// Access tokens issued at sign-in live this long, so a visit after a pause refreshes.
const SHORT_TTL_S = 3;

const unavailable = chromiumUnavailableReason() ?? (redisServerVersion() === undefined ? 'redis-server not found' : undefined);
if (unavailable && process.env.CI === 'true') throw new Error(`CI=true but the ${EXAMPLE} end-to-end test cannot run: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the ${EXAMPLE} end-to-end test on this machine: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const read = (...path: string[]) => readFileSync(join(REPOSITORY_ROOT, ...path), 'utf8');

describe.skipIf(unavailable !== undefined)(`${EXAMPLE}: real Chromium against the built Next 15 app`, () => {
  let redis: RedisServer;
  let storage: StorageServer;
  let idp: Idp;
  let otlp: OtlpReceiver;
  let app: ExampleApp;
  let browser: Browser;
  let appUrl = '';
  let port = 0;
  const contexts: BrowserContext[] = [];

  async function startApp(service: string, ledgerEnv: Record<string, string>): Promise<ExampleApp> {
    return startExample(EXAMPLE, {
      port,
      env: {
        AUTH_URL: appUrl,
        AUTH_TRUST_HOST: 'true',
        AUTH_SECRET: 'e2e-authjs-v5-secret-of-at-least-32-characters',
        AUTH_OIDC_ISSUER: idp.url,
        AUTH_OIDC_ID: idp.clientId,
        AUTH_OIDC_SECRET: idp.clientSecret,
        ...ledgerEnv,
        ...otlp.exporterEnv(service, { metricIntervalMs: 500 }),
      },
    });
  }

  beforeAll(async () => {
    await prepareExample(EXAMPLE);
    redis = await startRedis();
    storage = await startRedisStorageServer(redis.url);
    idp = await startIdp({ accessTokenTtl: 3600 });
    otlp = await startOtlpReceiver();
    port = await freePort();
    // Next reports 127.0.0.1 as localhost in request URLs; the browser uses localhost throughout
    // so Auth.js's cookies stay on one host.
    appUrl = `http://localhost:${port}`;
    await idp.registerRedirectUris(appUrl);
    app = await startApp(SHARED, {
      AUTH_LEDGER_REDIS_URL: redis.url,
      AUTH_LEDGER_HTTP_URL: storage.url,
      AUTH_TELEMETRY_LEDGER_SALT: 'e2e-ledger-salt-shared-by-both-runtimes',
    });
    browser = await launchChromium();
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await otlp?.stop();
    await idp?.stop();
    await storage?.close();
    await redis?.close();
  });

  const total = (service: string, name: string, filter: Record<string, string>) =>
    latestCumulative(
      otlp.metricPoints().filter((p) => p.resource['service.name'] === service),
      name,
      { 'auth.sdk': 'authjs-v5', ...filter },
    );
  const waitForTotal = (service: string, name: string, filter: Record<string, string>, atLeast: number) =>
    otlp.waitFor(() => total(service, name, filter) >= atLeast, {
      timeoutMs: 20_000,
      description: `${service} ${name} ${JSON.stringify(filter)} >= ${atLeast}\n${app.output().slice(-3000)}`,
    });
  const idpRefreshes = (outcome: 'success' | 'failure') => idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === outcome).length;

  /** A new browser profile signed in through the middleware redirect and the IdP's form, its access token short-lived. */
  async function signedIn(username: 'alice' | 'bob'): Promise<Page> {
    const context = await browser.newContext({ userAgent: CHROME_UA });
    contexts.push(context);
    const page = await context.newPage();
    idp.setAccessTokenTtl(SHORT_TTL_S);
    await page.goto(`${appUrl}/dashboard`);
    // Middleware (no session) → Auth.js's sign-in page → the IdP's form → back to the dashboard.
    await page.click('form[action$="/api/auth/signin/oidc"] button');
    await loginThroughIdpForm(page, { username, password: `${username}-password`, returnTo: `${appUrl}/dashboard` });
    idp.setAccessTokenTtl(3600);
    return page;
  }

  async function readMe(page: Page): Promise<{ user: string | null; error: string | null }> {
    const response = await page.goto(`${appUrl}/api/me`);
    return (await response!.json()) as { user: string | null; error: string | null };
  }

  it('runs the README files', () => {
    expect(read('examples', EXAMPLE, 'middleware.ts')).toBe(read('docs/snippets/authjs-v5/middleware.ts'));
    // The other idiom is not the app's middleware; kept in the app so `next build` type-checks it.
    expect(read('examples', EXAMPLE, 'middleware-auth.ts')).toBe(read('docs/snippets/authjs-v5/middleware-auth.ts'));
    expect(read('examples', EXAMPLE, 'auth.config.ts')).toBe(read('docs/snippets/authjs-v5-config.ts'));
    expect(read('examples', EXAMPLE, 'instrumentation.ts')).toBe(read('docs/snippets/shared-ledger-instrumentation.ts'));
  });

  it('signs in through the wrapped `auth` middleware and the IdP login form, as a browser', async () => {
    const page = await signedIn('alice');
    expect(await page.textContent('#user')).toBe('Alice Example');
    expect(await page.textContent('#error')).toBe('none');
    const browserRun = { 'auth.user_agent.class': 'browser', 'auth.runtime': 'edge' };
    await waitForTotal(SHARED, 'auth.middleware.runs', { ...browserRun, 'auth.outcome': 'redirect' }, 1);
    await waitForTotal(SHARED, 'auth.middleware.runs', { ...browserRun, 'auth.outcome': 'pass' }, 1);
    await waitForTotal(SHARED, 'auth.handler.requests', { 'auth.handler.kind': 'callback', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }, 1);
    const run = await otlp.waitForSpan((s) => s.name === 'auth.middleware' && s.attributes['auth.outcome'] === 'redirect', { timeoutMs: 20_000 });
    expect(run.attributes).toMatchObject({ 'auth.sdk': 'authjs-v5', 'auth.user_agent.class': 'browser', 'auth.runtime': 'edge' });

    // Refreshed by the route handler's `auth` (Node.js), then by the middleware (Edge); each rotated
    // token reaches the browser in that response's Set-Cookie.
    await sleep(SHORT_TTL_S * 1000 + 100);
    idp.setAccessTokenTtl(SHORT_TTL_S);
    expect(await readMe(page)).toEqual({ user: 'Alice Example', error: null });
    idp.setAccessTokenTtl(3600);
    const success = { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' };
    await waitForTotal(SHARED, 'auth.token.refreshes', { ...success, 'auth.runtime': 'nodejs' }, 1);
    await sleep(SHORT_TTL_S * 1000 + 100);
    await page.goto(`${appUrl}/`);
    await waitForTotal(SHARED, 'auth.token.refreshes', { ...success, 'auth.runtime': 'edge' }, 1);
    const exchanges = idpRefreshes('success');
    expect(await readMe(page)).toEqual({ user: 'Alice Example', error: null });
    expect(idpRefreshes('success')).toBe(exchanges);
    expect(idpRefreshes('failure')).toBe(0);
    expect(total(SHARED, 'auth.token.refreshes', { 'auth.outcome': 'failure' })).toBe(0);
    expect(total(SHARED, 'auth.refresh.reuses', {})).toBe(0);
  });

  it("records a refused refresh (grant revoked at the IdP) as a browser failure with the IdP's invalid_grant, not as a reuse", async () => {
    const page = await signedIn('bob');
    await idp.revokeRefreshTokens('bob');
    await sleep(SHORT_TTL_S * 1000 + 100);
    expect(await readMe(page)).toEqual({ user: 'Bob Example', error: 'RefreshTokenError' });
    await waitForTotal(
      SHARED,
      'auth.token.refreshes',
      { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' },
      1,
    );
    // The revoked token was never exchanged before: an ordinary failure.
    expect(total(SHARED, 'auth.refresh.reuses', {})).toBe(0);
  });

  it('classifies a crawler at the middleware as a bot', async () => {
    const before = total(SHARED, 'auth.middleware.runs', { 'auth.user_agent.class': 'bot' });
    const browserRedirects = total(SHARED, 'auth.middleware.runs', { 'auth.user_agent.class': 'browser', 'auth.outcome': 'redirect' });
    const response = await fetch(`${appUrl}/dashboard`, { headers: { 'user-agent': GOOGLEBOT }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location')!).pathname).toBe('/api/auth/signin');
    await waitForTotal(SHARED, 'auth.middleware.runs', { 'auth.user_agent.class': 'bot', 'auth.outcome': 'redirect', 'auth.runtime': 'edge' }, before + 1);
    expect(total(SHARED, 'auth.middleware.runs', { 'auth.user_agent.class': 'browser', 'auth.outcome': 'redirect' })).toBe(browserRedirects);
  });

  it('one request, two runtimes, one shared ledger: the Server Component reuses the token the Edge middleware just rotated, a race', async () => {
    const page = await signedIn('alice');
    await sleep(SHORT_TTL_S * 1000 + 100);
    const before = { exchanged: idpRefreshes('success'), refused: idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length };
    const browserRefresh = { 'auth.user_agent.class': 'browser' };
    const edgeSuccess = { ...browserRefresh, 'auth.outcome': 'success', 'auth.runtime': 'edge' };
    const counted = { edge: total(SHARED, 'auth.token.refreshes', edgeSuccess), unpersisted: total(SHARED, 'auth.refresh.unpersisted', {}) };
    // The middleware refreshes on Edge and sends the rotated token in its Set-Cookie; the page,
    // rendered on Node.js for the same request, still reads the request's old cookie, so its own
    // jwt callback presents the refresh token the middleware has just exchanged.
    await page.goto(`${appUrl}/dashboard`);
    expect(await page.textContent('#error')).toBe('RefreshTokenError');
    expect(idpRefreshes('success')).toBe(before.exchanged + 1);
    expect(idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length).toBe(before.refused + 1);
    await waitForTotal(SHARED, 'auth.token.refreshes', edgeSuccess, counted.edge + 1);
    // The Edge exchange ended moments before the Node.js one started: within the default
    // raceWindowSeconds, so the rules call it a race (two refreshes of one session at once), not a
    // lost rotation, and it is not counted as unpersisted (the Edge response did carry the cookie).
    await waitForTotal(
      SHARED,
      'auth.refresh.reuses',
      { ...browserRefresh, 'auth.refresh.reuse': 'race', 'auth.error.code': 'invalid_grant', 'auth.runtime': 'nodejs' },
      1,
    );
    expect(total(SHARED, 'auth.refresh.reuses', { 'auth.refresh.reuse': 'lost_rotation' })).toBe(0);
    expect(total(SHARED, 'auth.refresh.unpersisted', {})).toBe(counted.unpersisted);
    const span = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.attributes['auth.refresh.reuse'] === 'race', { timeoutMs: 20_000 });
    expect(span.attributes).toMatchObject({ 'auth.error.code': 'invalid_grant', 'auth.runtime': 'nodejs', 'auth.user_agent.class': 'browser' });
    expect(span.events.map((e) => e.name)).toContain('auth.refresh.reuses');
    const edgeRefresh = otlp
      .spans()
      .filter((s) => s.name === 'auth.token.refresh' && s.attributes['auth.runtime'] === 'edge' && s.attributes['auth.outcome'] === 'success')
      .at(-1)!;
    const gapMs = (Number(BigInt(span.startTimeUnixNano) - BigInt(edgeRefresh.endTimeUnixNano)) / 1e6) | 0;
    expect(gapMs).toBeGreaterThanOrEqual(0);
    expect(gapMs).toBeLessThanOrEqual(DEFAULT_RACE_WINDOW_SECONDS * 1000);
  });

  it('negative control: with the default in-memory ledgers, Edge and Node.js each see half, and nothing is detected', async () => {
    await app.stop();
    app = await startApp(MEMORY, {});
    const page = await signedIn('alice');
    await sleep(SHORT_TTL_S * 1000 + 100);
    await page.goto(`${appUrl}/dashboard`);
    expect(await page.textContent('#error')).toBe('RefreshTokenError');
    // The same double refresh and the same refusal reach the receiver…
    await waitForTotal(MEMORY, 'auth.token.refreshes', { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser', 'auth.runtime': 'edge' }, 1);
    await waitForTotal(
      MEMORY,
      'auth.token.refreshes',
      { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' },
      1,
    );
    // …but the Node.js ledger never saw the Edge exchange: no reuse (it would have been counted
    // with the failure, in the same export).
    expect(total(MEMORY, 'auth.refresh.reuses', {})).toBe(0);

    // Nothing secret reached the receiver.
    const exported = JSON.stringify({ spans: otlp.spans(), metrics: otlp.metricPoints() });
    for (const context of contexts) {
      for (const cookie of await context.cookies()) if (cookie.value.length > 20) expect(exported).not.toContain(cookie.value.slice(0, 32));
    }
    expect(exported).not.toContain('alice@example.com');
  });
});
