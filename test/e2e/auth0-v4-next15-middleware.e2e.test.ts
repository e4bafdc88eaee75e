/**
 * nextjs-auth0 v4 on Next 15 end to end, with `middleware.ts` on the Node.js runtime:
 * examples/auth0-v4-next15-middleware (production build of Next 15.5, `middleware.ts` exporting
 * `middleware = withAuthTelemetry(...)` around `auth0.middleware` with
 * `config.runtime = 'nodejs'`, the repository's instrumentation.ts plus onRequestError), a real IdP,
 * real Chromium, and the OTLP that actually leaves the app.
 *
 * The point of this example is the runtime: without `runtime: 'nodejs'` Next 15 runs the same file
 * on Edge. So the build's function manifest and every `auth.middleware` span the app exports must
 * say `nodejs`; an Edge middleware would export `auth.runtime=edge`.
 *
 * The IdP routing is the one of auth0-v4-proxy.e2e.test.ts: issuer https://localhost on a plain-http
 * loopback port, reached by the app through its E2E-only customFetch (lib/test-idp.ts) and by the
 * browser through testkit/issuer-proxy.ts.
 *
 * The app's public URL is http://localhost:PORT, not http://127.0.0.1:PORT as in the other e2e
 * tests: Next 15.5's adapter for Node.js middleware passes every redirect the middleware returns
 * through NextURL, which rewrites loopback hosts (127.x.x.x, [::1]) to `localhost` (Edge middleware
 * and Next 16's proxy leave them alone). With APP_BASE_URL=http://127.0.0.1:PORT the SDK's callback
 * redirect would land on localhost, where the browser has no session cookie: a login loop, then a
 * 500 for the lost transaction cookie.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { latestCumulative, startIdp, startOtlpReceiver, type Idp, type OtlpReceiver, type ReceivedSpan } from '../../testkit/index.js';
import { REPOSITORY_ROOT, freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { chromiumUnavailableReason, launchChromium, loginThroughIdpForm } from '../../testkit/browser.js';
import { startIssuerProxy, type IssuerProxy } from '../../testkit/issuer-proxy.js';

const EXAMPLE = 'auth0-v4-next15-middleware';
const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const DATADOG = { 'user-agent': 'Datadog/Synthetics', 'x-datadog-origin': 'synthetics' };
/** v4 refreshes once the token has expired (tokenRefreshBuffer 0). */
const TTL_SHORT = 2;
const TTL_LONG = 3600;
const SDK = 'nextjs-auth0-v4';

const unavailable = chromiumUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI=true but browser tests cannot run: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the ${EXAMPLE} browser tests on this machine: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = join(REPOSITORY_ROOT, 'examples', EXAMPLE);
const read = (path: string) => readFileSync(path, 'utf8');

