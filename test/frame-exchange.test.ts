/**
 * The global `fetch` wrapper that sees refresh exchanges inside instrumented `jwt` callbacks must
 * leave every other request alone: the very promise the fetch it wraps returned, Next's markers on
 * its own patched fetch kept, wrapped once however many configurations are instrumented.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp, type Idp } from '../testkit/index.js';
import { instrumentNextAuth } from '../src/next-auth.js';
import { configureAuthTelemetry } from '../src/index.js';
import { SPANS } from '../src/core/telemetry/catalog.js';
import { METRICS } from '../src/core/telemetry/catalog.js';
import { saltedHmacSha256 } from '../src/core/telemetry/user-hash.js';
import { TestTelemetry } from './support/telemetry.js';

type Jwt = (params: { token: Record<string, unknown> }) => Promise<Record<string, unknown>>;
const telemetry = new TestTelemetry();
const realFetch = globalThis.fetch;
const SALT = 'a-secret-salt-of-some-length';
let idp: Idp;
let tokenEndpoint = '';
let lastPromise: Promise<Response> | undefined;
/** Stands in for Next's patched fetch: marked as Next marks it, and remembering the promise it returned. */
const nextPatched = Object.assign(
  function fetch(input: RequestInfo | URL, init?: RequestInit) {
    lastPromise = realFetch(input, init);
    return lastPromise;
  },
  { __nextPatched: true as const },
);

beforeAll(async () => {
  telemetry.install();
  idp = await startIdp({ accessTokenTtl: 3600 });
  tokenEndpoint = ((await (await realFetch(idp.discoveryUrl)).json()) as { token_endpoint: string }).token_endpoint;
  globalThis.fetch = nextPatched as typeof fetch;
});

afterAll(async () => {
  configureAuthTelemetry({});
  globalThis.fetch = realFetch;
  await idp?.stop();
});

/** An instrumented configuration whose jwt callback runs `body` (as NextAuth would call it). */
function jwtRunning(body: () => Promise<unknown>): Jwt {
  const config = instrumentNextAuth({
    providers: [],
    callbacks: {
      async jwt({ token }: { token: Record<string, unknown> }) {
        await body();
        return token;
      },
    },
  });
  return config.callbacks.jwt as unknown as Jwt;
}

const refreshes = () => telemetry.count(METRICS.tokenRefreshes.name, {});
const form = (grantType: string) =>
  new URLSearchParams({ grant_type: grantType, refresh_token: 'not-a-token', client_id: idp.clientId, client_secret: idp.clientSecret });

describe('the fetch wrapper', () => {
  it("wraps once, keeps Next's marker, and outside a jwt callback returns the wrapped fetch's own promise", async () => {
    jwtRunning(async () => undefined);
    const wrapped = globalThis.fetch;
    expect(wrapped).not.toBe(nextPatched);
    expect((wrapped as unknown as { __nextPatched?: boolean }).__nextPatched).toBe(true);
    jwtRunning(async () => undefined);
    expect(globalThis.fetch).toBe(wrapped);
    const before = await refreshes();
    const returned = wrapped(tokenEndpoint, { method: 'POST', body: form('refresh_token') });
    expect(returned).toBe(lastPromise);
    expect((await returned).status).toBe(400);
    expect(await refreshes()).toBe(before);
  });

  it('inside a jwt callback, passes other requests straight through and records a refresh grant once, with the IdP code', async () => {
    configureAuthTelemetry({ hashUserId: { salt: SALT } });
    const before = await refreshes();
    const failures = () =>
      telemetry.count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'error.type': 'OAuth2Error' });
    const failuresBefore = await failures();
    let otherPromise: Promise<Response> | undefined;
    let otherSeen: Promise<Response> | undefined;
    let refreshStatus = 0;
    await jwtRunning(async () => {
      otherPromise = fetch(idp.discoveryUrl);
      otherSeen = lastPromise;
      await otherPromise;
      await fetch(tokenEndpoint, { method: 'POST', body: form('client_credentials') });
      refreshStatus = (await fetch(tokenEndpoint, { method: 'POST', body: form('refresh_token') })).status;
    })({ token: { sub: 'user-sub-1' } });
    expect(otherPromise).toBe(otherSeen);
    expect(refreshStatus).toBe(400);
    expect(await refreshes()).toBe(before + 1);
    expect(await failures()).toBe(failuresBefore + 1);
    // The user of the token the callback was given, by keyed hash only.
    const [span] = telemetry.finishedSpans(SPANS.tokenRefresh.name).slice(-1);
    expect(span?.attributes['user.hash']).toBe(saltedHmacSha256(SALT)('user-sub-1'));
  });
});
