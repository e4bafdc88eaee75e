/**
 * NextAuth v4 on the Pages Router end to end: examples/next-auth-pages-router is the common
 * credentials-provider rotation as its tutorial writes it (`pages/api/auth/[...nextauth].js`,
 * `SessionProvider refetchInterval` set by a `RefreshTokenHandler`, the `jwt` callback's axios call
 * to the backend's `auth/refreshToken`) plus the plugin's lines, in a Next 14.2 production build
 * against a loopback credentials backend, driven by real Chromium. What must show up is what the
 * app exports over OTLP: each refresh the client's poll drives, classed from the poll's request,
 * as many as the backend answered.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import {
  CHROME_USER_AGENT,
  latestCumulative,
  startCredentialsBackend,
  startOtlpReceiver,
  type CredentialsBackend,
  type CredentialsBackendCounts,
  type OtlpReceiver,
} from '../../testkit/index.js';
import { REPOSITORY_ROOT, freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { chromiumUnavailableReason, launchChromium } from '../../testkit/browser.js';
import { SYNTHETICS_USER_AGENT } from '../../scripts/demo/traffic.js';

const EXAMPLE = 'next-auth-pages-router';
// The rotation polls 30 minutes before expiry and refreshes in the last hour: a token that lives
// 30 minutes and 3 seconds makes the client poll every 3 seconds, and every poll refresh.
const POLL_SECONDS = 3;
// What a Datadog Synthetics browser test sends besides its user agent. (Its `sec-datadog` header is
// one Chromium refuses to set from outside, as any `Sec-` header.)
const DATADOG_BROWSER_TEST_HEADERS = { 'x-datadog-origin': 'synthetics-browser' };

const unavailable = chromiumUnavailableReason();
if (unavailable && process.env.CI === 'true') throw new Error(`CI=true but browser tests cannot run: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the ${EXAMPLE} browser tests on this machine: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)(`${EXAMPLE}: real Chromium against the built Next 14 Pages Router app`, () => {
  let backend: CredentialsBackend;
  let otlp: OtlpReceiver;
  let app: ExampleApp;
  let browser: Browser;
  let appUrl = '';

  beforeAll(async () => {
    await prepareExample(EXAMPLE);
    backend = await startCredentialsBackend({ accessTokenTtlMs: 30 * 60_000 + POLL_SECONDS * 1000 });
    otlp = await startOtlpReceiver();
    const port = await freePort();
    appUrl = `http://127.0.0.1:${port}`;
    app = await startExample(EXAMPLE, {
      port,
      env: { NEXTAUTH_URL: appUrl, YOUR_API_URL: backend.url, ...otlp.exporterEnv('next-auth-pages-router-e2e', { metricIntervalMs: 500 }) },
    });
    browser = await launchChromium();
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await otlp?.stop();
    await backend?.stop();
  });

  const refreshes = (filter: Record<string, string>) =>
    latestCumulative(otlp.metricPoints(), 'auth.token.refreshes', { 'auth.sdk': 'next-auth-v4', ...filter });
  const total = (name: string, filter: Record<string, string>) => latestCumulative(otlp.metricPoints(), name, { 'auth.sdk': 'next-auth-v4', ...filter });
  /** Waits until the receiver holds exactly `expected` (it never counts past what the backend answered). */
  const waitForExactly = async (filter: Record<string, string>, expected: number) => {
    await otlp.waitFor(() => refreshes(filter) >= expected, {
      timeoutMs: 20_000,
      description: `auth.token.refreshes ${JSON.stringify(filter)} >= ${expected}, backend ${JSON.stringify(backend.counts())}\n${app.output().slice(-3000)}`,
    });
    expect(refreshes(filter)).toBe(expected);
  };
  /**
   * What the backend answered since `before`. With a token this short the rotation's `jwt` callback
   * also refreshes at sign-in, in the same call that stores the login's tokens; the plugin counts
   * sign-ins as sign-ins, not refreshes, so `afterSignIn` is what the receiver must show.
   */
  const since = (before: CredentialsBackendCounts) => {
    const now = backend.counts();
    const refreshed = now.refreshed - before.refreshed;
    const signIns = now.logins - before.logins;
    return { signIns, refreshed, afterSignIn: refreshed - signIns, refused: now.failed + now.reused - before.failed - before.reused };
  };

  /** The tutorial's home page: its "Sign in" button posts the credentials; the page comes back signed in and its SessionProvider polls. */
  async function signIn(context: BrowserContext) {
    const page = await context.newPage();
    await page.goto(appUrl);
    const signedIn = page.waitForResponse(async (r) => {
      if (!r.url().endsWith('/api/auth/session')) return false;
      const session = (await r.json().catch(() => ({}))) as { accessToken?: string };
      return Boolean(session.accessToken);
    });
    await page.click('button:has-text("Sign in")');
    await signedIn;
    return page;
  }

  it("is the tutorial's route with the README's one-line wrapper and instrumentation.ts", () => {
    const file = (path: string) => readFileSync(join(REPOSITORY_ROOT, path), 'utf8');
    const route = file(`examples/${EXAMPLE}/pages/api/auth/[...nextauth].js`);
    expect(route).toContain('const Auth = withRequestTelemetry((req, res) => NextAuth(req, res, options))');
    expect(route).toContain('export const options = instrumentNextAuth({');
    expect(route).toContain("axios.post(YOUR_API_URL + 'auth/refreshToken'");
    expect(file(`examples/${EXAMPLE}/pages/api/bare-auth/[...nextauth].js`)).toContain('const Auth = (req, res) => NextAuth(req, res, options)');
    expect(file(`examples/${EXAMPLE}/instrumentation.ts`)).toBe(file('instrumentation.ts'));
  });

  it('the refetchInterval poll refreshes in the jwt callback, each refresh a browser success; a backend outage, browser failures', async () => {
    const context = await browser.newContext({ userAgent: CHROME_USER_AGENT });
    const before = backend.counts();
    const page = await signIn(context);
    expect(backend.counts().logins).toBe(before.logins + 1);
    await otlp.waitFor(() => backend.counts().refreshed >= before.refreshed + 4, {
      timeoutMs: 8 * POLL_SECONDS * 1000,
      description: 'the sign-in, the page load and two polls',
    });
    await otlp.waitFor(
      () => total('auth.handler.requests', { 'auth.handler.kind': 'callback', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }) >= 1,
      {
        timeoutMs: 20_000,
        description: 'the sign-in as a browser callback',
      },
    );

    backend.failRefreshes(true);
    await otlp.waitFor(() => backend.counts().failed >= 1, { timeoutMs: 4 * POLL_SECONDS * 1000, description: 'a poll after the outage began' });
    // Stop the poll, then let the last exchange finish.
    await page.goto('about:blank');
    await context.close();
    await sleep(1000);
    backend.failRefreshes(false);

    const browserSince = since(before);
    expect(browserSince.afterSignIn).toBeGreaterThanOrEqual(3);
    await waitForExactly({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }, browserSince.afterSignIn);
    await waitForExactly({ 'auth.outcome': 'failure', 'auth.error.code': 'RefreshAccessTokenError', 'auth.user_agent.class': 'browser' }, browserSince.refused);
    expect(refreshes({ 'auth.outcome': 'failure' })).toBe(browserSince.refused);
    expect(total('auth.session.reads', { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBeGreaterThanOrEqual(browserSince.afterSignIn);
    expect(refreshes({ 'auth.user_agent.class': 'unknown' })).toBe(0);
    expect(refreshes({ 'auth.user_agent.class': 'monitor' })).toBe(0);
    const span = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.attributes['auth.outcome'] === 'failure', { timeoutMs: 20_000 });
    expect(span.attributes).toMatchObject({ 'auth.sdk': 'next-auth-v4', 'auth.error.code': 'RefreshAccessTokenError', 'auth.user_agent.class': 'browser' });
  });

  it('a Datadog Synthetics browser test that signs in and reads /api/auth/session is a monitor', async () => {
    const context = await browser.newContext({ userAgent: SYNTHETICS_USER_AGENT, extraHTTPHeaders: DATADOG_BROWSER_TEST_HEADERS });
    const before = { backend: backend.counts(), browser: refreshes({ 'auth.user_agent.class': 'browser' }) };
    const page = await signIn(context);
    const response = await page.goto(`${appUrl}/api/auth/session`);
    const session = (await response!.json()) as { error?: string; accessTokenExpiry?: number };
    expect(session.error).toBeUndefined();
    expect(session.accessTokenExpiry).toBeGreaterThan(Date.now());
    await context.close();
    await sleep(1000);

    const monitorSince = since(before.backend);
    expect(monitorSince).toMatchObject({ signIns: 1, refused: 0 });
    expect(monitorSince.afterSignIn).toBeGreaterThanOrEqual(1);
    await waitForExactly({ 'auth.outcome': 'success', 'auth.user_agent.class': 'monitor' }, monitorSince.afterSignIn);
    expect(total('auth.handler.requests', { 'auth.handler.kind': 'callback', 'auth.user_agent.class': 'monitor' })).toBe(1);
    expect(total('auth.session.reads', { 'auth.outcome': 'found', 'auth.user_agent.class': 'monitor' })).toBeGreaterThanOrEqual(monitorSince.afterSignIn);
    expect(refreshes({ 'auth.user_agent.class': 'browser' })).toBe(before.browser);
  });

  it('negative control: the same NextAuth route without withRequestTelemetry records its refresh as unknown', async () => {
    const context = await browser.newContext({ userAgent: CHROME_USER_AGENT });
    const before = { backend: backend.counts(), browser: refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }) };
    const page = await signIn(context);
    // A navigation away from the app stops its poll; this read is the only one through the unwrapped route.
    const response = await page.goto(`${appUrl}/api/bare-auth/session`);
    const session = (await response!.json()) as { error?: string; accessToken?: string };
    expect(session.error).toBeUndefined();
    const cookies = await context.cookies();
    await context.close();
    await sleep(1000);

    const bareSince = since(before.backend);
    expect(bareSince).toMatchObject({ signIns: 1, refused: 0 });
    await waitForExactly({ 'auth.outcome': 'success', 'auth.user_agent.class': 'unknown' }, 1);
    await waitForExactly({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }, before.browser + bareSince.afterSignIn - 1);
    // Neither the backend's tokens nor the session cookie nor the email reached the receiver.
    const exported = JSON.stringify({ spans: otlp.spans(), metrics: otlp.metricPoints() });
    expect(session.accessToken).toBeTruthy();
    expect(exported).not.toContain(session.accessToken);
    for (const cookie of cookies) if (cookie.name.includes('session-token')) expect(exported).not.toContain(cookie.value.slice(0, 32));
    expect(exported).not.toContain('example@example.com');
  });
});
