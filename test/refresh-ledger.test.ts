/**
 * The ledger of refresh-token exchanges: bounded, salted, never exported; races told apart from lost rotations. Driven through
 * the public surface (configureAuthTelemetry, traceTokenRefresh) with real OpenTelemetry pipelines.
 */
import { NextRequest, NextResponse } from 'next/server';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { instrumentAuth0 } from '../src/auth0.js';
import { v3Config } from './support/v3-login-app.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { AuthTelemetryConfigError } from '../src/core/engine/config.js';
import { configureAuthTelemetry, engine } from '../src/core/engine/engine.js';
import { RefreshTokenFingerprinter } from '../src/core/refresh/refresh-ledger.js';
import { InMemoryLedgerStore } from '../src/core/refresh/memory-ledger-store.js';
import type { KeyValueLedgerStore } from '../src/core/refresh/ledger-store.js';
import { classifyReuse } from '../src/core/refresh/reuse.js';
import { createStorage } from 'unstorage';
import { traceTokenRefresh } from '../src/core/refresh/trace-token-refresh.js';
import { TestTelemetry, spanText } from './support/telemetry.js';

const telemetry = new TestTelemetry();
beforeAll(() => {
  telemetry.install();
});

/** A refresh that succeeds unless told the token is dead, like an IdP with rotation. */
const exchange = traceTokenRefresh(async (token: { refreshToken: string; dead?: boolean }) => {
  if (token.dead) throw { error: 'invalid_grant', error_description: 'grant request is invalid' };
  return { accessToken: `at-${token.refreshToken}`, refreshToken: `${token.refreshToken}-next` };
});

async function refresh(refreshToken: string, dead = false): Promise<void> {
  await exchange({ refreshToken, dead }).catch(() => undefined);
}

const reused = () =>
  telemetry.count(METRICS.refreshUnpersisted.name, { 'auth.refresh.unpersisted_reason': 'token_reused', 'auth.error.code': 'invalid_grant' });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const reuses = (kind: 'race' | 'lost_rotation') =>
  telemetry.count(METRICS.refreshReuses.name, { 'auth.refresh.reuse': kind, 'auth.error.code': 'invalid_grant' });
const ledgerErrors = () => engine().recorder.counterTotal('instrumentationErrors', { stage: 'ledger' });
const SALT = 'ledger-test-salt-0123456789';
/** A window of 1 ms: a reuse a few milliseconds after the rotation is then a lost rotation, as it would be seconds later. */
const NO_RACE_WINDOW = 0.001;

/** A shared store over one Map, as two instances of one deployment see it through Redis. */
class MapStore implements KeyValueLedgerStore {
  readonly data = new Map<string, string>();
  readonly keys: string[] = [];
  get(key: string): Promise<string | undefined> {
    this.keys.push(key);
    return Promise.resolve(this.data.get(key));
  }
  set(key: string, value: string): Promise<void> {
    this.keys.push(key);
    this.data.set(key, value);
    return Promise.resolve();
  }
}

describe('InMemoryLedgerStore', () => {
  it('forgets the oldest keys first once full; rewriting a key makes it the newest', () => {
    const store = new InMemoryLedgerStore(3);
    for (const key of ['a', 'b', 'c']) store.set(key, key, 60);
    store.set('a', 'a', 60);
    store.set('d', 'd', 60);
    expect(store.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((key) => store.get(key) !== undefined)).toEqual([true, false, true, true]);
  });

  it('stays at its capacity under a stream of refreshes, and expires entries after their TTL', () => {
    let now = 1_000_000;
    const store = new InMemoryLedgerStore(100, () => now);
    for (let i = 0; i < 10_000; i++) store.set(String(i), 'x', 10);
    expect(store.size).toBe(100);
    expect(store.get('9999')).toBe('x');
    now += 10_001;
    expect(store.get('9999')).toBeUndefined();
  });

  it('claims a key once per TTL', () => {
    let now = 0;
    const store = new InMemoryLedgerStore(10, () => now);
    expect([store.claim('k', 5), store.claim('k', 5)]).toEqual([true, false]);
    now += 5_001;
    expect(store.claim('k', 5)).toBe(true);
  });
});

