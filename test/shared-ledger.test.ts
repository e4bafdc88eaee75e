/**
 * The refresh ledger shared through a real Redis (Debian's `redis-server` on a loopback port,
 * unstorage's Redis driver over ioredis), against the real loopback IdP: instances in separate
 * processes see each other's exchanges, two tabs refreshing one session are a race and not a lost
 * rotation (nextjs-auth0 v4, NextAuth v4), and an outage of Redis costs the app nothing.
 *
 * Without `redis-server` the suite fails in CI and is skipped on a laptop.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import type { AuthOptions } from 'next-auth';
import { NextResponse } from 'next/server';
import { createStorage, type Storage } from 'unstorage';
import redisDriver from 'unstorage/drivers/redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startIdp, type Idp } from '../testkit/index.js';
import { redisServerVersion, startRedis, type RedisServer } from '../testkit/redis.js';
import { instrumentAuth0 } from '../src/auth0.js';
import { configureAuthTelemetry, engine } from '../src/core/engine/engine.js';
import { DEFAULT_RACE_WINDOW_SECONDS, DEFAULT_READ_TIMEOUT_MS } from '../src/core/refresh/refresh-ledger.js';
import { traceTokenRefresh } from '../src/core/refresh/trace-token-refresh.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { loginForRefreshToken, tokenRequest, type TokenAnswer } from './support/idp-refresh-token.js';
import { readSession, signIn, sleep, startNextAuthApp, type NextAuthApp } from './support/next-auth-harness.js';
import { TestTelemetry } from './support/telemetry.js';
import { startV4App, type V4App } from './support/v4-app.js';
import { BrowserClient } from '../testkit/index.js';

const REDIS_VERSION = redisServerVersion();
if (REDIS_VERSION === undefined && process.env.CI) {
  throw new Error('redis-server not found; install Debian\'s "redis-server" package (.ci/run does) or set REDIS_SERVER. It is required in CI.');
}

const run = promisify(execFile);
const SALT = 'shared-ledger-test-salt-0123456789';
const PAST_RACE_WINDOW_MS = DEFAULT_RACE_WINDOW_SECONDS * 1000 + 100;
const KEY_PATTERN = /^nextjs-auth-otel:rt:(started|exchanged|claimed):[0-9a-f]{32}$/;

const telemetry = new TestTelemetry();
let redis: RedisServer;
let idp: Idp;
const storages: Storage[] = [];

/** A fresh unstorage Storage on the test's Redis, as each app instance would create one. */
function redisStorage(): Storage {
  const storage = createStorage({ driver: redisDriver({ url: redis.url }) });
  storages.push(storage);
  return storage;
}

/** Another instance of the app: a ledger with its own memory, on the shared store. */
function newInstance(storage: Storage, extra: { readTimeoutMs?: number } = {}): void {
  configureAuthTelemetry({ refreshTokenLedger: { store: storage, salt: SALT, ...extra } });
}

const reuses = (kind: 'race' | 'lost_rotation', filter: Record<string, unknown> = {}) =>
  telemetry.count(METRICS.refreshReuses.name, { 'auth.refresh.reuse': kind, ...filter });
const tokenReused = (filter: Record<string, unknown> = {}) =>
  telemetry.count(METRICS.refreshUnpersisted.name, { 'auth.refresh.unpersisted_reason': 'token_reused', ...filter });
const ledgerErrors = () => engine().recorder.counterTotal('instrumentationErrors', { stage: 'ledger' });

/** ioredis logs every failed reconnect unless its client has an `error` listener; an app would log them its own way. */
function quiet(storage: Storage): void {
  (storage.getMount('').driver.getInstance?.() as Redis).on('error', () => undefined);
}

/** Every Redis client waits `ms` for an answer (a slow or overloaded server). */
async function pauseRedis(ms: number): Promise<void> {
  const admin = new Redis(redis.url);
  try {
    await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  } finally {
    admin.disconnect();
  }
}

beforeAll(async () => {
  if (REDIS_VERSION === undefined) return;
  telemetry.install();
  redis = await startRedis();
  idp = await startIdp({ accessTokenTtl: 3600 });
});

afterAll(async () => {
  await Promise.all(storages.map((s) => s.dispose()));
  await idp?.stop();
  await redis?.close();
  configureAuthTelemetry({});
});

