/**
 * nextjs-auth0 v4 on Next 16 end to end: examples/auth0-v4-proxy (production build, `proxy.ts`
 * running `auth0.middleware` wrapped by withAuthTelemetry on Node, the repository's
 * instrumentation.ts plus onRequestError), a real IdP, real Chromium, and the OTLP that actually
 * leaves the app.
 *
 * v4 only talks to `https://<domain>/`, so the IdP's issuer is https://localhost while it listens
 * on plain http: the app reaches it through its E2E-only customFetch (lib/test-idp.ts), the browser
 * through testkit/issuer-proxy.ts (an HTTP proxy that terminates TLS for localhost:443). Playwright's
 * route() would not do: it never sees the redirects the browser follows between app and IdP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { latestCumulative, startIdp, startOtlpReceiver, type Idp, type OtlpReceiver, type ReceivedSpan } from '../../testkit/index.js';
import { REPOSITORY_ROOT, freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { chromiumUnavailableReason, launchChromium, loginThroughIdpForm } from '../../testkit/browser.js';
import { startIssuerProxy, type IssuerProxy } from '../../testkit/issuer-proxy.js';

const EXAMPLE = 'auth0-v4-proxy';
const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/** v4 refreshes once the token has expired (tokenRefreshBuffer 0). */
const TTL_SHORT = 2;
const TTL_LONG = 3600;
const SDK = 'nextjs-auth0-v4';