describe('RefreshTokenFingerprinter', () => {
  it('is salted: the same token gives different fingerprints under different salts, never the token itself', () => {
    const token = 'rt-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
    const one = new RefreshTokenFingerprinter('salt-number-one-0123456789');
    const two = new RefreshTokenFingerprinter('salt-number-two-0123456789');
    expect(one.fingerprint(token)).toBe(one.fingerprint(token));
    expect(one.fingerprint(token)).not.toBe(two.fingerprint(token));
    expect(one.fingerprint(token)).toMatch(/^[0-9a-f]{32}$/);
    // HMAC-SHA-256 keyed by the salt, truncated to 128 bits: instances sharing a store must agree.
    expect(one.fingerprint(token)).toBe('f649d15d56dcd4221eef4306ed260790');
    expect(one.fingerprint(token)).not.toContain(token.slice(3, 12));
    // Two instances with the default random salt do not agree either.
    expect(new RefreshTokenFingerprinter().fingerprint(token)).not.toBe(new RefreshTokenFingerprinter().fingerprint(token));
  });
});

describe('classifyReuse', () => {
  const own = { id: 'b', startedAt: 10_000 };
  const window = 2_000;
  it('an earlier exchange still in flight, or ended within the window, is a race', () => {
    expect(classifyReuse(own, { local: [{ id: 'a', startedAt: 9_000 }] }, window)).toBe('race');
    expect(classifyReuse(own, { started: { id: 'a', startedAt: 9_500 }, local: [] }, window)).toBe('race');
    expect(classifyReuse(own, { exchanged: { startedAt: 7_000, endedAt: 8_000 }, local: [] }, window)).toBe('race');
    // Started before the other ended: overlapping.
    expect(classifyReuse(own, { exchanged: { startedAt: 9_000, endedAt: 10_500 }, local: [] }, window)).toBe('race');
  });

  it('one that ended longer ago, or whose tokens are known lost, is a lost rotation', () => {
    expect(classifyReuse(own, { exchanged: { startedAt: 7_000, endedAt: 7_999 }, local: [] }, window)).toBe('lost_rotation');
    expect(classifyReuse(own, { exchanged: { startedAt: 9_000, endedAt: 9_500, unpersisted: true }, local: [] }, window)).toBe('lost_rotation');
    expect(classifyReuse(own, { local: [{ id: 'a', startedAt: 1_000, endedAt: 2_000, ok: true }] }, window)).toBe('lost_rotation');
  });

  it('no earlier exchange: its own marker, a later starter, an earlier failure or an ended marker are not reuses', () => {
    expect(classifyReuse(own, { local: [] }, window)).toBeUndefined();
    expect(classifyReuse(own, { started: { id: 'b', startedAt: 10_000 }, local: [{ ...own }] }, window)).toBeUndefined();
    expect(classifyReuse(own, { started: { id: 'c', startedAt: 10_001 }, local: [] }, window)).toBeUndefined();
    expect(classifyReuse(own, { local: [{ id: 'a', startedAt: 9_000, endedAt: 9_100, ok: false }] }, window)).toBeUndefined();
    expect(classifyReuse(own, { started: { id: 'a', startedAt: 9_000, endedAt: 9_100 }, local: [] }, window)).toBeUndefined();
  });
});

