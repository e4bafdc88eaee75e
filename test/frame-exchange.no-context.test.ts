/**
 * Without a context manager (Edge setups with no `AsyncLocalStorage`) the `jwt` callback's frame is
 * only known during its synchronous part, where rotation code starts its exchange. A refresh
 * wrapped with `traceTokenRefresh` records itself there too: the wire must not count it again.
 */
import { context } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp, type Idp } from '../testkit/index.js';
import { instrumentNextAuth, traceTokenRefresh } from '../src/next-auth.js';
import { METRICS } from '../src/core/telemetry/catalog.js';
import { ambientIn, runInAmbient, withAmbient, type Ambient } from '../src/core/operation/request-scope.js';
import { TestTelemetry } from './support/telemetry.js';

type Jwt = (params: { token: Record<string, unknown> }) => Promise<Record<string, unknown>>;
const telemetry = new TestTelemetry();
let idp: Idp;
let tokenEndpoint = '';

beforeAll(async () => {
  telemetry.install({ contextManager: false });
  idp = await startIdp({ accessTokenTtl: 3600 });
  tokenEndpoint = ((await (await fetch(idp.discoveryUrl)).json()) as { token_endpoint: string }).token_endpoint;
});

afterAll(async () => {
  await idp?.stop();
});

const exchange = (refreshToken: string) =>
  fetch(tokenEndpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: idp.clientId, client_secret: idp.clientSecret }),
  });

function jwtCalling(refresh: (refreshToken: string) => Promise<unknown>): Jwt {
  const config = instrumentNextAuth({
    providers: [],
    callbacks: {
      async jwt({ token }: { token: Record<string, unknown> }) {
        await refresh(token.refreshToken as string).catch(() => undefined);
        return token;
      },
    },
  });
  return config.callbacks.jwt as unknown as Jwt;
}

const failures = () => telemetry.count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant' });

describe('refresh exchanges in a jwt callback without a context manager', () => {
  it('records an untraced exchange started in the synchronous part once', async () => {
    const before = await failures();
    await jwtCalling(exchange)({ token: { refreshToken: 'revoked-or-unknown' } });
    expect(await failures()).toBe(before + 1);
  });

  it('records a traced exchange once, not once more on the wire', async () => {
    const traced = traceTokenRefresh(async (refreshToken: string) => {
      const response = await exchange(refreshToken);
      const body = await response.json();
      if (!response.ok) throw body;
      return body as Record<string, unknown>;
    });
    const before = await failures();
    await jwtCalling(traced)({ token: { refreshToken: 'revoked-or-unknown' } });
    expect(await failures()).toBe(before + 1);
  });

  it('forgets the frame once the callback returns: an exchange made after it is not counted', async () => {
    const before = await failures();
    await jwtCalling(async () => undefined)({ token: { refreshToken: 'revoked-or-unknown' } });
    const response = await exchange('revoked-or-unknown');
    expect(response.status).toBe(400);
    expect(await failures()).toBe(before);
  });
});

describe('the request-scope fallback without a context manager', () => {
  it('holds an ambient for the synchronous part of runInAmbient only, restoring the outer one', async () => {
    const outer: Ambient = { scope: undefined, exchangeHost: undefined, refreshFrame: undefined };
    const inner: Ambient = { scope: undefined, exchangeHost: undefined, refreshFrame: undefined };
    const seen: (Ambient | undefined)[] = [];
    const running = runInAmbient(withAmbient(context.active(), outer), outer, () => {
      seen.push(ambientIn());
      runInAmbient(withAmbient(context.active(), inner), inner, () => seen.push(ambientIn(), ambientIn(context.active())));
      seen.push(ambientIn());
      return (async () => {
        await Promise.resolve();
        seen.push(ambientIn());
      })();
    });
    seen.push(ambientIn());
    await running;
    const names = seen.map((a) => (a === outer ? 'outer' : a === inner ? 'inner' : a));
    expect(names).toEqual(['outer', 'inner', 'inner', 'outer', undefined, undefined]);
  });
});
