/**
 * nextjs-auth0 v4's public `customFetch` option (4.23 and later) with `withFetchTelemetry`: the
 * refresh exchanges of a client built with it are recorded through that public hook alone, and
 * exactly once when `instrumentAuth0` also patches the client's internal fetch. Real SDK (4.30.0),
 * real IdP, real refresh-token exchanges.
 */
import { NextResponse } from 'next/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth0Client } from '@auth0/nextjs-auth0-v4/server';
import { instrumentAuth0, withFetchTelemetry } from '../src/auth0.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { TestTelemetry } from './support/telemetry.js';
import { startV4App, type V4App } from './support/v4-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const telemetry = new TestTelemetry();
let app: V4App;

beforeAll(async () => {
  telemetry.install();
  app = await startV4App();
});

afterAll(async () => {
  await app?.stop();
});

const refreshGrants = () => app.idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === 'success').length;
const successes = () => telemetry.count(METRICS.tokenRefreshes.name, { 'auth.sdk': 'nextjs-auth0-v4', 'auth.outcome': 'success' });

/** A session whose access token has expired, so the next getAccessToken exchanges its refresh token. */
async function expiredSession(): Promise<string> {
  const { cookie } = await app.login('bob', { ttl: 1 });
  app.idp.setAccessTokenTtl(3600);
  await sleep(1200);
  return cookie;
}

describe('nextjs-auth0 v4: customFetch: withFetchTelemetry(…)', () => {
  it('records the refresh exchange of a client that instrumentAuth0 never saw, through the public hook alone', async () => {
    const client: Auth0Client = app.client({ customFetch: withFetchTelemetry(app.idp.fetch) });
    const cookie = await expiredSession();
    telemetry.reset();
    const [grantsBefore, before] = [refreshGrants(), await successes()];
    const token = await client.getAccessToken(app.request('/', { cookie }), NextResponse.next());
    expect(token.token).toBeTypeOf('string');
    expect(refreshGrants()).toBe(grantsBefore + 1);
    const [refresh] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
    expect(refresh!.attributes).toMatchObject({ 'auth.sdk': 'nextjs-auth0-v4', 'auth.outcome': 'success' });
    expect(refresh!.attributes['auth.token.expires_in']).toBeGreaterThan(3000);
    // Not instrumented: no token request of its own, the exchange stands alone.
    expect(telemetry.finishedSpans(SPANS.tokenGet.name)).toHaveLength(0);
    expect(await successes()).toBe(before + 1);
  });

  it('with instrumentAuth0 as well: the exchange passes both observed fetches and is recorded once, under auth.token.get', async () => {
    const auth0 = instrumentAuth0(app.client({ customFetch: withFetchTelemetry(app.idp.fetch) }));
    const cookie = await expiredSession();
    telemetry.reset();
    const [grantsBefore, before] = [refreshGrants(), await successes()];
    await auth0.getAccessToken(app.request('/', { cookie }), NextResponse.next());
    expect(refreshGrants()).toBe(grantsBefore + 1);
    const refreshes = telemetry.finishedSpans(SPANS.tokenRefresh.name);
    expect(refreshes).toHaveLength(1);
    const [get] = telemetry.finishedSpans(SPANS.tokenGet.name);
    expect(get!.attributes).toMatchObject({ 'auth.outcome': 'refreshed', 'auth.user_agent.class': 'browser' });
    expect(refreshes[0]!.parentSpanContext?.spanId).toBe(get!.spanContext().spanId);
    expect(await successes()).toBe(before + 1);
  });

  it('an exchange outside any SDK call that passes two observed fetches is one refresh, not two', async () => {
    const cookie = await expiredSession();
    const session = await app.client().getSession(app.request('/', { cookie }));
    const refreshToken = session!.tokenSet.refreshToken!;
    telemetry.reset();
    const before = await successes();
    // The layering instrumentAuth0 makes: the patched internal fetch around the app's customFetch.
    const layered = withFetchTelemetry(withFetchTelemetry(app.idp.fetch));
    const response = await layered(new URL('/token', 'https://localhost'), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.idp.clientId}:${app.idp.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    expect(response.status).toBe(200);
    expect(telemetry.finishedSpans(SPANS.tokenRefresh.name)).toHaveLength(1);
    expect(await successes()).toBe(before + 1);
  });
});