describe('race or lost rotation, through the engine', () => {
  it('counts a failed refresh that presents a token exchanged before the window as lost, and only that', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { capacity: 2, salt: SALT, raceWindowSeconds: NO_RACE_WINDOW } });
    const before = { reused: await reused(), lost: await reuses('lost_rotation'), race: await reuses('race') };
    await refresh('first'); // exchanged: now in the ledger
    await refresh('never-exchanged', true); // a failure, but not a reuse
    expect(await reused()).toBe(before.reused);
    await sleep(5);
    await refresh('first', true); // the same token again: a lost rotation
    expect(await reused()).toBe(before.reused + 1);
    expect(await reuses('lost_rotation')).toBe(before.lost + 1);
    expect(await reuses('race')).toBe(before.race);
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(failed.attributes['auth.refresh.reuse']).toBe('lost_rotation');
    expect(failed.events.map((e) => e.name)).toEqual(['auth.refresh.reuses', 'auth.refresh.unpersisted']);
    expect(failed.events[1]!.attributes).toEqual({ 'auth.refresh.unpersisted_reason': 'token_reused' });
  });

  it('a reuse right after the rotation (default window) is a race, never an unpersisted refresh', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { salt: SALT } });
    const before = { reused: await reused(), race: await reuses('race'), lost: await reuses('lost_rotation') };
    await refresh('tab-one');
    await refresh('tab-one', true); // the second tab, holding the cookie from before
    expect(await reuses('race')).toBe(before.race + 1);
    expect(await reuses('lost_rotation')).toBe(before.lost);
    expect(await reused()).toBe(before.reused);
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(failed.attributes['auth.refresh.reuse']).toBe('race');
    expect(failed.attributes['auth.error.code']).toBe('invalid_grant');
    expect(failed.events.map((e) => e.name)).toEqual(['auth.refresh.reuses']);
  });

  it('two refreshes of one token in flight at once: the failing one is a race', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { salt: SALT, raceWindowSeconds: NO_RACE_WINDOW } });
    const before = { race: await reuses('race'), reused: await reused() };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = traceTokenRefresh(async (token: { refreshToken: string }) => {
      await held;
      return { accessToken: 'at', refreshToken: `${token.refreshToken}-next` };
    });
    const first = slow({ refreshToken: 'in-flight' });
    await refresh('in-flight', true); // answered invalid_grant while the first is still out
    release();
    await first;
    expect(await reuses('race')).toBe(before.race + 1);
    expect(await reused()).toBe(before.reused);
  });

  it('a refresh known unpersisted makes its reuse a lost rotation even inside the window', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { salt: SALT } });
    const ledger = engine().refreshLedger;
    const exchange = ledger.begin('rt-lost-in-a-server-component', Date.now());
    ledger.succeeded(exchange, Date.now());
    ledger.unpersisted(exchange);
    const again = ledger.begin('rt-lost-in-a-server-component', Date.now());
    expect(ledger.failed(again, Date.now())).toBe('lost_rotation');
  });

  it('forgets beyond its capacity: the per-instance limit', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { capacity: 2, salt: SALT, raceWindowSeconds: NO_RACE_WINDOW } });
    const before = await reused();
    await refresh('old');
    await refresh('newer');
    await refresh('newest'); // evicts `old`
    await sleep(5);
    await refresh('old', true);
    expect(await reused()).toBe(before);
    await refresh('newest', true);
    expect(await reused()).toBe(before + 1);
  });
});

