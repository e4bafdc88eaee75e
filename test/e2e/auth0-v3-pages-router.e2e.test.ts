/**
 * The Pages Router example end to end: examples/auth0-v3-pages-router (Next 14.2 production build,
 * nextjs-auth0 3.8, `handleAuth()`, `withApiAuthRequired` + `getAccessToken(req, res)`,
 * `withPageAuthRequired({ getServerSideProps })`), instrumented the README's way, a real IdP, real
 * Chromium, and the OTLP that actually leaves the app.
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

const EXAMPLE = 'auth0-v3-pages-router';
const SDK = 'nextjs-auth0-v3';
/** Below v3's 60 s refresh leeway: every `getAccessToken(req, res)` refreshes, no waiting needed. */
const TTL_ALWAYS_REFRESH = 30;
/** Longer than the ledger's default race window (2 s), so a replayed token reads as a lost rotation. */
const PAST_RACE_WINDOW_MS = 3000;

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
    stack = await startV3Example(EXAMPLE, { accessTokenTtl: TTL_ALWAYS_REFRESH, users: ['carol'], serviceName: 'auth0-v3-pages-e2e' });
    ({ idp, otlp, app, browser } = stack);
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const loggedInUser = (username: string): Promise<{ context: BrowserContext; page: Page }> => stack!.loggedInUser(username);

  /** Clicks the page's button (enabled once hydrated), which fetches /api/token, and returns what the page shows of the answer. */
  async function callApi(page: Page): Promise<string> {
    const calls = Number(await page.getAttribute('#api-result', 'data-calls'));
    await page.click('#call-api');
    await page.waitForFunction((before) => Number(document.querySelector('#api-result')?.getAttribute('data-calls')) > before, calls);
    return (await page.textContent('#api-result')) ?? '';
  }

  const refreshGrants = (outcome: 'success' | 'failure') => idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === outcome).length;
  const refreshes = (filter: Record<string, string>) => latestCumulative(otlp.metricPoints(), 'auth.token.refreshes', { 'auth.sdk': SDK, ...filter });
  const nodeBrowser = (s: ReceivedSpan) => s.attributes['auth.runtime'] === 'nodejs' && s.attributes['auth.user_agent.class'] === 'browser';

  it('a login through handleAuth and the IdP form, and the protected page reading its session, are browser traffic', async () => {
    const { context } = await loggedInUser('alice');
    const callback = await otlp.waitForSpan((s) => s.name === 'auth.handler' && s.attributes['auth.handler.kind'] === 'callback', { timeoutMs: 20_000 });
    expect(callback.attributes).toMatchObject({ 'auth.sdk': SDK, 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' });
    expect(callback.attributes['auth.outcome']).not.toBe('error');
    // The guard's own read and getServerSideProps' getSession(req, res) both find the fresh session.
    const read = await otlp.waitForSpan((s) => s.name === 'auth.session.read' && s.attributes['auth.outcome'] === 'found' && nodeBrowser(s), {
      timeoutMs: 20_000,
    });
    expect(read.attributes['auth.sdk']).toBe(SDK);
    expect(read.attributes['auth.session.age']).toBeTypeOf('number');
    await context.close();
  });

  it("the API route's getAccessToken(req, res) refreshes: a browser success each time, and the rotated cookie reaches the browser", async () => {
    const { context, page } = await loggedInUser('bob');
    const [grantsBefore, failedGrantsBefore] = [refreshGrants('success'), refreshGrants('failure')];
    const successesBefore = refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    expect(await callApi(page)).toBe('200 present');
    // Refresh tokens rotate: this second refresh only succeeds with the cookie the first one wrote.
    expect(await callApi(page)).toBe('200 present');
    expect(refreshGrants('success') - grantsBefore).toBe(2);
    expect(refreshGrants('failure')).toBe(failedGrantsBefore);

    const refresh = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && nodeBrowser(s), { timeoutMs: 20_000 });
    expect(refresh.attributes).toMatchObject({ 'auth.outcome': 'success', 'auth.sdk': SDK });
    // The parent ends after its child, so it may arrive in a later batch.
    const parent = await otlp.waitForSpan((s) => s.spanId === refresh.parentSpanId, { timeoutMs: 20_000 });
    expect(parent.name).toBe('auth.token.get');
    expect(parent.attributes['auth.outcome']).toBe('refreshed');
    // One recorded refresh per exchange the IdP saw, no more, no fewer.
    await otlp.waitFor(() => refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' }) - successesBefore >= 2, {
      timeoutMs: 20_000,
      description: 'auth.token.refreshes{success, browser, nodejs} +2',
    });
    expect(refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }) - successesBefore).toBe(2);
    expect(refreshes({ 'auth.outcome': 'failure' })).toBe(0);
    await context.close();
  });

  it('negative control: replaying the cookie from before a refresh (a dropped Set-Cookie) fails with invalid_grant and is reported as a lost rotation', async () => {
    const { context, page } = await loggedInUser('carol');
    const before = await context.cookies();
    expect(await callApi(page)).toBe('200 present');
    await sleep(PAST_RACE_WINDOW_MS);
    // What the browser would hold had the refresh's Set-Cookie been lost.
    await context.clearCookies();
    await context.addCookies(before);
    expect(await callApi(page)).toMatch(/^500 /);

    const failed = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.attributes['auth.outcome'] === 'failure' && nodeBrowser(s), {
      timeoutMs: 20_000,
    });
    expect(failed.attributes).toMatchObject({ 'auth.error.code': 'invalid_grant', 'auth.sdk': SDK, 'auth.refresh.reuse': 'lost_rotation' });
    await otlp.waitFor(
      () =>
        latestCumulative(otlp.metricPoints(), 'auth.refresh.unpersisted', {
          'auth.refresh.unpersisted_reason': 'token_reused',
          'auth.error.code': 'invalid_grant',
          'auth.user_agent.class': 'browser',
        }) >= 1,
      { timeoutMs: 20_000, description: 'auth.refresh.unpersisted{token_reused, invalid_grant, browser}' },
    );
    await context.close();
  });

  it('a Datadog Synthetics browser test without a session: a 401 from the API route and a login redirect from the page, both a missing session from a monitor', async () => {
    const since = BigInt(Date.now()) * 1_000_000n;
    const context = await browser.newContext({ userAgent: SYNTHETICS_USER_AGENT, extraHTTPHeaders: { 'x-datadog-origin': 'synthetics' } });
    const page = await context.newPage();
    const api = await page.goto(`${app.url}/api/token`);
    expect(api?.status()).toBe(401);
    expect(await api?.json()).toMatchObject({ error: 'not_authenticated' });
    await page.goto(`${app.url}/profile`);
    expect(page.url().startsWith(idp.url)).toBe(true);

    const missing = (s: ReceivedSpan) =>
      s.name === 'auth.session.read' && s.attributes['auth.outcome'] === 'missing' && s.attributes['auth.user_agent.class'] === 'monitor';
    const span = await otlp.waitForSpan(missing, { timeoutMs: 20_000 });
    expect(span.attributes).toMatchObject({ 'auth.sdk': SDK, 'auth.runtime': 'nodejs', 'user_agent.synthetic.type': 'test' });
    expect(String(span.attributes['auth.user_agent.rule'])).toMatch(/datadog/);
    await otlp.waitFor(
      () =>
        latestCumulative(otlp.metricPoints(), 'auth.session.reads', { 'auth.outcome': 'missing', 'auth.user_agent.class': 'monitor', 'auth.sdk': SDK }) >= 2,
      { timeoutMs: 20_000, description: 'auth.session.reads{missing, monitor} from the API route and the page' },
    );
    const login = await otlp.waitForSpan(
      (s) => s.name === 'auth.handler' && s.attributes['auth.handler.kind'] === 'login' && s.attributes['auth.user_agent.class'] === 'monitor',
      {
        timeoutMs: 20_000,
      },
    );
    expect(login.attributes['auth.outcome']).toBe('redirect');
    // The guard answered before the route ran: no token request is invented.
    expect(latestCumulative(otlp.metricPoints(), 'auth.token.requests', { 'auth.user_agent.class': 'monitor' })).toBe(0);
    // Nothing the probe caused lands in the real-user series.
    const probeSpans = otlp.spans().filter((s) => s.name.startsWith('auth.') && BigInt(s.startTimeUnixNano) >= since);
    expect(probeSpans.filter(missing)).toHaveLength(2);
    expect(new Set(probeSpans.map((s) => s.attributes['auth.user_agent.class']))).toEqual(new Set(['monitor']));
    await context.close();
  });

  it("Chromium with its own headless user agent is a bot, not a user: the class comes from each request's headers", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    expect(await page.evaluate(() => navigator.userAgent)).toMatch(/HeadlessChrome/);
    expect((await page.goto(`${app.url}/api/token`))?.status()).toBe(401);
    const span = await otlp.waitForSpan(
      (s) => s.name === 'auth.session.read' && s.attributes['auth.outcome'] === 'missing' && s.attributes['auth.user_agent.class'] === 'bot',
      { timeoutMs: 20_000 },
    );
    expect(span.attributes['auth.sdk']).toBe(SDK);
    await context.close();
  });

  it('the example runs the files the README shows: the top-level instrumentation.ts and the Pages Router snippets', () => {
    const dir = join(REPOSITORY_ROOT, 'examples', EXAMPLE);
    const read = (path: string) => readFileSync(path, 'utf8');
    expect(read(join(dir, 'instrumentation.ts'))).toBe(read(join(REPOSITORY_ROOT, 'instrumentation.ts')));
    expect(read(join(dir, 'lib/auth0.js'))).toBe(read(join(REPOSITORY_ROOT, 'docs/snippets/lib/auth0-v3.js')));
    expect(read(join(dir, 'pages/api/token.js'))).toBe(read(join(REPOSITORY_ROOT, 'docs/snippets/pages/api/token.js')));
  });
});
