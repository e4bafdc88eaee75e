/**
 * traceTokenRefresh on the common NextAuth v4 rotation's refreshAccessToken
 * (docs/snippets/trace-token-refresh.ts, the README's code) against the credentials backend it
 * calls: a small token API in front of the real loopback IdP, so refresh tokens really rotate and
 * a reused one really fails.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RACE_WINDOW_SECONDS } from '../src/core/refresh/refresh-ledger.js';
import { startIdp, type Idp } from '../testkit/index.js';
import { loginForRefreshToken } from './support/idp-refresh-token.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { traceTokenRefresh } from '../src/index.js';
import { TestTelemetry, spanText } from './support/telemetry.js';
import { GOOGLEBOT } from './support/next-auth-harness.js';

const telemetry = new TestTelemetry();
let idp: Idp;
let backend: Server;
let backendUrl = '';
let refreshAccessToken: (token: { accessToken?: string; accessTokenExpiry?: number; refreshToken?: string; error?: string }) => Promise<{
  accessToken?: string;
  accessTokenExpiry?: number;
  refreshToken?: string;
  error?: string;
}>;

async function idpToken(body: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${idp.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({ ...body, client_id: idp.clientId, client_secret: idp.clientSecret }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  telemetry.install();
  idp = await startIdp({ accessTokenTtl: 3600 });
  // The rotation's backend: POST auth/refreshToken { token } → { accessToken, accessTokenExpiry, refreshToken }.
  backend = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const { token } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token: string };
    const { status, json } = await idpToken({ grant_type: 'refresh_token', refresh_token: token });
    if (status !== 200) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: json.error }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        accessToken: json.access_token,
        accessTokenExpiry: Date.now() + (json.expires_in as number) * 1000,
        refreshToken: json.refresh_token,
      }),
    );
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  process.env.YOUR_API_URL = `${backendUrl}/`;
  ({ refreshAccessToken } = await import('../docs/snippets/trace-token-refresh.js'));
});

afterAll(async () => {
  backend?.closeAllConnections();
  await new Promise((resolve) => backend?.close(resolve));
  await idp?.stop();
});

const refreshes = (filter: Record<string, unknown>) => telemetry.count(METRICS.tokenRefreshes.name, { 'auth.sdk': 'custom', ...filter });
const lost = () =>
  telemetry.count(METRICS.refreshUnpersisted.name, {
    'auth.sdk': 'custom',
    'auth.refresh.unpersisted_reason': 'token_reused',
    'auth.error.code': 'RefreshAccessTokenError',
  });

describe('traceTokenRefresh on the common NextAuth v4 refreshAccessToken', () => {
  it('records a rotation, then the reuse of the rotated token as a lost rotation with RefreshAccessTokenError', async () => {
    const refreshToken = await loginForRefreshToken(idp);
    const before = {
      success: await refreshes({ 'auth.outcome': 'success' }),
      failure: await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'RefreshAccessTokenError' }),
      lost: await lost(),
    };
    telemetry.reset();

    const refreshed = await refreshAccessToken({ accessToken: 'old', accessTokenExpiry: 0, refreshToken });
    expect(refreshed.error).toBeUndefined();
    expect(refreshed.refreshToken).not.toBe(refreshToken);
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'unknown' })).toBe(before.success + 1);
    const [span] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
    expect(span?.attributes['auth.token.expires_in']).toBeGreaterThan(3000);

    // The old refresh token again, as after a lost cookie write, once past the race window.
    await new Promise((resolve) => setTimeout(resolve, DEFAULT_RACE_WINDOW_SECONDS * 1000 + 100));
    const failed = await refreshAccessToken({ accessToken: 'old', accessTokenExpiry: 0, refreshToken });
    expect(failed.error).toBe('RefreshAccessTokenError');
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'RefreshAccessTokenError' })).toBe(before.failure + 1);
    expect(await lost()).toBe(before.lost + 1);
    expect(idp.tokenRequests().at(-1)).toMatchObject({ grantType: 'refresh_token', outcome: 'failure', error: 'invalid_grant' });
    expect(spanText(telemetry.finishedSpans())).not.toContain(refreshToken.slice(0, 20));
  });

  it('returns exactly what the function returned and rethrows the very error it threw', async () => {
    const value = { accessToken: 'a', refreshToken: 'b' };
    expect(await traceTokenRefresh(async () => value)()).toBe(value);
    const failure = Object.assign(new Error('exchange failed'), { code: 'whatever' });
    const caught = await traceTokenRefresh(async () => {
      throw failure;
    })().catch((e: unknown) => e);
    expect(caught).toBe(failure);
    const syncValue = { error: 'RefreshTokenError' };
    expect(traceTokenRefresh(() => syncValue)()).toBe(syncValue);
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'RefreshTokenError' })).toBeGreaterThanOrEqual(1);
  });

  it('maps a thrown token-endpoint body to its OAuth error, and classifies the request it is given', async () => {
    const before = await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'bot' });
    const exchange = traceTokenRefresh(
      async (_request: Request, refreshToken: string) => {
        const { status, json } = await idpToken({ grant_type: 'refresh_token', refresh_token: refreshToken });
        if (status !== 200) throw json;
        return json;
      },
      { request: (request: Request) => request, refreshTokenOf: (_request, refreshToken) => refreshToken },
    );
    const request = new Request('http://app.example/api/data', { headers: { 'user-agent': GOOGLEBOT } });
    const thrown = (await exchange(request, 'not-a-refresh-token').catch((e: unknown) => e)) as { error?: string };
    expect(thrown.error).toBe('invalid_grant');
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'bot' })).toBe(before + 1);
    const span = telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!;
    expect(span.attributes).toMatchObject({ 'auth.oauth.error': 'invalid_grant', 'user_agent.synthetic.type': 'bot' });
  });

  it('terminal or transient: a 503 page or an unreachable IdP is transient, invalid_grant terminal, an unlisted code the default (terminal)', async () => {
    // The exchange of the README's NextAuth rotation: the IdP's error body is thrown.
    const exchange = traceTokenRefresh(
      async (tokenUrl: string, refreshToken: string) => {
        const response = await fetch(tokenUrl, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: idp.clientId, client_secret: idp.clientSecret }),
        });
        const body = await response.json();
        if (!response.ok) throw body;
        return body as { access_token: string };
      },
      { refreshTokenOf: (_url, refreshToken) => refreshToken },
    );
    const kindOf = async (run: () => Promise<unknown>) => {
      await run().catch(() => undefined);
      return telemetry.finishedSpans(SPANS.tokenRefresh.name).at(-1)!.attributes['auth.refresh.failure_kind'];
    };
    const refreshToken = await loginForRefreshToken(idp);
    idp.failTokenEndpoint(503);
    try {
      expect(await kindOf(() => exchange(`${idp.url}/token`, refreshToken))).toBe('transient');
    } finally {
      idp.failTokenEndpoint(undefined);
    }
    // A port nobody listens on: undici's `fetch failed` TypeError with ECONNREFUSED under it.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/token`;
    await new Promise((resolve) => closed.close(resolve));
    expect(await kindOf(() => exchange(deadUrl, refreshToken))).toBe('transient');
    expect(await kindOf(() => exchange(`${idp.url}/token`, 'a-token-the-idp-never-issued'))).toBe('terminal');
    expect(await kindOf(() => traceTokenRefresh(async () => ({ error: 'RefreshAccessTokenError' }))())).toBe('terminal');
    expect(await kindOf(() => traceTokenRefresh(async () => ({ error: 'temporarily_unavailable' }))())).toBe('transient');
    // oauth4webapi's OperationProcessingError (nextjs-auth0 v3 on Edge) as Next's middleware build leaves it: the class
    // name minified, the message intact. Seen in `npm run demo -- --scenario idp-outage`.
    const minified = Object.assign(new Error('"response" is not a conform Token Endpoint response'), { name: 'r' });
    expect(
      await kindOf(() =>
        traceTokenRefresh(async () => {
          throw minified;
        })(),
      ),
    ).toBe('transient');
    // The IdP was only down: the refresh token still works.
    expect((await exchange(`${idp.url}/token`, refreshToken)).access_token).toBeTypeOf('string');
    expect(await refreshes({ 'auth.outcome': 'success' })).toBeGreaterThan(0);
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.refresh.failure_kind': 'transient' })).toBeGreaterThanOrEqual(3);
  });

  it('keeps an unknown returned error bounded as other', async () => {
    const before = await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'other' });
    await traceTokenRefresh(async () => ({ error: 'alice@example.com could not refresh' }))();
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'other' })).toBe(before + 1);
    expect(spanText(telemetry.finishedSpans())).not.toContain('alice@example.com');
  });
});