describe('a shared store', () => {
  it('sees only salted fingerprints and timestamps, and lets another instance recognise the exchange', async () => {
    const store = new MapStore();
    configureAuthTelemetry({ refreshTokenLedger: { store, salt: SALT, raceWindowSeconds: NO_RACE_WINDOW } });
    await refresh('rt-seen-by-another-instance');
    await engine().refreshLedger.flush();
    // Another instance: same salt and store, its own (empty) memory.
    configureAuthTelemetry({ refreshTokenLedger: { store, salt: SALT, raceWindowSeconds: NO_RACE_WINDOW } });
    const before = await reused();
    await sleep(5);
    await refresh('rt-seen-by-another-instance', true);
    await vi.waitFor(async () => expect(await reused()).toBe(before + 1));
    expect(store.keys.length).toBeGreaterThan(0);
    for (const key of store.keys) expect(key).toMatch(/^nextjs-auth-otel:rt:(started|exchanged|claimed):[0-9a-f]{32}$/);
    for (const value of store.data.values()) {
      expect(value).not.toContain('seen-by');
      expect(Object.keys(JSON.parse(value) as object).every((field) => ['id', 's', 'e', 'u'].includes(field))).toBe(true);
    }
  });

  it('a store that never answers: the app gets its result at once, the failure is classified open after the read timeout and counted', async () => {
    const never = new Promise<never>(() => undefined);
    const hanging: KeyValueLedgerStore = { get: () => never, set: () => never };
    configureAuthTelemetry({ refreshTokenLedger: { store: hanging, salt: SALT, readTimeoutMs: 50 } });
    const errorsBefore = ledgerErrors();
    const spansBefore = telemetry.finishedSpans(SPANS.tokenRefresh.name).length;
    const failure = exchange({ refreshToken: 'rt-hanging', dead: true }).catch((e: unknown) => e);
    // The caller's promise settles with the very error thrown, while the store has not answered.
    expect(await failure).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    expect(telemetry.finishedSpans(SPANS.tokenRefresh.name).length).toBe(spansBefore);
    // The span ends once the read gives up: bounded by the configured timeout, not by the store.
    await vi.waitFor(() => expect(telemetry.finishedSpans(SPANS.tokenRefresh.name).length).toBe(spansBefore + 1), { timeout: 50 + 1000 });
    const span = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(span.attributes['auth.refresh.reuse']).toBeUndefined();
    expect(span.attributes['auth.error.code']).toBe('invalid_grant');
    expect(ledgerErrors()).toBeGreaterThan(errorsBefore);
  });

  it('a store that throws and rejects: refreshes return what they returned, each failure is counted under `ledger`', async () => {
    const broken: KeyValueLedgerStore = {
      get: () => Promise.reject(new Error('ECONNREFUSED')),
      set: () => {
        throw new Error('ECONNREFUSED');
      },
    };
    configureAuthTelemetry({ refreshTokenLedger: { store: broken, salt: SALT } });
    const before = ledgerErrors();
    expect(await exchange({ refreshToken: 'rt-broken' })).toEqual({ accessToken: 'at-rt-broken', refreshToken: 'rt-broken-next' });
    await refresh('rt-broken', true);
    await vi.waitFor(() => expect(ledgerErrors() - before).toBeGreaterThanOrEqual(3));
  });

  it('claim: true the first time a key is claimed within its TTL; the store sees a salted fingerprint of the key', async () => {
    const store = new MapStore();
    configureAuthTelemetry({ refreshTokenLedger: { store, salt: SALT } });
    const ledger = engine().refreshLedger;
    expect(await ledger.claim('session-123', 60)).toBe(true);
    expect(await ledger.claim('session-123', 60)).toBe(false);
    expect(await ledger.claim('session-456', 60)).toBe(true);
    expect([...store.data.keys()].every((key) => /^nextjs-auth-otel:rt:claimed:[0-9a-f]{32}$/.test(key))).toBe(true);
    expect([...store.data.keys()].join()).not.toContain('session');
  });

  it('claim through each kind of store: setIfAbsent when the store has it, a read then a write with unstorage', async () => {
    const atomic: string[] = [];
    const withSetIfAbsent: KeyValueLedgerStore = {
      get: () => {
        throw new Error('claim must not read when setIfAbsent exists');
      },
      set: () => undefined,
      setIfAbsent: (key) => {
        if (atomic.includes(key)) return false;
        atomic.push(key);
        return true;
      },
    };
    configureAuthTelemetry({ refreshTokenLedger: { store: withSetIfAbsent, salt: SALT } });
    expect([await engine().refreshLedger.claim('k', 60), await engine().refreshLedger.claim('k', 60)]).toEqual([true, false]);

    // unstorage's own Storage (its in-memory driver): getItem / setItem with { ttl }.
    const storage = createStorage();
    configureAuthTelemetry({ refreshTokenLedger: { store: storage, salt: SALT, raceWindowSeconds: NO_RACE_WINDOW } });
    expect([await engine().refreshLedger.claim('k', 60), await engine().refreshLedger.claim('k', 60)]).toEqual([true, false]);
    const before = await reused();
    await refresh('rt-through-unstorage');
    await engine().refreshLedger.flush();
    configureAuthTelemetry({ refreshTokenLedger: { store: storage, salt: SALT, raceWindowSeconds: NO_RACE_WINDOW } });
    await sleep(5);
    await refresh('rt-through-unstorage', true);
    await engine().refreshLedger.flush();
    expect(await reused()).toBe(before + 1);
    expect((await storage.getKeys()).every((key) => /^nextjs-auth-otel:rt:(started|exchanged|claimed):[0-9a-f]{32}$/.test(key))).toBe(true);
  });

  it('never exports a refresh or access token: spans, events and metric attributes carry no token text', async () => {
    configureAuthTelemetry({});
    telemetry.reset();
    const secret = 'rt-SECRET-4f1c2b7e9d0a';
    await refresh(secret);
    await refresh(secret, true);
    const exported = spanText(telemetry.finishedSpans());
    expect(exported).not.toContain('SECRET');
    const { resourceMetrics } = await telemetry.reader.collect();
    expect(JSON.stringify(resourceMetrics.scopeMetrics.map((s) => s.metrics.map((m) => m.dataPoints.map((p) => p.attributes))))).not.toContain('SECRET');
  });

  it('rejects ledger options that cannot work, at configuration time, saying what to set', () => {
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { capacity: 0 } })).toThrow(AuthTelemetryConfigError);
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { salt: 'short' } })).toThrow(/at least 16/);
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { store: new MapStore() } })).toThrow(/set refreshTokenLedger\.salt to the same secret/);
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { store: new MapStore(), salt: 'short' } })).toThrow(/at least 16/);
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { store: { has: () => false } as unknown as KeyValueLedgerStore, salt: SALT } })).toThrow(
      /unstorage Storage .* or an object with get\(key\) and set\(key, value, ttlSeconds\)/,
    );
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { readTimeoutMs: -1 } })).toThrow(/readTimeoutMs must be a positive number/);
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { ttlSeconds: 1.5 } })).toThrow(/ttlSeconds must be a positive integer/);
  });
});