const unavailable = chromiumUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI=true but browser tests cannot run: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the ${EXAMPLE} browser tests on this machine: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)(`${EXAMPLE}: real Chromium against the built Next 16 app`, () => {
  let idp: Idp;
  let otlp: OtlpReceiver;
  let app: ExampleApp;
  let browser: Browser;
  let issuerProxy: IssuerProxy;

  beforeAll(async () => {
    await prepareExample(EXAMPLE);
    idp = await startIdp({ issuer: 'https://localhost', accessTokenTtl: TTL_LONG });
    otlp = await startOtlpReceiver();
    issuerProxy = await startIssuerProxy(idp);
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    await idp.registerRedirectUris(appUrl);
    app = await startExample(EXAMPLE, {
      port,
      env: {
        AUTH0_DOMAIN: 'localhost',
        AUTH0_CLIENT_ID: idp.clientId,
        AUTH0_CLIENT_SECRET: idp.clientSecret,
        AUTH0_SECRET: 'e2e-v4-secret-0123456789abcdef0123456789abcdef',
        APP_BASE_URL: appUrl,
        E2E_IDP_URL: idp.url,
        ...otlp.exporterEnv('auth0-v4-proxy-e2e'),
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

  async function loggedInUser(username: string, ttl: number): Promise<{ context: BrowserContext; page: Page }> {
    idp.setAccessTokenTtl(ttl);
    await idp.endSessions();
    const context = await browser.newContext({ userAgent: CHROME_UA, proxy: { server: issuerProxy.server }, ignoreHTTPSErrors: true });
    const page = await context.newPage();
    // The protected page redirects to /auth/login, served by auth0.middleware in proxy.ts.
    await page.goto(`${app.url}/dashboard`);
    await loginThroughIdpForm(page, { username, password: `${username}-password`, returnTo: `${app.url}/dashboard` });
    expect(await page.textContent('#name')).toMatch(/\S/);
    return { context, page };
  }

  const v4Browser = (s: ReceivedSpan) => s.attributes['auth.sdk'] === SDK && s.attributes['auth.user_agent.class'] === 'browser';
  const metric = (name: string, filter: Record<string, string>) => latestCumulative(otlp.metricPoints(), name, { 'auth.sdk': SDK, ...filter });

  it('a user logs in through proxy.ts and the IdP form; a Server Component refresh is reported, and so is its lost rotation', async () => {
    const { context, page } = await loggedInUser('alice', TTL_SHORT);

    // The login itself: auth routes served by auth0.middleware inside the instrumented proxy.
    const callback = await otlp.waitForSpan((s) => s.name === 'auth.handler' && s.attributes['auth.handler.kind'] === 'callback' && v4Browser(s), {
      timeoutMs: 20_000,
    });
    expect(callback.attributes['auth.outcome']).toBe('redirect');
    expect(callback.attributes['auth.runtime']).toBe('nodejs');
    const run = otlp.spans().find((s) => s.spanId === callback.parentSpanId);
    expect(run?.name).toBe('auth.middleware');
    expect(run?.attributes['auth.sdk']).toBe(SDK);
    const read = await otlp.waitForSpan(
      (s) => s.name === 'auth.session.read' && s.attributes['auth.outcome'] === 'found' && typeof s.attributes['auth.session.age'] === 'number' && v4Browser(s),
      { timeoutMs: 20_000 },
    );
    expect(read.attributes['auth.session.age']).toBeLessThan(60);

    // The access token expires; the token page's getAccessToken() refreshes it in a Server Component.
    await sleep(TTL_SHORT * 1000 + 1500);
    await page.goto(`${app.url}/token`);
    expect(await page.textContent('#token-state')).toMatch(/token valid for \d+ s/);
    const refresh = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && v4Browser(s), { timeoutMs: 20_000 });
    expect(refresh.attributes['auth.outcome']).toBe('success');
    const get = otlp.spans().find((s) => s.spanId === refresh.parentSpanId);
    expect(get?.name).toBe('auth.token.get');
    expect(get?.attributes['auth.outcome']).toBe('refreshed');
    // A Server Component cannot write cookies: the new token set was not persisted.
    expect(get?.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
    await otlp.waitFor(() => metric('auth.token.refreshes', { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }) >= 1, {
      timeoutMs: 20_000,
      description: 'auth.token.refreshes{success, browser, nextjs-auth0-v4}',
    });
    await otlp.waitFor(() => metric('auth.refresh.unpersisted', { 'auth.refresh.unpersisted_reason': 'read_only_context' }) >= 1, {
      timeoutMs: 20_000,
      description: 'auth.refresh.unpersisted{read_only_context}',
    });

    // The next visit sends the old cookie: the rotated refresh token is used again, the IdP
    // refuses it, the page fails, and Next's onRequestError sees the auth error.
    const failed = await page.goto(`${app.url}/token`);
    expect(failed?.status()).toBe(500);
    const failure = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.attributes['auth.outcome'] === 'failure' && v4Browser(s), {
      timeoutMs: 20_000,
    });
    expect(failure.attributes['auth.error.code']).toBe('invalid_grant');
    expect(failure.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
    await otlp.waitFor(() => metric('auth.refresh.unpersisted', { 'auth.refresh.unpersisted_reason': 'token_reused' }) >= 1, {
      timeoutMs: 20_000,
      description: 'auth.refresh.unpersisted{token_reused}',
    });
    await otlp.waitFor(
      () =>
        metric('auth.request.errors', { 'auth.next.route_type': 'render', 'auth.error.code': 'failed_to_refresh_token', 'auth.user_agent.class': 'browser' }) >=
        1,
      { timeoutMs: 20_000, description: 'auth.request.errors{render, failed_to_refresh_token, browser}' },
    );
    await context.close();
  });

  it('a monitor without a session and a tampered cookie, through proxy.ts: missing vs invalid, never a 500', async () => {
    const probe = await fetch(`${app.url}/`, { headers: { 'user-agent': 'Datadog/Synthetics', 'x-datadog-origin': 'synthetics' } });
    expect(probe.status).toBe(200);
    const tampered = await fetch(`${app.url}/`, {
      headers: { 'user-agent': CHROME_UA, cookie: '__session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(tampered.status).toBe(200);
    await otlp.waitFor(() => metric('auth.session.reads', { 'auth.outcome': 'missing', 'auth.user_agent.class': 'monitor' }) >= 1, {
      timeoutMs: 20_000,
      description: 'auth.session.reads{missing, monitor}',
    });
    await otlp.waitFor(
      () => metric('auth.session.reads', { 'auth.outcome': 'invalid', 'auth.session.invalid_reason': 'unknown', 'auth.user_agent.class': 'browser' }) >= 1,
      { timeoutMs: 20_000, description: 'auth.session.reads{invalid, unknown, browser}' },
    );
  });

  it('the example runs the repository files it claims to: the README proxy.ts and instrumentation.ts', () => {
    const dir = join(REPOSITORY_ROOT, 'examples', EXAMPLE);
    const read = (path: string) => readFileSync(path, 'utf8');
    expect(read(join(dir, 'proxy.ts'))).toBe(read(join(REPOSITORY_ROOT, 'docs/snippets/proxy.ts')));
    expect(read(join(dir, 'instrumentation.ts'))).toBe(read(join(REPOSITORY_ROOT, 'docs/snippets/proxy-instrumentation.ts')));
    expect(read(join(dir, 'instrumentation.ts')).startsWith(read(join(REPOSITORY_ROOT, 'instrumentation.ts')))).toBe(true);
    // The app's client is the README's, plus only the E2E IdP routing.
    expect(read(join(dir, 'lib/auth0-v4.ts'))).toContain('export const auth0 = instrumentAuth0(new Auth0Client({ ...testIdpOptions() }));');
  });
});
