// @vitest-environment edge-runtime
/**
 * The shared refresh ledger from the Edge runtime, which has no TCP: nextjs-auth0 v4 middleware
 * reaches the ledger through `fetch`, with unstorage's `http` driver in front of an unstorage
 * storage server (`createStorageServer`, an h3 listener on loopback) that keeps the records in a
 * real Redis. A lost rotation between two Edge instances is detected through it.
 *
 * Without `redis-server` the suite fails in CI and is skipped on a laptop.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context } from '@opentelemetry/api';
import Redis from 'ioredis';
import { NextResponse } from 'next/server';
import { createStorage } from 'unstorage';
import httpDriver from 'unstorage/drivers/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth0Client } from '@auth0/nextjs-auth0-v4/server';
import { redisServerVersion, startRedis, type RedisServer } from '../testkit/redis.js';
import { startRedisStorageServer, type StorageServer } from '../testkit/storage-server.js';
import { instrumentAuth0 } from '../src/auth0.js';
import { configureAuthTelemetry, engine } from '../src/core/engine/engine.js';
import { DEFAULT_RACE_WINDOW_SECONDS } from '../src/core/refresh/refresh-ledger.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { edgeContextManager } from '../src/register/edge-context.js';
import { TestTelemetry } from './support/telemetry.js';
import { startV4App, type V4App } from './support/v4-app.js';

const REDIS_VERSION = redisServerVersion();
if (REDIS_VERSION === undefined && process.env.CI) {
  throw new Error('redis-server not found; install Debian\'s "redis-server" package (.ci/run does) or set REDIS_SERVER. It is required in CI.');
}

const SALT = 'edge-ledger-test-salt-0123456789';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const telemetry = new TestTelemetry();
let redis: RedisServer;
let storageServer: StorageServer;
let app: V4App;
let auth0: Auth0Client;

beforeAll(async () => {
  if (REDIS_VERSION === undefined) return;
  (globalThis as { AsyncLocalStorage?: unknown }).AsyncLocalStorage ??= AsyncLocalStorage;
  telemetry.install({ contextManager: false });
  context.setGlobalContextManager(edgeContextManager()!);
  redis = await startRedis();
  // The Node side: a storage server holding the Redis connection, as a small service next to the app would.
  storageServer = await startRedisStorageServer(redis.url);
  app = await startV4App();
  auth0 = instrumentAuth0(app.client());
});

afterAll(async () => {
  await app?.stop();
  await storageServer?.close();
  await redis?.close();
  configureAuthTelemetry({});
});

/** An Edge instance of the app: its own ledger memory, the ledger reached over HTTP. */
function edgeInstance(): void {
  configureAuthTelemetry({ refreshTokenLedger: { store: createStorage({ driver: httpDriver({ base: storageServer.url }) }), salt: SALT } });
}

describe.skipIf(REDIS_VERSION === undefined)('the shared ledger from the Edge runtime, through fetch', () => {
  it('runs with the Edge runtime globals', () => {
    expect(typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('string');
  });

  it('a rotation lost in one Edge instance and reused in another is detected through the HTTP storage server and Redis', async () => {
    const { cookie } = await app.login('alice', { ttl: 1 });
    await sleep(1200);
    const lost = () =>
      telemetry.count(METRICS.refreshReuses.name, {
        'auth.refresh.reuse': 'lost_rotation',
        'auth.sdk': 'nextjs-auth0-v4',
        'auth.runtime': 'edge',
        'auth.error.code': 'invalid_grant',
      });
    const before = await lost();

    edgeInstance();
    // The middleware's response carrying the new cookie never reaches the browser.
    expect((await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next())).token).toBeTypeOf('string');
    await engine().refreshLedger.flush();
    await sleep(DEFAULT_RACE_WINDOW_SECONDS * 1000 + 100);

    edgeInstance();
    const thrown = (await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next()).catch((e: unknown) => e)) as { code?: string };
    expect(thrown.code).toBe('failed_to_refresh_token');
    await engine().refreshLedger.flush();
    expect(await lost()).toBe(before + 1);
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(failed.attributes).toMatchObject({ 'auth.refresh.reuse': 'lost_rotation', 'auth.runtime': 'edge' });

    // What reached Redis through the storage server: salted fingerprints and timestamps only.
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.some((k) => k.startsWith('nextjs-auth-otel:rt:exchanged:'))).toBe(true);
      for (const key of keys) expect(key).toMatch(/^nextjs-auth-otel:rt:(started|exchanged|claimed):[0-9a-f]{32}$/);
      expect((await client.mget(...keys)).join()).not.toMatch(/alice|eyJ/);
    } finally {
      client.disconnect();
    }
  });
});
