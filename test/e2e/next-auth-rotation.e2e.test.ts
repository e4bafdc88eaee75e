/**
 * The common NextAuth v4 rotation end to end: examples/next-auth-rotation (Next 15 production
 * build, NextAuth 4.24 with refresh-token rotation in callbacks.jwt, instrumented with
 * instrumentNextAuth and traceTokenRefresh, Next 15 middleware wrapped with withAuthTelemetry)
 * against a real IdP with rotating refresh tokens, driven by real Chromium. What must show up is
 * what the app exports over OTLP: the refresh, and the Server Component's lost rotation as
 * `auth.refresh.unpersisted`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { latestCumulative, startIdp, startOtlpReceiver, type Idp, type OtlpReceiver } from '../../testkit/index.js';
import { REPOSITORY_ROOT, freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { chromiumUnavailableReason, launchChromium, loginThroughIdpForm } from '../../testkit/browser.js';

const EXAMPLE = 'next-auth-rotation';
// Headless Chromium announces itself as HeadlessChrome, which is a bot; these stand for real users.
const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const unavailable = chromiumUnavailableReason();
if (unavailable && process.env.CI === 'true') throw new Error(`CI=true but browser tests cannot run: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the ${EXAMPLE} browser tests on this machine: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)(`${EXAMPLE}: real Chromium against the built Next 15 app`, () => {
  let idp: Idp;
  let otlp: OtlpReceiver;
  let app: ExampleApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let appUrl = '';

  beforeAll(async () => {
    await prepareExample(EXAMPLE);
    idp = await startIdp({ accessTokenTtl: 3600 });
    otlp = await startOtlpReceiver();
    const port = await freePort();
    // Next reports 127.0.0.1 as localhost in request URLs (and so in the middleware's redirect);
    // the browser uses localhost throughout so NextAuth's cookies stay on one host.
    appUrl = `http://localhost:${port}`;
    await idp.registerRedirectUris(appUrl);
    app = await startExample(EXAMPLE, {
      port,
      env: {
        NEXTAUTH_URL: appUrl,
        NEXTAUTH_SECRET: 'e2e-next-auth-secret-of-at-least-32-characters',
        OIDC_ISSUER: idp.url,
        OIDC_CLIENT_ID: idp.clientId,
        OIDC_CLIENT_SECRET: idp.clientSecret,
        // Refresh only once the access token has expired (the common rotation uses an hour).
        REFRESH_MARGIN_MS: '0',
        ...otlp.exporterEnv('next-auth-rotation-e2e', { metricIntervalMs: 500 }),
      },
    });
    browser = await launchChromium();
    context = await browser.newContext({ userAgent: CHROME_UA });
    page = await context.newPage();
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await otlp?.stop();
    await idp?.stop();
  });

  const total = (name: string, filter: Record<string, string>) => latestCumulative(otlp.metricPoints(), name, { 'auth.sdk': 'next-auth-v4', ...filter });
  const waitForTotal = (name: string, filter: Record<string, string>, atLeast: number) =>
    otlp.waitFor(() => total(name, filter) >= atLeast, {
      timeoutMs: 20_000,
      description: `${name} ${JSON.stringify(filter)} >= ${atLeast}\n${app.output().slice(-3000)}`,
    });

  it('runs the README configuration', () => {
    const example = readFileSync(join(REPOSITORY_ROOT, 'examples', EXAMPLE, 'lib/auth.ts'), 'utf8');
    expect(example).toBe(readFileSync(join(REPOSITORY_ROOT, 'docs/snippets/next-auth-options.ts'), 'utf8'));
    // The README's shared-ledger instrumentation.ts; without its variables, as here, the ledger stays in memory.
    expect(readFileSync(join(REPOSITORY_ROOT, 'examples', EXAMPLE, 'instrumentation.ts'), 'utf8')).toBe(
      readFileSync(join(REPOSITORY_ROOT, 'docs/snippets/shared-ledger-instrumentation.ts'), 'utf8'),
    );
  });

  it('signs in through the middleware redirect and the IdP login form in Chromium', async () => {
    // Access tokens live 2 s (the IdP reads this when it issues one), so a read after a pause refreshes.
    idp.setAccessTokenTtl(2);
    await page.goto(`${appUrl}/rsc`);
    // Middleware (no session) → NextAuth's sign-in page → the IdP's form.
    await page.click('form[action$="/api/auth/signin/oidc"] button');
    await loginThroughIdpForm(page, { username: 'alice', password: 'alice-password', returnTo: `${appUrl}/rsc` });
    expect(await page.textContent('#user')).toBe('Alice Example');
    await waitForTotal('auth.handler.requests', { 'auth.handler.kind': 'callback', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }, 1);
    await waitForTotal('auth.middleware.runs', { 'auth.outcome': 'redirect', 'auth.user_agent.class': 'browser', 'http.route': '/rsc' }, 1);
    await waitForTotal('auth.middleware.runs', { 'auth.outcome': 'pass', 'auth.user_agent.class': 'browser', 'http.route': '/rsc' }, 1);
  });

  it('refreshes through the session route, where the rotated token is stored', async () => {
    await sleep(2100);
    const before = total('auth.token.refreshes', { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    const response = await page.goto(`${appUrl}/api/auth/session`);
    const session = (await response!.json()) as { error?: string; accessTokenExpiry?: number };
    expect(session.error).toBeUndefined();
    expect(session.accessTokenExpiry).toBeGreaterThan(Date.now());
    await waitForTotal('auth.token.refreshes', { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }, before + 1);
    expect(total('auth.refresh.unpersisted', {})).toBe(0);
  });

  it('shows the Server Component lost rotation at the OTLP receiver as auth.refresh.unpersisted', async () => {
    await sleep(2100);
    idp.setAccessTokenTtl(3600);
    const invalidGrants = idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length;
    // First render refreshes; the Server Component cannot store the rotated refresh token.
    await page.goto(`${appUrl}/rsc`);
    expect(await page.textContent('#error')).toBe('none');
    // Second render, a visit past the race window later (sooner, it is counted as a race), presents the rotated-away refresh token again.
    await sleep(2100);
    await page.reload();
    expect(await page.textContent('#error')).toBe('RefreshAccessTokenError');
    expect(idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length).toBe(invalidGrants + 1);
    await waitForTotal(
      'auth.refresh.unpersisted',
      { 'auth.refresh.unpersisted_reason': 'token_reused', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' },
      1,
    );
    await waitForTotal('auth.token.refreshes', { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' }, 1);
    const span = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.events.some((e) => e.name === 'auth.refresh.unpersisted'), {
      timeoutMs: 20_000,
    });
    expect(span.attributes['auth.error.code']).toBe('invalid_grant');
    // Nothing secret reached the receiver.
    const exported = JSON.stringify({ spans: otlp.spans(), metrics: otlp.metricPoints() });
    const cookies = await context.cookies();
    for (const cookie of cookies) if (cookie.value.length > 20) expect(exported).not.toContain(cookie.value.slice(0, 32));
    expect(exported).not.toContain('alice@example.com');
  });
});
