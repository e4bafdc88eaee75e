/**
 * The ledger of refresh tokens already exchanged: bounded, salted, never exported. Driven through
 * the public surface (configureAuthTelemetry, traceTokenRefresh) with real OpenTelemetry pipelines.
 */
import { NextRequest, NextResponse } from 'next/server';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { instrumentAuth0 } from '../src/auth0.js';
import { v3Config } from './support/v3-login-app.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { AuthTelemetryConfigError } from '../src/core/engine/config.js';
import { configureAuthTelemetry, engine } from '../src/core/engine/engine.js';
import { InMemoryRefreshTokenLedger, RefreshTokenFingerprinter, type RefreshTokenLedger } from '../src/core/refresh/refresh-ledger.js';
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

describe('InMemoryRefreshTokenLedger', () => {
  it('forgets the oldest fingerprints first once full, and re-adding does not evict', () => {
    const ledger = new InMemoryRefreshTokenLedger(3);
    for (const fp of ['a', 'b', 'c']) ledger.add(fp);
    ledger.add('a');
    expect(ledger.size).toBe(3);
    ledger.add('d');
    expect(ledger.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((fp) => ledger.has(fp))).toEqual([false, true, true, true]);
  });

  it('stays at its capacity under a stream of refreshes', () => {
    const ledger = new InMemoryRefreshTokenLedger(100);
    for (let i = 0; i < 10_000; i++) ledger.add(String(i));
    expect(ledger.size).toBe(100);
    expect(ledger.has('9999')).toBe(true);
    expect(ledger.has('9899')).toBe(false);
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

describe('lost-rotation detection through the engine', () => {
  it('counts a failed refresh that presents an already-exchanged token, and only that', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { capacity: 2, salt: 'ledger-test-salt-0123456789' } });
    const before = await reused();
    await refresh('first'); // exchanged: now in the ledger
    await refresh('never-exchanged', true); // a failure, but not a reuse
    expect(await reused()).toBe(before);
    await refresh('first', true); // the same token again: a lost rotation
    expect(await reused()).toBe(before + 1);
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(failed.events.map((e) => e.name)).toEqual(['auth.refresh.unpersisted']);
    expect(failed.events[0]!.attributes).toEqual({ 'auth.refresh.unpersisted_reason': 'token_reused' });
  });

  it('forgets beyond its capacity: the per-instance limit', async () => {
    configureAuthTelemetry({ refreshTokenLedger: { capacity: 2, salt: 'ledger-test-salt-0123456789' } });
    const before = await reused();
    await refresh('old');
    await refresh('newer');
    await refresh('newest'); // evicts `old`
    await refresh('old', true);
    expect(await reused()).toBe(before);
    await refresh('newest', true);
    expect(await reused()).toBe(before + 1);
  });

  it('hands a shared store only salted fingerprints, and uses its answer', async () => {
    const seen: string[] = [];
    const shared = new Set<string>();
    const store: RefreshTokenLedger = {
      has: (fp) => {
        seen.push(fp);
        return shared.has(fp);
      },
      add: (fp) => {
        seen.push(fp);
        shared.add(fp);
      },
    };
    const salt = 'shared-salt-of-every-instance';
    configureAuthTelemetry({ refreshTokenLedger: { store, salt } });
    expect(engine().refreshTokens.ledger).toBe(store);
    const before = await reused();
    await refresh('rt-seen-by-another-instance');
    // Another instance with the same salt and store recognises the exchange.
    shared.clear();
    shared.add(new RefreshTokenFingerprinter(salt).fingerprint('rt-seen-by-another-instance'));
    await refresh('rt-seen-by-another-instance', true);
    expect(await reused()).toBe(before + 1);
    expect(seen.length).toBeGreaterThan(0);
    for (const value of seen) {
      expect(value).toMatch(/^[0-9a-f]{32}$/);
      expect(value).not.toContain('seen-by');
    }
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

  it('rejects ledger options that cannot work, at configuration time', () => {
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { capacity: 0 } })).toThrow(AuthTelemetryConfigError);
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { salt: 'short' } })).toThrow(/at least 16/);
    expect(() => configureAuthTelemetry({ refreshTokenLedger: { store: { has: () => false } as unknown as RefreshTokenLedger } })).toThrow(
      /has\(fingerprint\) and add/,
    );
  });
});

describe('nextjs-auth0 v3 getAccessToken', () => {
  it('presents the refresh token from the session it reads: reusing a rotated one is a lost rotation', async () => {
    configureAuthTelemetry({});
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
    const thrown = (await auth0.getAccessToken(request(), NextResponse.next()).catch((e: unknown) => e)) as { code?: string };
    expect(thrown.code).toBe('ERR_FAILED_REFRESH_GRANT');
    expect(await telemetry.count(METRICS.refreshUnpersisted.name, filter)).toBe(before + 1);
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(failed.attributes['auth.outcome']).toBe('failure');
    expect(failed.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
  });
});
