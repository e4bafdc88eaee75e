/**
 * Distinct affected sessions: each session counts once per outcome and hour, de-duplicated
 * through `claim(key, ttlSeconds)`, known only by a keyed hash. Driven through the public surface
 * (configureAuthTelemetry, traceTokenRefresh) with real OpenTelemetry pipelines.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { AuthTelemetryConfigError } from '../src/core/engine/config.js';
import { configureAuthTelemetry, engine } from '../src/core/engine/engine.js';
import { InMemorySessionClaimStore, type SessionClaimStore } from '../src/core/affected/claim-store.js';
import { traceTokenRefresh } from '../src/core/refresh/trace-token-refresh.js';
import { TestTelemetry, spanText } from './support/telemetry.js';

const telemetry = new TestTelemetry();
beforeAll(() => {
  telemetry.install();
});
afterEach(() => {
  vi.useRealTimers();
  configureAuthTelemetry({});
});

/** A refresh whose refresh token is dead, as the IdP answers it. */
const deadRefresh = traceTokenRefresh(async (_token: { refreshToken: string }) => {
  throw { error: 'invalid_grant', error_description: 'grant request is invalid' };
});
const fail = (refreshToken: string) => deadRefresh({ refreshToken }).catch(() => undefined);
const affected = (filter: Record<string, unknown> = {}) =>
  telemetry.count(METRICS.sessionsAffected.name, { 'auth.affected.outcome': 'refresh_failure', 'auth.refresh.failure_kind': 'terminal', ...filter });
/** Claims resolve asynchronously (a shared store is remote): wait for the count to settle. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('auth.sessions.affected', () => {
  it('a second failure of the same session in the same hour does not count twice; the next hour counts again', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-03T10:05:00Z') });
    configureAuthTelemetry({ affectedSessions: { salt: 'affected-test-salt-0123456789' } });
    const before = await affected();
    const failuresBefore = await telemetry.count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure' });
    await fail('rt-of-session-a');
    await fail('rt-of-session-a');
    vi.setSystemTime(new Date('2026-12-03T10:55:00Z'));
    await fail('rt-of-session-a');
    await settled();
    expect(await telemetry.count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure' })).toBe(failuresBefore + 3);
    expect(await affected()).toBe(before + 1);
    await fail('rt-of-session-b'); // another session, same hour
    await settled();
    expect(await affected()).toBe(before + 2);
    vi.setSystemTime(new Date('2026-12-03T11:01:00Z')); // the next bucket
    await fail('rt-of-session-a');
    await settled();
    expect(await affected()).toBe(before + 3);
  });

  it('without de-duplication the same session would count on every failure (the check above is not vacuous)', async () => {
    const everyTime: SessionClaimStore = { claim: async () => true };
    configureAuthTelemetry({ affectedSessions: { store: everyTime } });
    const before = await affected();
    await fail('rt-of-session-c');
    await fail('rt-of-session-c');
    await settled();
    expect(await affected()).toBe(before + 2);
  });

  it('instances sharing a claim store and a salt count a session once between them', async () => {
    // A shared set-if-absent with a TTL, as Redis SET NX EX offers; it only ever sees hashed keys.
    const shared = new Map<string, number>();
    const seen: string[] = [];
    const store: SessionClaimStore = {
      claim: async (key, ttlSeconds) => {
        seen.push(key);
        if ((shared.get(key) ?? 0) > Date.now()) return false;
        shared.set(key, Date.now() + ttlSeconds * 1000);
        return true;
      },
    };
    const salt = 'shared-salt-of-every-instance';
    configureAuthTelemetry({ affectedSessions: { store, salt } });
    expect(engine().affected.store).toBe(store);
    const before = await affected();
    await fail('rt-seen-on-instance-1');
    configureAuthTelemetry({ affectedSessions: { store, salt } }); // another instance: a fresh engine state, the same store
    await fail('rt-seen-on-instance-1');
    await settled();
    expect(await affected()).toBe(before + 1);
    for (const key of seen) {
      expect(key).toMatch(/^refresh_failure:\d+:[0-9a-f]{32}$/);
      expect(key).not.toContain('seen-on');
    }
  });

  it('an unreadable cookie and a lost rotation count under their own outcome; nothing identifying is exported', async () => {
    // No race window: the reuse right after the rotation is a lost rotation, not a race.
    configureAuthTelemetry({ refreshTokenLedger: { salt: 'ledger-test-salt-0123456789', raceWindowSeconds: 0.001 } });
    const exchange = traceTokenRefresh(async (token: { refreshToken: string; dead?: boolean }) => {
      if (token.dead) throw { error: 'invalid_grant' };
      return { accessToken: 'at', refreshToken: `${token.refreshToken}-next` };
    });
    const lost = () => telemetry.count(METRICS.sessionsAffected.name, { 'auth.affected.outcome': 'lost_rotation' });
    const before = await lost();
    telemetry.reset();
    await exchange({ refreshToken: 'rt-SECRET-rotated' });
    await exchange({ refreshToken: 'rt-SECRET-rotated', dead: true }).catch(() => undefined);
    await exchange({ refreshToken: 'rt-SECRET-rotated', dead: true }).catch(() => undefined);
    await settled();
    expect(await lost()).toBe(before + 1);
    expect(spanText(telemetry.finishedSpans(SPANS.tokenRefresh.name))).not.toContain('SECRET');
    const points = await telemetry.points(METRICS.sessionsAffected.name);
    for (const point of points) expect(JSON.stringify(point.attributes)).not.toMatch(/SECRET|[0-9a-f]{32}/);
  });

  it('the in-memory store stays within its capacity, forgetting the oldest claims (expired ones among them) first', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-03T10:00:00Z') });
    const store = new InMemorySessionClaimStore(3);
    expect(await store.claim('a', 60)).toBe(true);
    expect(await store.claim('a', 60)).toBe(false);
    expect(await store.claim('b', 3600)).toBe(true);
    expect(await store.claim('c', 3600)).toBe(true);
    vi.setSystemTime(new Date('2026-12-03T10:02:00Z')); // `a` expired
    expect(await store.claim('d', 3600)).toBe(true);
    expect(store.size).toBe(3);
    expect(await store.claim('b', 3600)).toBe(false); // still alive: the oldest, expired one went first
    for (let i = 0; i < 1000; i++) await store.claim(`k${i}`, 3600);
    expect(store.size).toBe(3);
  });

  it('rejects options that cannot work, at configuration time', () => {
    expect(() => configureAuthTelemetry({ affectedSessions: { store: {} as never } })).toThrow(AuthTelemetryConfigError);
    expect(() => configureAuthTelemetry({ affectedSessions: { salt: 'short' } })).toThrow(/at least 16 characters/);
    expect(() => configureAuthTelemetry({ affectedSessions: { bucketSeconds: 5 } })).toThrow(/from 60 to 86400/);
    expect(() => configureAuthTelemetry({ affectedSessions: { capacity: 0 } })).toThrow(/positive integer/);
  });
});
