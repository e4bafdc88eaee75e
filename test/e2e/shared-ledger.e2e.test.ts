/**
 * Three `next start` instances of examples/next-auth-rotation (Next 15, NextAuth v4 with the common
 * rotation) behind a round-robin balancer with no session affinity, sharing the lost-rotation
 * ledger through a real Redis: the app's instrumentation.ts is the README's
 * docs/snippets/shared-ledger-instrumentation.ts. Chromium signs in through the balancer; a Server
 * Component refresh on one instance cannot store its rotated refresh token, and a later render on
 * another instance presents the old one. That instance reports the lost rotation over OTLP, which
 * it can only know from Redis.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { latestCumulative, startIdp, startOtlpReceiver, type Idp, type OtlpReceiver } from '../../testkit/index.js';
import { REPOSITORY_ROOT, freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { chromiumUnavailableReason, launchChromium, loginThroughIdpForm } from '../../testkit/browser.js';
import { redisServerVersion, startRedis, type RedisServer } from '../../testkit/redis.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../testkit/round-robin-proxy.js';
import { DEFAULT_RACE_WINDOW_SECONDS } from '../../src/core/refresh/refresh-ledger.js';

const EXAMPLE = 'next-auth-rotation';
const INSTANCES = 3;
const POD = 'k8s.pod.name';
// Headless Chromium announces itself as HeadlessChrome, which is a bot; these stand for real users.
const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const unavailable = chromiumUnavailableReason() ?? (redisServerVersion() === undefined ? 'redis-server not found' : undefined);
if (unavailable && process.env.CI === 'true') throw new Error(`CI=true but the shared-ledger end-to-end test cannot run: ${unavailable}`);
if (unavailable) console.warn(`SKIPPING the shared-ledger end-to-end test on this machine: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)(`${EXAMPLE}: three instances behind a round-robin balancer, one ledger in Redis`, () => {
  let redis: RedisServer;
  let idp: Idp;
  let otlp: OtlpReceiver;
  const apps: ExampleApp[] = [];
  let balancer: RoundRobinProxy;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let appUrl = '';
  const ports: number[] = [];

  beforeAll(async () => {
    await prepareExample(EXAMPLE);
    redis = await startRedis();
    idp = await startIdp({ accessTokenTtl: 3600 });
    otlp = await startOtlpReceiver();
    const balancerPort = await freePort();
    // The browser uses localhost throughout (Next reports 127.0.0.1 as localhost), so cookies stay on one host.
    appUrl = `http://localhost:${balancerPort}`;
    await idp.registerRedirectUris(appUrl);
    for (let i = 0; i < INSTANCES; i++) {
      const port = await freePort();
      ports.push(port);
      apps.push(
        await startExample(EXAMPLE, {
          port,
          env: {
            NEXTAUTH_URL: appUrl,
            NEXTAUTH_SECRET: 'e2e-next-auth-secret-of-at-least-32-characters',
            OIDC_ISSUER: idp.url,
            OIDC_CLIENT_ID: idp.clientId,
            OIDC_CLIENT_SECRET: idp.clientSecret,
            REFRESH_MARGIN_MS: '0',
            AUTH_LEDGER_REDIS_URL: redis.url,
            AUTH_TELEMETRY_LEDGER_SALT: 'e2e-ledger-salt-shared-by-every-instance',
            ...otlp.exporterEnv('shared-ledger-e2e', { metricIntervalMs: 500 }),
            OTEL_RESOURCE_ATTRIBUTES: `${POD}=app-${i}`,
          },
        }),
      );
    }
    balancer = await startRoundRobinProxy(
      apps.map((a) => a.url),
      { port: balancerPort },
    );
    browser = await launchChromium();
    context = await browser.newContext({ userAgent: CHROME_UA });
    page = await context.newPage();
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await balancer?.stop();
    await Promise.all(apps.map((a) => a.stop()));
    await otlp?.stop();
    await idp?.stop();
    await redis?.close();
  });

  const output = () => apps.map((a, i) => `--- app-${i}\n${a.output().slice(-1500)}`).join('\n');
  const total = (name: string, filter: Record<string, string>, pod?: string) =>
    latestCumulative(
      otlp.metricPoints().filter((p) => pod === undefined || p.resource[POD] === pod),
      name,
      { 'auth.sdk': 'next-auth-v4', ...filter },
    );

  it('runs the README snippet as its instrumentation.ts', () => {
    expect(readFileSync(join(REPOSITORY_ROOT, 'examples', EXAMPLE, 'instrumentation.ts'), 'utf8')).toBe(
      readFileSync(join(REPOSITORY_ROOT, 'docs/snippets/shared-ledger-instrumentation.ts'), 'utf8'),
    );
  });

  it('a Server Component refresh on one instance, the reuse on another: a lost rotation, reported by the second', async () => {
    // Access tokens live 2 s, so a render after a pause refreshes.
    idp.setAccessTokenTtl(2);
    await page.goto(`${appUrl}/rsc`);
    await page.click('form[action$="/api/auth/signin/oidc"] button');
    await loginThroughIdpForm(page, { username: 'alice', password: 'alice-password', returnTo: `${appUrl}/rsc` });
    expect(await page.textContent('#user')).toBe('Alice Example');
    expect(balancer.counts().every((n) => n > 0)).toBe(true);

    await sleep(2100);
    idp.setAccessTokenTtl(3600);
    // First render, on whichever instance the balancer picks: refreshes, and cannot store the rotated token.
    await page.goto(`${appUrl}/rsc`);
    expect(await page.textContent('#error')).toBe('none');
    const refresh = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.attributes['auth.outcome'] === 'success', { timeoutMs: 20_000 });
    const refreshedOn = String(refresh.resource[POD]);
    const other = [...Array(INSTANCES).keys()].find((i) => `app-${i}` !== refreshedOn)!;

    // Later, another instance renders with the same cookie: the IdP sees the rotated-away token again.
    await sleep(DEFAULT_RACE_WINDOW_SECONDS * 1000 + 100);
    const invalidGrants = idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length;
    await page.goto(`http://localhost:${ports[other]!}/rsc`);
    expect(await page.textContent('#error')).toBe('RefreshAccessTokenError');
    expect(idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length).toBe(invalidGrants + 1);

    const lost = { 'auth.refresh.reuse': 'lost_rotation', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' };
    const seen = () =>
      JSON.stringify({
        refreshedOn,
        refreshes: otlp
          .spans()
          .filter((sp) => sp.name === 'auth.token.refresh')
          .map((sp) => [sp.resource[POD], sp.attributes]),
        reuses: otlp
          .metricPoints()
          .filter((p) => p.name === 'auth.refresh.reuses')
          .map((p) => [p.resource[POD], p.attributes, p.value]),
      });
    await otlp.waitFor(() => total('auth.refresh.reuses', lost, `app-${other}`) >= 1, {
      timeoutMs: 20_000,
      description: `auth.refresh.reuses{lost_rotation} from app-${other}\n${seen()}\n${output()}`,
    });
    expect(total('auth.refresh.unpersisted', { 'auth.refresh.unpersisted_reason': 'token_reused' }, `app-${other}`)).toBe(1);
    expect(total('auth.refresh.reuses', { 'auth.refresh.reuse': 'race' })).toBe(0);
    expect(latestCumulative(otlp.metricPoints(), 'auth.instrumentation.errors', {})).toBe(0);
    const failed = await otlp.waitForSpan((s) => s.name === 'auth.token.refresh' && s.attributes['auth.refresh.reuse'] === 'lost_rotation', {
      timeoutMs: 20_000,
    });
    expect(failed.resource[POD]).toBe(`app-${other}`);

    // What Redis holds: salted fingerprints and timestamps, nothing from the session.
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.some((k) => k.startsWith('nextjs-auth-otel:rt:exchanged:'))).toBe(true);
      for (const key of keys) expect(key).toMatch(/^nextjs-auth-otel:rt:(started|exchanged|claimed):[0-9a-f]{32}$/);
    } finally {
      client.disconnect();
    }
  });
});