type Recorded = { error?: string; rotated: boolean; lost: number; race: number; unpersisted: number; ledgerErrors: number };

/** One refresh of `refreshToken` by a new app instance in its own process. */
async function instanceProcess(mode: 'redis' | 'memory', refreshToken: string): Promise<Recorded> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/ledger-instance-child.ts', mode], {
    env: {
      ...process.env,
      IDP_URL: idp.url,
      CLIENT_ID: idp.clientId,
      CLIENT_SECRET: idp.clientSecret,
      REFRESH_TOKEN: refreshToken,
      REDIS_URL: redis.url,
      LEDGER_SALT: SALT,
    },
    timeout: 60_000,
  });
  return JSON.parse(/^recorded (.*)$/m.exec(stdout)![1]!) as Recorded;
}

describe.skipIf(REDIS_VERSION === undefined)('a ledger shared through Redis', () => {
  it('a rotation lost on instance A and reused on instance B, two processes: detected with Redis, not with per-process ledgers', async () => {
    const detections: Record<string, number> = {};
    for (const mode of ['redis', 'memory'] as const) {
      const refreshToken = await loginForRefreshToken(idp);
      const a = await instanceProcess(mode, refreshToken);
      // A rotated the token; its new refresh token never reached the cookie.
      expect([a.error, a.rotated, a.lost, a.race]).toEqual([undefined, true, 0, 0]);
      // The user comes back later, through the load balancer, to instance B with the old cookie.
      await sleep(PAST_RACE_WINDOW_MS);
      const b = await instanceProcess(mode, refreshToken);
      expect(b.error).toBe('invalid_grant');
      expect(b.race).toBe(0);
      expect(b.ledgerErrors).toBe(0);
      detections[mode] = b.lost;
      expect(b.unpersisted).toBe(b.lost);
    }
    expect(detections).toEqual({ redis: 1, memory: 0 });

    // Redis holds salted fingerprints and timestamps only: no token, no claim.
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key).toMatch(KEY_PATTERN);
      for (const value of await client.mget(...keys))
        expect(Object.keys(JSON.parse(value!) as object).every((f) => ['id', 's', 'e', 'u'].includes(f))).toBe(true);
      expect(await client.ttl(keys.find((k) => k.includes(':exchanged:'))!)).toBeGreaterThan(6 * 24 * 3600);
    } finally {
      client.disconnect();
    }
  });

  describe('two tabs refreshing one session at once: a race, never a lost rotation', () => {
    let v4: V4App;
    beforeAll(async () => {
      if (REDIS_VERSION !== undefined) v4 = await startV4App();
    });
    afterAll(() => v4?.stop());

    it('nextjs-auth0 v4 (no de-duplication since 4.12.1): the second exchange fails while the first is in flight', async () => {
      newInstance(redisStorage());
      // The first refresh's answer is held after the IdP has rotated: it is still on its way when the second tab refreshes.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let first = true;
      const slowFirstAnswer: typeof fetch = async (input, init) => {
        const response = await v4.idp.fetch(input, init);
        if (String((init as { body?: unknown } | undefined)?.body).includes('grant_type=refresh_token') && first) {
          first = false;
          await held;
        }
        return response;
      };
      const auth0 = instrumentAuth0(v4.client({ customFetch: slowFirstAnswer }));
      const { cookie } = await v4.login('alice', { ttl: 1 });
      await sleep(1200);
      const grants = () => v4.idp.tokenRequests().filter((r) => r.grantType === 'refresh_token');
      const raced = { 'auth.sdk': 'nextjs-auth0-v4', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' };
      const before = { race: await reuses('race', raced), lost: await reuses('lost_rotation'), reused: await tokenReused(), grants: grants().length };
      telemetry.reset();

      const tabOne = auth0.getAccessToken(v4.request('/', { cookie }), NextResponse.next());
      await vi.waitFor(() => expect(grants().length).toBe(before.grants + 1));
      const tabTwo = (await auth0.getAccessToken(v4.request('/', { cookie }), NextResponse.next()).catch((e: unknown) => e)) as { code?: string };
      expect(tabTwo.code).toBe('failed_to_refresh_token');
      release();
      expect((await tabOne).token).toBeTypeOf('string');
      expect(
        grants()
          .slice(-2)
          .map((g) => g.outcome + (g.error ? `:${g.error}` : '')),
      ).toEqual(['success', 'failure:invalid_grant']);
      await engine().refreshLedger.flush();

      expect(await reuses('race', raced)).toBe(before.race + 1);
      expect(await reuses('lost_rotation')).toBe(before.lost);
      expect(await tokenReused()).toBe(before.reused);
      const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).find((s) => s.attributes['auth.outcome'] === 'failure');
      expect(failed?.attributes).toMatchObject({ 'auth.refresh.reuse': 'race', 'auth.error.code': 'invalid_grant' });
      expect(failed?.events.map((e) => e.name)).toEqual(['auth.refresh.reuses']);
    });
  });

  describe('NextAuth v4', () => {
    let app: NextAuthApp;
    beforeAll(async () => {
      if (REDIS_VERSION === undefined) return;
      Object.assign(process.env, {
        OIDC_ISSUER: idp.url,
        OIDC_CLIENT_ID: idp.clientId,
        OIDC_CLIENT_SECRET: idp.clientSecret,
        REFRESH_MARGIN_MS: '0',
        NEXTAUTH_SECRET: 'shared-ledger-nextauth-secret-0123456789abcdef',
        AUTH_TRUST_HOST: 'true',
      });
      const { authOptions } = (await import('../docs/snippets/next-auth-options.js')) as { authOptions: AuthOptions };
      const NextAuth = (await import('next-auth')).default as unknown as (
        options: AuthOptions,
      ) => (req: Request, ctx: { params: { nextauth: string[] } }) => Promise<Response>;
      const handler = NextAuth(authOptions);
      app = await startNextAuthApp(
        (req, path) => handler(req, { params: { nextauth: path } }),
        (url) => idp.registerRedirectUris(url).then(() => undefined),
      );
    });
    afterAll(() => app?.stop());

    it('the second tab refreshes with the old cookie just after the first, on another instance: a race through Redis', async () => {
      const storage = redisStorage();
      newInstance(storage);
      idp.setAccessTokenTtl(1);
      await idp.endSessions();
      const tabOne = await signIn(app.url);
      idp.setAccessTokenTtl(3600);
      await sleep(1100);
      // The second tab holds the same cookie.
      const tabTwo = new BrowserClient();
      for (const cookie of tabOne.jar.cookieHeader(app.url).split('; ')) tabTwo.jar.setCookie(`${cookie}; Path=/`, app.url);
      const raced = { 'auth.sdk': 'next-auth-v4', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' };
      const before = { race: await reuses('race', raced), lost: await reuses('lost_rotation'), reused: await tokenReused() };

      expect((await readSession(tabOne, app.url)).error).toBeUndefined();
      await engine().refreshLedger.flush();
      newInstance(storage); // tab two's request lands on another instance
      expect((await readSession(tabTwo, app.url)).error).toBe('RefreshAccessTokenError');
      await engine().refreshLedger.flush();

      expect(await reuses('race', raced)).toBe(before.race + 1);
      expect(await reuses('lost_rotation')).toBe(before.lost);
      expect(await tokenReused()).toBe(before.reused);
    });
  });

  it('Redis slow or stopped in the middle of a run: the app gets the same answers, failures are counted, detection resumes when it is back', async () => {
    const storage = redisStorage();
    quiet(storage);
    let lastAnswer: TokenAnswer | undefined;
    const refresh = traceTokenRefresh(async (token: { refreshToken: string }) => {
      lastAnswer = await tokenRequest(
        idp.url,
        { id: idp.clientId, secret: idp.clientSecret },
        { grant_type: 'refresh_token', refresh_token: token.refreshToken },
      );
      return lastAnswer;
    });
    const lostCount = () => reuses('lost_rotation', { 'auth.sdk': 'custom' });

    /** A lost rotation across two instances: A rotates, B (later) presents the old token. `between` runs just before B's refresh. */
    async function lostRotation(between?: () => Promise<void>) {
      const refreshToken = await loginForRefreshToken(idp);
      newInstance(storage);
      const answer = await refresh({ refreshToken });
      // Exactly what the refresh function returned, whatever the store did.
      expect(answer).toBe(lastAnswer);
      expect(answer.refresh_token).not.toBe(refreshToken);
      await sleep(PAST_RACE_WINDOW_MS);
      newInstance(storage);
      await between?.();
      const spansBefore = telemetry.finishedSpans(SPANS.tokenRefresh.name).length;
      // The very error the refresh function threw: the IdP's body.
      expect(await refresh({ refreshToken }).catch((e: unknown) => e)).toMatchObject({ error: 'invalid_grant', error_description: expect.any(String) });
      await vi.waitFor(() => expect(telemetry.finishedSpans(SPANS.tokenRefresh.name).length).toBe(spansBefore + 1), { timeout: 5_000 });
    }

    // Up: detected.
    let lost = await lostCount();
    await lostRotation();
    expect(await lostCount()).toBe(lost + 1);

    // Slow: every client paused for longer than the read timeout while the failed refresh is classified: fails open.
    lost = await lostCount();
    let errors = ledgerErrors();
    await lostRotation(() => pauseRedis(DEFAULT_READ_TIMEOUT_MS * 4));
    expect(await lostCount()).toBe(lost);
    expect(ledgerErrors()).toBeGreaterThan(errors);
    await sleep(DEFAULT_READ_TIMEOUT_MS * 4);

    // Down: the same answers, nothing detected, every failure counted.
    await redis.stop();
    lost = await lostCount();
    errors = ledgerErrors();
    await lostRotation();
    expect(await lostCount()).toBe(lost);
    expect(ledgerErrors()).toBeGreaterThan(errors);

    // Back: detection resumes once the client has reconnected.
    await redis.start();
    await vi.waitFor(async () => expect(await storage.setItem('nextjs-auth-otel:rt:probe', '1', { ttl: 5 })).toBeUndefined(), { timeout: 15_000 });
    lost = await lostCount();
    await lostRotation();
    expect(await lostCount()).toBe(lost + 1);
  });

  it('measured, not asserted: what a refresh costs the app with the store up, slow and down', async () => {
    const storage = redisStorage();
    quiet(storage);
    const refresh = traceTokenRefresh((token: { refreshToken: string }) =>
      tokenRequest(idp.url, { id: idp.clientId, secret: idp.clientSecret }, { grant_type: 'refresh_token', refresh_token: token.refreshToken }),
    );
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const rounds = 5;
    const measured: Record<string, { refreshMs: number; failedRefreshMs: number; failedRefreshTelemetryMs: number }> = {};

    async function measure(phase: string, storeState: () => Promise<void>) {
      let refreshToken = await loginForRefreshToken(idp);
      await storeState();
      const ok: number[] = [];
      const failed: number[] = [];
      const recorded: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const started = performance.now();
        refreshToken = (await refresh({ refreshToken })).refresh_token!;
        ok.push(performance.now() - started);
      }
      for (let i = 0; i < rounds; i++) {
        const spansBefore = telemetry.finishedSpans(SPANS.tokenRefresh.name).length;
        const started = performance.now();
        await refresh({ refreshToken: `rt-never-issued-${phase}-${i}` }).catch(() => undefined);
        failed.push(performance.now() - started);
        // A failed refresh reads the store to classify itself: its span ends once that read answers or times out.
        await vi.waitFor(() => expect(telemetry.finishedSpans(SPANS.tokenRefresh.name).length).toBe(spansBefore + 1), { timeout: 5_000, interval: 2 });
        recorded.push(performance.now() - started);
      }
      measured[phase] = { refreshMs: median(ok), failedRefreshMs: median(failed), failedRefreshTelemetryMs: median(recorded) };
    }

    // A first pass warms up the connections and the code paths; it is not reported.
    configureAuthTelemetry({ refreshTokenLedger: { salt: SALT } });
    await measure('warm-up', async () => undefined);
    await measure('in memory, no store', async () => undefined);
    newInstance(storage);
    await measure('up', async () => undefined);
    await measure('slow', () => pauseRedis(3_000));
    await sleep(3_000);
    await redis.stop();
    await measure('down', async () => undefined);
    await redis.start();
    const round = (_k: string, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v);
    delete measured['warm-up'];
    console.log(`shared ledger, median of ${rounds} (ms): ${JSON.stringify(measured, round)}`);
    expect(Object.keys(measured)).toEqual(['in memory, no store', 'up', 'slow', 'down']);
  });
});