describe.skipIf(unavailable !== undefined)(`${EXAMPLE}: real Chromium against the built Next 15 app, middleware on Node`, () => {
  let idp: Idp;
  let otlp: OtlpReceiver;
  let app: ExampleApp;
  let browser: Browser;
  let issuerProxy: IssuerProxy;
  /** Where the browser goes: the app's APP_BASE_URL (see above for why it is not app.url). */
  let appUrl: string;

  beforeAll(async () => {
    await prepareExample(EXAMPLE);
    idp = await startIdp({ issuer: 'https://localhost', accessTokenTtl: TTL_LONG });
    otlp = await startOtlpReceiver();
    issuerProxy = await startIssuerProxy(idp);
    const port = await freePort();
    appUrl = `http://localhost:${port}`;
    await idp.registerRedirectUris(appUrl);
    app = await startExample(EXAMPLE, {
      port,
      env: {
        AUTH0_DOMAIN: 'localhost',
        AUTH0_CLIENT_ID: idp.clientId,
        AUTH0_CLIENT_SECRET: idp.clientSecret,
        AUTH0_SECRET: 'e2e-v4-n15-secret-0123456789abcdef0123456789abcdef',
        APP_BASE_URL: appUrl,
        E2E_IDP_URL: idp.url,
        ...otlp.exporterEnv('auth0-v4-next15-middleware-e2e'),
      },
    });
    browser = await launchChromium();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await otlp?.stop();
    await issuerProxy?.stop();
    await idp?.stop();
  });

  const newContext = () => browser.newContext({ userAgent: CHROME_UA, proxy: { server: issuerProxy.server }, ignoreHTTPSErrors: true });

  async function loggedInUser(username: string, ttl: number): Promise<{ context: BrowserContext; page: Page }> {
    idp.setAccessTokenTtl(ttl);
    await idp.endSessions();
    const context = await newContext();
    const page = await context.newPage();
    // The protected page redirects to /auth/login, served by auth0.middleware in middleware.ts.
    await page.goto(`${appUrl}/dashboard`);
    await loginThroughIdpForm(page, { username, password: `${username}-password`, returnTo: `${appUrl}/dashboard` });
    expect(await page.textContent('#name')).toMatch(/\S/);
    return { context, page };
  }

  /** The SDK's client-side getAccessToken(): a fetch of /auth/access-token, answered by the middleware. */
  async function clientToken(page: Page): Promise<string> {
    await page.goto(`${appUrl}/client-token`);
    await page.click('#get-token');
    await page.waitForFunction(() => !/^(idle|fetching)$/.test(document.querySelector('#client-token-state')?.textContent ?? 'idle'), undefined, {
      timeout: 20_000,
    });
    return (await page.textContent('#client-token-state')) ?? '';
  }

  const v4Browser = (s: ReceivedSpan) => s.attributes['auth.sdk'] === SDK && s.attributes['auth.user_agent.class'] === 'browser';
  const metric = (name: string, filter: Record<string, string>) => latestCumulative(otlp.metricPoints(), name, { 'auth.sdk': SDK, ...filter });
  const parentOf = (span: ReceivedSpan | undefined) => otlp.spans().find((s) => s.spanId === span?.parentSpanId);
  const refreshGrants = () => idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === 'success').length;

  it('the build put middleware.ts on the Node.js runtime, not Edge', () => {
    const functions = JSON.parse(read(join(dir, '.next/server/functions-config-manifest.json'))) as { functions: Record<string, { runtime?: string }> };
    expect(functions.functions['/_middleware']?.runtime).toBe('nodejs');
    const edge = JSON.parse(read(join(dir, '.next/server/middleware-manifest.json'))) as { middleware: Record<string, unknown> };
    expect(edge.middleware).toEqual({});
  });

  it('a user logs in through middleware.ts and the IdP form; the browser getAccessToken() refresh runs in the Node middleware and its cookie is kept', async () => {
    const { context, page } = await loggedInUser('alice', TTL_SHORT);

    // The login itself: auth routes served by auth0.middleware inside the instrumented middleware, on Node.
    const callback = await otlp.waitForSpan((s) => s.name === 'auth.handler' && s.attributes['auth.handler.kind'] === 'callback' && v4Browser(s), {
      timeoutMs: 20_000,
    });
    expect(callback.attributes['auth.outcome']).toBe('redirect');
    expect(callback.attributes['auth.runtime']).toBe('nodejs');
    const run = parentOf(callback);
    expect(run?.name).toBe('auth.middleware');
    expect(run?.attributes).toMatchObject({ 'auth.sdk': SDK, 'auth.runtime': 'nodejs', 'auth.user_agent.class': 'browser' });
    expect(run?.resource['service.name']).toBe('auth0-v4-next15-middleware-e2e');

    // The access token expires; the client component asks /auth/access-token, which refreshes it.
    idp.setAccessTokenTtl(TTL_LONG); // for the token the refresh brings
    await sleep(TTL_SHORT * 1000 + 1500);
    const grantsBefore = refreshGrants();
    expect(await clientToken(page)).toBe('token received');
    expect(refreshGrants()).toBe(grantsBefore + 1);
    const refresh = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && v4Browser(s), { timeoutMs: 20_000 });
    expect(refresh.attributes).toMatchObject({ 'auth.outcome': 'success', 'auth.runtime': 'nodejs' });
    const handler = parentOf(refresh);
    expect(handler?.name).toBe('auth.handler');
    expect(handler?.attributes).toMatchObject({ 'auth.handler.kind': 'access-token', 'auth.outcome': 'success', 'auth.runtime': 'nodejs' });
    // Middleware can write cookies: the new token set is persisted, nothing is flagged as lost.
    expect(handler?.events.map((e) => e.name)).not.toContain('auth.refresh.unpersisted');
    expect(parentOf(handler)?.attributes).toMatchObject({ 'auth.sdk': SDK, 'auth.runtime': 'nodejs' });
    await otlp.waitFor(() => metric('auth.token.refreshes', { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' }) >= 1, {
      timeoutMs: 20_000,
      description: 'auth.token.refreshes{success, browser, nodejs, nextjs-auth0-v4}',
    });

    // The browser kept the rotated cookie: the next token comes from the session, no second exchange.
    expect(await clientToken(page)).toBe('token received');
    expect(refreshGrants()).toBe(grantsBefore + 1);
    await otlp.waitFor(
      () => metric('auth.handler.requests', { 'auth.handler.kind': 'access-token', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }) >= 2,
      {
        timeoutMs: 20_000,
        description: 'auth.handler.requests{access-token, success, browser} ≥ 2',
      },
    );
    expect(metric('auth.refresh.unpersisted', {})).toBe(0);
    await context.close();
  });

  it('missing_session at /auth/access-token: a Datadog Synthetics probe is a monitor, a logged-out Chromium a browser', async () => {
    const probe = await fetch(`${app.url}/auth/access-token`, { headers: DATADOG });
    expect(probe.status).toBe(401);
    expect(((await probe.json()) as { error: { code: string } }).error.code).toBe('missing_session');

    const context = await newContext();
    const page = await context.newPage();
    expect(await clientToken(page)).toBe('error missing_session');
    await context.close();

    const missing = (cls: string) => ({
      'auth.handler.kind': 'access-token',
      // The route's designed answer without a session, not a failure.
      'auth.outcome': 'unauthorized',
      'auth.error.code': 'missing_session',
      'auth.user_agent.class': cls,
      'auth.runtime': 'nodejs',
    });
    await otlp.waitFor(() => metric('auth.handler.requests', missing('monitor')) >= 1, {
      timeoutMs: 20_000,
      description: 'auth.handler.requests{missing_session, monitor}',
    });
    await otlp.waitFor(() => metric('auth.handler.requests', missing('browser')) >= 1, {
      timeoutMs: 20_000,
      description: 'auth.handler.requests{missing_session, browser}',
    });
    expect(metric('auth.handler.requests', missing('monitor'))).toBe(1);
    const monitorSpan = otlp.spans().find((s) => s.name === 'auth.handler' && s.attributes['auth.user_agent.class'] === 'monitor');
    expect(monitorSpan?.attributes).toMatchObject({ 'auth.error.code': 'missing_session', 'user_agent.synthetic.type': 'test' });

    // Every middleware run this app exported ran on Node; one on Edge would say `edge`.
    const runs = otlp.spans().filter((s) => s.name === 'auth.middleware');
    expect(runs.length).toBeGreaterThan(3);
    expect(new Set(runs.map((s) => s.attributes['auth.runtime']))).toEqual(new Set(['nodejs']));
  });

  it('the example runs the repository files it claims to: the README middleware code and instrumentation.ts', () => {
    const middleware = read(join(dir, 'middleware.ts'));
    // The README's proxy.ts body, exported as `middleware`, with the Node runtime in its config.
    const wrapped = /export const proxy = (withAuthTelemetry\(.*\));/.exec(read(join(REPOSITORY_ROOT, 'docs/snippets/proxy.ts')))![1]!;
    expect(middleware).toContain(`export const middleware = ${wrapped};`);
    expect(middleware).toMatch(/export const config = \{\n {2}runtime: 'nodejs',/);
    expect(read(join(dir, 'instrumentation.ts'))).toBe(read(join(REPOSITORY_ROOT, 'docs/snippets/proxy-instrumentation.ts')));
    expect(read(join(dir, 'instrumentation.ts')).startsWith(read(join(REPOSITORY_ROOT, 'instrumentation.ts')))).toBe(true);
    expect(read(join(dir, 'lib/auth0-v4.ts'))).toContain('export const auth0 = instrumentAuth0(new Auth0Client({ ...testIdpOptions() }));');
  });
});
