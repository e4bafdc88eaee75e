/**
 * The Edge-middleware example end to end: examples/auth0-v3-app-router (Next 14.2 production build,
 * nextjs-auth0 3.7, getAccessToken + touchSession in Edge middleware) instrumented through its
 * instrumentation.ts, a real IdP, real Chromium, and the OTLP that actually leaves the app.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { latestCumulative, type Idp, type OtlpReceiver, type ReceivedSpan } from '../../testkit/index.js';
import { REPOSITORY_ROOT, type ExampleApp } from '../../testkit/example-app.js';
import { chromiumUnavailableReason } from '../../testkit/browser.js';
import { startV3Example, type V3ExampleStack } from '../support/v3-example.js';
import { SYNTHETICS_USER_AGENT } from '../../scripts/demo/traffic.js';

const EXAMPLE = 'auth0-v3-app-router';
/** nextjs-auth0 v3 refreshes 60 s before expiry: a 66 s token needs a refresh 6 s after login. */
const TTL_REFRESH_SOON = 66;
const TTL_LONG = 3600;

const unavailable = chromiumUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI=true but browser tests cannot run: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the ${EXAMPLE} browser tests on this machine: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)(`${EXAMPLE}: real Chromium against the built app`, () => {
  let idp: Idp;
  let otlp: OtlpReceiver;
  let app: ExampleApp;
  let browser: Browser;
  let stack: V3ExampleStack | undefined;

  beforeAll(async () => {
    stack = await startV3Example(EXAMPLE, { accessTokenTtl: TTL_LONG, users: ['dave', 'carol'], serviceName: 'auth0-v3-e2e' });
    ({ idp, otlp, app, browser } = stack);
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function loggedInUser(username: string, ttl: number): Promise<{ context: BrowserContext; page: Page }> {
    idp.setAccessTokenTtl(ttl);
    return stack!.loggedInUser(username);
  }

  const edgeBrowser = (s: ReceivedSpan) => s.attributes['auth.runtime'] === 'edge' && s.attributes['auth.user_agent.class'] === 'browser';

  it('a user logs in through the IdP form, outlives the access token, and the Edge middleware refresh is reported as browser traffic', async () => {
    const { context, page } = await loggedInUser('alice', TTL_REFRESH_SOON);
    const firstAges = otlp.spans().filter((s) => s.name === 'auth.session.read' && typeof s.attributes['auth.session.age'] === 'number');
    await sleep(7000);
    await page.goto(`${app.url}/dashboard`);
    expect(await page.textContent('#sub-present')).toBe('session');

    const refresh = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && edgeBrowser(s), { timeoutMs: 20_000 });
    expect(refresh.attributes['auth.outcome']).toBe('success');
    expect(refresh.attributes['auth.sdk']).toBe('nextjs-auth0-v3');
    const parent = otlp.spans().find((s) => s.spanId === refresh.parentSpanId);
    expect(parent?.name).toBe('auth.token.get');
    expect(parent?.attributes['auth.outcome']).toBe('refreshed');

    await otlp.waitFor(
      () =>
        latestCumulative(otlp.metricPoints(), 'auth.token.refreshes', {
          'auth.outcome': 'success',
          'auth.user_agent.class': 'browser',
          'auth.runtime': 'edge',
        }) >= 1,
      { timeoutMs: 20_000, description: 'auth.token.refreshes{success, browser, edge}' },
    );

    // Session age comes from the cookie's own `iat`, so it keeps growing across the refresh.
    const ages = (spans: ReceivedSpan[]) => spans.map((s) => s.attributes['auth.session.age'] as number);
    expect(Math.min(...ages(firstAges))).toBeLessThanOrEqual(2);
    // The /dashboard render's read leaves the Node process in its own batch: wait for it.
    const later = await otlp.waitForSpan((s) => s.name === 'auth.session.read' && !firstAges.includes(s) && (s.attributes['auth.session.age'] as number) >= 7, {
      timeoutMs: 20_000,
      description: 'a session read at least 7 s into the session',
    });
    expect(later.attributes['auth.user_agent.class']).toBe('browser');
    await context.close();
  });

  it('a Datadog Synthetics browser test without a session is ERR_MISSING_SESSION from a monitor, not a user', async () => {
    const browserMissing = () =>
      latestCumulative(otlp.metricPoints(), 'auth.token.requests', { 'auth.error.code': 'ERR_MISSING_SESSION', 'auth.user_agent.class': 'browser' });
    const browserMissingBefore = browserMissing();
    const context = await browser.newContext({ userAgent: SYNTHETICS_USER_AGENT, extraHTTPHeaders: { 'x-datadog-origin': 'synthetics' } });
    const page = await context.newPage();
    const response = await page.goto(`${app.url}/`);
    expect(response?.status()).toBe(200);
    const span = await otlp.waitForSpan(
      (s) => s.name === 'auth.token.get' && s.attributes['auth.error.code'] === 'ERR_MISSING_SESSION' && s.attributes['auth.user_agent.class'] === 'monitor',
      { timeoutMs: 20_000 },
    );
    expect(span.attributes['auth.runtime']).toBe('edge');
    expect(span.attributes['user_agent.synthetic.type']).toBe('test');
    expect(String(span.attributes['auth.user_agent.rule'])).toMatch(/datadog/);
    await otlp.waitFor(
      () =>
        latestCumulative(otlp.metricPoints(), 'auth.token.requests', {
          'auth.outcome': 'error',
          'auth.error.code': 'ERR_MISSING_SESSION',
          'auth.user_agent.class': 'monitor',
        }) >= 1,
      { timeoutMs: 20_000, description: 'auth.token.requests{error, ERR_MISSING_SESSION, monitor}' },
    );
    // The real-user series stay clean.
    expect(browserMissing()).toBe(browserMissingBefore);
    await context.close();
  });

  it('prefetches: a <Link> prefetch reaches Edge middleware stripped of its signal and counts as browser; <link rel=prefetch> is classified prefetch', async () => {
    const { context, page } = await loggedInUser('bob', TTL_LONG);
    const since = BigInt(Date.now()) * 1_000_000n;
    const linkPrefetch = page.waitForRequest((r) => r.url().includes('/dashboard') && r.headers()['next-router-prefetch'] === '1', { timeout: 20_000 });
    const relPrefetch = page.waitForRequest((r) => r.url().includes('via=link-rel-prefetch'), { timeout: 20_000 });
    await page.goto(`${app.url}/`);
    expect((await linkPrefetch).headers()['rsc']).toBe('1');
    expect((await relPrefetch).headers()['sec-purpose']).toMatch(/^prefetch/);

    const authSpansUnder = (target: string) => {
      const runs = otlp.spans().filter((s) => s.name === `middleware GET ${target}` && BigInt(s.startTimeUnixNano) >= since);
      const traces = new Set(runs.map((s) => s.traceId));
      return otlp.spans().filter((s) => s.name === 'auth.token.get' && traces.has(s.traceId));
    };
    // Next removes `Next-Router-Prefetch` and `RSC` before middleware runs: the plugin sees a plain browser request.
    const linkRun = await otlp.waitFor(() => authSpansUnder('/dashboard')[0], { timeoutMs: 20_000, description: 'middleware run of the <Link> prefetch' });
    expect(linkRun.attributes['auth.user_agent.class']).toBe('browser');
    expect(linkRun.attributes['auth.user_agent.rule']).toBe('default');
    // The browser's own prefetch header survives, so that run is kept out of the real-user series.
    const relRun = await otlp.waitFor(() => authSpansUnder('/profile').find((s) => s.attributes['auth.user_agent.class'] === 'prefetch'), {
      timeoutMs: 20_000,
      description: 'middleware run of the <link rel=prefetch>',
    });
    expect(relRun.attributes['auth.user_agent.rule']).toBe('prefetch:sec-purpose');
    expect(relRun.attributes['auth.runtime']).toBe('edge');
    await context.close();
  });

  it('a refresh token revoked at the IdP fails the next Edge refresh with invalid_grant for a browser user', async () => {
    const { context, page } = await loggedInUser('carol', TTL_REFRESH_SOON);
    expect(await idp.revokeRefreshTokens('carol')).toBeGreaterThan(0);
    await sleep(7000);
    await page.goto(`${app.url}/profile`);
    const failed = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.attributes['auth.outcome'] === 'failure' && edgeBrowser(s), {
      timeoutMs: 20_000,
    });
    expect(failed.attributes['auth.error.code']).toBe('invalid_grant');
    await otlp.waitFor(
      () =>
        latestCumulative(otlp.metricPoints(), 'auth.token.refreshes', {
          'auth.outcome': 'failure',
          'auth.error.code': 'invalid_grant',
          'auth.user_agent.class': 'browser',
        }) >= 1,
      { timeoutMs: 20_000, description: 'auth.token.refreshes{failure, invalid_grant, browser}' },
    );
    await context.close();
  });

  it('a refresh forced in a Server Component cannot write the cookie: counted as unpersisted, and the next refresh fails', async () => {
    const { context, page } = await loggedInUser('dave', TTL_REFRESH_SOON);
    await page.goto(`${app.url}/token?refresh=1`);
    expect(await page.textContent('#token-state')).toBe('token');
    const renderGet = await otlp.waitForSpan(
      (s) => s.name === 'auth.token.get' && s.attributes['auth.runtime'] === 'nodejs' && s.attributes['auth.outcome'] === 'refreshed',
      { timeoutMs: 20_000 },
    );
    expect(renderGet.attributes['auth.user_agent.class']).toBe('browser');
    expect(renderGet.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
    await otlp.waitFor(
      () =>
        latestCumulative(otlp.metricPoints(), 'auth.refresh.unpersisted', {
          'auth.refresh.unpersisted_reason': 'read_only_context',
          'auth.user_agent.class': 'browser',
        }) >= 1,
      { timeoutMs: 20_000, description: 'auth.refresh.unpersisted{read_only_context, browser}' },
    );
    // The cookie still holds the refresh token the IdP already rotated away.
    await sleep(7000);
    await page.goto(`${app.url}/profile`);
    const failed = await otlp.waitForSpan(
      (s) =>
        s.name === 'auth.token.refresh' &&
        s.attributes['auth.outcome'] === 'failure' &&
        s.parentSpanId !== '' &&
        edgeBrowser(s) &&
        BigInt(s.startTimeUnixNano) > BigInt(renderGet.endTimeUnixNano),
      { timeoutMs: 20_000 },
    );
    expect(failed.attributes['auth.error.code']).toBe('invalid_grant');
    await context.close();
  });

  it('a server action uses the access token from the Node runtime', async () => {
    const { context, page } = await loggedInUser('alice', TTL_LONG);
    await page.goto(`${app.url}/dashboard`);
    await page.click('#call-api');
    await page.waitForFunction(() => document.querySelector('#api-result')?.textContent !== '');
    expect(await page.textContent('#api-result')).toMatch(/^api ok/);
    const actionGet = await otlp.waitForSpan(
      (s) =>
        s.name === 'auth.token.get' &&
        s.attributes['auth.runtime'] === 'nodejs' &&
        s.attributes['auth.outcome'] === 'cached' &&
        s.attributes['auth.user_agent.class'] === 'browser',
      { timeoutMs: 20_000 },
    );
    expect(actionGet.attributes['auth.session.age']).toBeTypeOf('number');
    await context.close();
  });

  it('the example runs the repository files it claims to: the top-level instrumentation.ts and the README middleware', () => {
    const dir = join(REPOSITORY_ROOT, 'examples', EXAMPLE);
    expect(readFileSync(join(dir, 'instrumentation.ts'), 'utf8')).toBe(readFileSync(join(REPOSITORY_ROOT, 'instrumentation.ts'), 'utf8'));
    expect(readFileSync(join(dir, 'middleware.ts'), 'utf8')).toBe(readFileSync(join(REPOSITORY_ROOT, 'docs/snippets/middleware.ts'), 'utf8'));
  });
});