describe('nextjs-auth0 v3 getAccessToken', () => {
  it('presents the refresh token from the session it reads: reusing a rotated one is a lost rotation', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { raceWindowSeconds: NO_RACE_WINDOW } });
    const env = inject('v3');
    const sdk = await import('@auth0/nextjs-auth0');
    const auth0 = instrumentAuth0(sdk.initAuth0(v3Config(env)));
    // An access token inside v3's 60 s leeway, so every getAccessToken refreshes.
    const { cookie } = (await (await fetch(`${env.appUrl}/__test/login?user=alice&ttl=30`)).json()) as { cookie: string };
    const request = () =>
      new NextRequest(`${env.appUrl}/dashboard`, {
        headers: { cookie, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36' },
      });
    const filter = {
      'auth.sdk': 'nextjs-auth0-v3',
      'auth.refresh.unpersisted_reason': 'token_reused',
      'auth.error.code': 'invalid_grant',
      'auth.user_agent.class': 'browser',
    };
    const before = await telemetry.count(METRICS.refreshUnpersisted.name, filter);

    // The new cookie is dropped, as by a response that never reaches the browser.
    const first = await auth0.getAccessToken(request(), NextResponse.next());
    expect(first.accessToken).toBeTypeOf('string');
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, filter)).toBe(before);
    await sleep(5);
    const thrown = (await auth0.getAccessToken(request(), NextResponse.next()).catch((e: unknown) => e)) as { code?: string };
    expect(thrown.code).toBe('ERR_FAILED_REFRESH_GRANT');
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, filter)).toBe(before + 1);
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(failed.attributes['auth.outcome']).toBe('failure');
    expect(failed.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
  });
});
