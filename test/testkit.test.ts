/**
 * Proves the integration testkit is real: a real oidc-provider driven through a real login form, real token
 * grants (rotation, reuse detection, revocation), and real OTLP exporters (JSON, gzip, protobuf) received and
 * parsed by the OTLP receiver.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Issuer, generators, type BaseClient, type TokenSet } from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';

import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { AggregationTemporalityPreference, OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { OTLPLogExporter as OTLPLogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SeverityNumber } from '@opentelemetry/api-logs';

import { startIdp, type Idp } from '../testkit/idp';
import { startRoundRobinProxy } from '../testkit/round-robin-proxy';
import { startCredentialsBackend } from '../testkit/credentials-backend';
import { BrowserClient, CookieJar, LoginError, loginViaAuthorizationCodeFlow, logoutViaApp, parseForms } from '../testkit/login';
import {
  anyValue,
  histogramTotals,
  keyValues,
  latestCumulative,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedMetricPoint,
} from '../testkit/otlp-receiver';

// -------------------------------------------------------------------------------------------------------------
// A tiny relying party: openid-client (what nextjs-auth0 v3 uses) or raw fetch (issuer-override mode).
// -------------------------------------------------------------------------------------------------------------

interface RpTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in?: number;
  token_type?: string;
  scope?: string;
}

interface Rp {
  url: string;
  sessions: Map<string, RpTokens>;
  /** Raw token endpoint responses of the code exchange, in order. */
  rawTokenResponses: RpTokens[];
  oidcClient?: BaseClient;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function redirect(res: ServerResponse, location: string, cookies: string[] = []): void {
  res.statusCode = 302;
  if (cookies.length) res.setHeader('Set-Cookie', cookies);
  res.setHeader('Location', location);
  res.end();
}

/**
 * mode 'openid-client': discovery, authorization URL, callback (id_token validation, nonce, PKCE) and token
 * exchange via openid-client 5 with client_secret_basic.
 * mode 'fetch': the same by hand with `idp.fetch` (reaches an issuer of https://localhost), client_secret_post.
 */
async function startRp(idp: Idp, mode: 'openid-client' | 'fetch', clientId = idp.clientId, clientSecret = idp.clientSecret): Promise<Rp> {
  const sessions = new Map<string, RpTokens>();
  const rawTokenResponses: RpTokens[] = [];
  const pending = new Map<string, { nonce: string; verifier: string }>();
  let oidcClient: BaseClient | undefined;
  let discovery: Record<string, string> | undefined;
  let base = '';

  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', base);
      if (u.pathname === '/login') {
        const state = generators.state();
        const nonce = generators.nonce();
        const verifier = generators.codeVerifier();
        pending.set(state, { nonce, verifier });
        const params: Record<string, string> = {
          client_id: clientId,
          response_type: 'code',
          redirect_uri: `${base}/api/auth/callback`,
          scope: u.searchParams.get('scope') ?? 'openid profile email offline_access',
          state,
          nonce,
          code_challenge: generators.codeChallenge(verifier),
          code_challenge_method: 'S256',
          ...(u.searchParams.get('audience') ? { audience: u.searchParams.get('audience')! } : {}),
        };
        const location = oidcClient ? oidcClient.authorizationUrl(params) : `${discovery!.authorization_endpoint}?${new URLSearchParams(params)}`;
        return redirect(res, location, [`rp_state=${state}; Path=/; HttpOnly; SameSite=Lax`]);
      }
      if (u.pathname === '/api/auth/callback') {
        const state = cookieValue(req, 'rp_state') ?? '';
        const p = pending.get(state);
        if (!p) {
          res.statusCode = 400;
          return res.end('missing state');
        }
        let tokens: RpTokens;
        if (oidcClient) {
          const params = oidcClient.callbackParams(req);
          const set: TokenSet = await oidcClient.callback(`${base}/api/auth/callback`, params, {
            state,
            nonce: p.nonce,
            code_verifier: p.verifier,
          });
          tokens = {
            access_token: set.access_token!,
            refresh_token: set.refresh_token,
            id_token: set.id_token,
            expires_in: set.expires_in,
            scope: set.scope,
            token_type: set.token_type,
          };
        } else {
          if (u.searchParams.get('state') !== state) {
            res.statusCode = 400;
            return res.end('state mismatch');
          }
          const r = await idp.fetch(discovery!.token_endpoint!, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              code: u.searchParams.get('code') ?? '',
              redirect_uri: `${base}/api/auth/callback`,
              code_verifier: p.verifier,
              client_id: clientId,
              client_secret: clientSecret,
            }),
          });
          tokens = (await r.json()) as RpTokens;
          if (!r.ok) {
            res.statusCode = 500;
            return res.end(JSON.stringify(tokens));
          }
        }
        rawTokenResponses.push(tokens);
        const sid = randomBytes(12).toString('hex');
        sessions.set(sid, tokens);
        return redirect(res, '/', [`rp_session=${sid}; Path=/; HttpOnly; SameSite=Lax`, 'rp_state=; Path=/; Max-Age=0']);
      }
      if (u.pathname === '/logout') {
        const sid = cookieValue(req, 'rp_session');
        const tokens = sid ? sessions.get(sid) : undefined;
        if (sid) sessions.delete(sid);
        const endSession = oidcClient
          ? oidcClient.endSessionUrl({ id_token_hint: tokens?.id_token, post_logout_redirect_uri: `${base}/` })
          : `${discovery!.end_session_endpoint}?${new URLSearchParams({ id_token_hint: tokens?.id_token ?? '', post_logout_redirect_uri: `${base}/` })}`;
        return redirect(res, endSession, ['rp_session=; Path=/; Max-Age=0']);
      }
      if (u.pathname === '/') {
        const sid = cookieValue(req, 'rp_session');
        const tokens = sid ? sessions.get(sid) : undefined;
        res.setHeader('Content-Type', 'text/html');
        if (!tokens?.id_token) return res.end('<p id="anonymous">not signed in</p>');
        const claims = decodeJwt(tokens.id_token);
        return res.end(`<p id="user">signed in as ${String(claims.sub)} (${String(claims.email)})</p>`);
      }
      res.statusCode = 404;
      res.end();
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err instanceof Error ? err.stack : err));
    });
  });
  base = await listen(server);
  await idp.registerRedirectUris(base, clientId);

  if (mode === 'openid-client') {
    const issuer = await Issuer.discover(idp.url);
    oidcClient = new issuer.Client({
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [`${base}/api/auth/callback`],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
  } else {
    discovery = (await (await idp.fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  }

  return {
    url: base,
    sessions,
    rawTokenResponses,
    oidcClient,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A refresh-token grant by hand (client_secret_post), returning the status and JSON body. */
async function refreshRaw(idp: Idp, refreshToken: string, clientId = idp.clientId, clientSecret = idp.clientSecret) {
  const r = await idp.fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'testkit-refresh/1.0' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret }),
  });
  return { status: r.status, body: (await r.json()) as RpTokens & { error?: string; error_description?: string } };
}

function sessionTokens(rp: Rp, jar: CookieJar): RpTokens {
  const sid = jar.get('rp_session');
  expect(sid, 'RP session cookie').toBeTruthy();
  const tokens = rp.sessions.get(sid!);
  expect(tokens).toBeDefined();
  return tokens!;
}

// -------------------------------------------------------------------------------------------------------------
// IdP
// -------------------------------------------------------------------------------------------------------------

describe('testkit idp (oidc-provider) + login driver', () => {
  const TTL = 45;
  let idp: Idp;
  let rp: Rp;

  beforeAll(async () => {
    idp = await startIdp({ accessTokenTtl: TTL });
    rp = await startRp(idp, 'openid-client');
  });
  afterAll(async () => {
    await rp?.stop();
    await idp?.stop();
  });

  it('serves discovery with both secret auth methods, offline_access and end_session', async () => {
    const d = (await (await fetch(idp.discoveryUrl)).json()) as Record<string, unknown>;
    expect(d.issuer).toBe(idp.issuer);
    expect(idp.issuer).toBe(idp.url);
    expect(d.token_endpoint).toBe(`${idp.url}/token`);
    expect(d.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
    expect(d.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access', 'profile', 'email']));
    expect(d.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    expect(d.end_session_endpoint).toBe(`${idp.url}/session/end`);
  });

  it('shows a real login form, rejects a wrong password, and needs no consent', async () => {
    const client = new BrowserClient();
    const page = await client.get(`${rp.url}/login`);
    expect(page.status).toBe(200);
    expect(page.url).toMatch(new RegExp(`^${idp.url}/interaction/`));
    const [form] = parseForms(page.body);
    expect(form).toBeDefined();
    expect(form!.method).toBe('post');
    expect(form!.inputNames).toEqual(expect.arrayContaining(['username', 'password']));
    expect(page.body).toMatch(/<button[^>]*type="submit"/);

    const rejected = await client.submit(form!, page.url, { username: 'alice', password: 'nope' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toContain('Invalid username or password');
    await expect(loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'alice', password: 'wrong' })).rejects.toBeInstanceOf(
      LoginError,
    );
  });

  it('logs in (client_secret_basic), refreshes with rotation, and rejects the reused refresh token', async () => {
    const login = await loginViaAuthorizationCodeFlow({
      appUrl: rp.url,
      loginPath: '/login',
      username: 'alice',
      password: 'alice-password',
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    });
    expect(login.status).toBe(200);
    expect(login.finalUrl).toBe(`${rp.url}/`);
    expect(login.body).toContain('signed in as alice (alice@example.com)');
    expect(login.loginFormSubmitted).toBe(true);
    // straight back after the form: form POST → resume → RP callback → RP home
    const afterForm = login.history.slice(login.history.findIndex((h) => h.method === 'POST'));
    expect(afterForm.map((h) => new URL(h.url).pathname)).toEqual([
      expect.stringMatching(/^\/interaction\/.+\/login$/),
      expect.stringMatching(/^\/auth\//),
      '/api/auth/callback',
      '/',
    ]);

    const tokens = sessionTokens(rp, login.jar);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.id_token).toBeTruthy();
    expect(tokens.expires_in).toBeGreaterThanOrEqual(TTL - 1);
    expect(tokens.expires_in).toBeLessThanOrEqual(TTL);
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'offline_access']));
    const idClaims = decodeJwt(tokens.id_token!);
    expect(idClaims).toMatchObject({ sub: 'alice', email: 'alice@example.com', name: 'Alice Example', iss: idp.issuer, aud: idp.clientId });
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');

    // refresh through openid-client (client_secret_basic)
    const refreshed = await rp.oidcClient!.refresh(tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token); // rotated

    // the raw response carries expires_in = TTL exactly (client_secret_post this time)
    const again = await refreshRaw(idp, refreshed.refresh_token!);
    expect(again.status).toBe(200);
    expect(again.body.expires_in).toBe(TTL);
    expect(again.body.refresh_token).toBeTruthy();
    expect(again.body.refresh_token).not.toBe(refreshed.refresh_token);

    // re-using a rotated refresh token: invalid_grant, and the whole grant is revoked (reuse detection)
    const reused = await refreshRaw(idp, tokens.refresh_token!);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    const afterReuse = await refreshRaw(idp, again.body.refresh_token!);
    expect(afterReuse.body.error).toBe('invalid_grant');

    const log = idp.tokenRequests();
    expect(log.filter((r) => r.grantType === 'authorization_code' && r.outcome === 'success').at(-1)?.authMethod).toBe('client_secret_basic');
    expect(log.filter((r) => r.grantType === 'refresh_token').map((r) => [r.authMethod, r.outcome, r.error ?? null])).toEqual([
      ['client_secret_basic', 'success', null],
      ['client_secret_post', 'success', null],
      ['client_secret_post', 'failure', 'invalid_grant'],
      ['client_secret_post', 'failure', 'invalid_grant'],
    ]);
    expect(log.at(-1)?.userAgent).toBe('testkit-refresh/1.0');
    expect(idp.serverErrors()).toEqual([]);
  });

  it('revokeRefreshTokens() makes the next refresh fail with invalid_grant (per account, then all)', async () => {
    const bob = await loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'bob', password: 'bob-password' });
    const alice = await loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'alice', password: 'alice-password' });
    const bobTokens = sessionTokens(rp, bob.jar);
    const aliceTokens = sessionTokens(rp, alice.jar);

    const bobRefresh = await refreshRaw(idp, bobTokens.refresh_token!);
    expect(bobRefresh.status).toBe(200);

    expect(await idp.revokeRefreshTokens('bob')).toBeGreaterThanOrEqual(1);
    const bobAfter = await refreshRaw(idp, bobRefresh.body.refresh_token!);
    expect(bobAfter.status).toBe(400);
    expect(bobAfter.body.error).toBe('invalid_grant');

    const aliceRefresh = await refreshRaw(idp, aliceTokens.refresh_token!);
    expect(aliceRefresh.status).toBe(200); // untouched by bob's revocation

    expect(await idp.revokeRefreshTokens()).toBeGreaterThanOrEqual(1);
    const aliceAfter = await refreshRaw(idp, aliceRefresh.body.refresh_token!);
    expect(aliceAfter.body.error).toBe('invalid_grant');

    // revokeAll(): a fresh login's refresh token dies too
    const carol = await loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'alice', password: 'alice-password' });
    await idp.revokeAll();
    expect((await refreshRaw(idp, sessionTokens(rp, carol.jar).refresh_token!)).body.error).toBe('invalid_grant');
  });

  it('failTokenEndpoint(503) answers token requests with a 503 HTML page and logs them; the grant survives the outage', async () => {
    const alice = await loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'alice', password: 'alice-password' });
    const refreshToken = sessionTokens(rp, alice.jar).refresh_token!;
    idp.failTokenEndpoint(503);
    try {
      const down = await idp.fetch(`${idp.issuer}/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: idp.clientId, client_secret: idp.clientSecret }),
      });
      expect(down.status).toBe(503);
      expect(down.headers.get('content-type')).toMatch(/text\/html/);
      expect(idp.tokenRequests().at(-1)).toMatchObject({ grantType: 'refresh_token', outcome: 'failure', status: 503, authMethod: 'client_secret_post' });
    } finally {
      idp.failTokenEndpoint(undefined);
    }
    const back = await refreshRaw(idp, refreshToken);
    expect(back.status).toBe(200);
    expect(back.body.access_token).toBeTypeOf('string');
  });

  it('no refresh token without offline_access; rotation can be switched off; audience gives a JWT access token', async () => {
    const noOffline = await loginViaAuthorizationCodeFlow({
      appUrl: rp.url,
      loginPath: `/login?scope=${encodeURIComponent('openid profile email')}`,
      username: 'alice',
      password: 'alice-password',
    });
    const t1 = sessionTokens(rp, noOffline.jar);
    expect(t1.refresh_token).toBeUndefined();
    expect(t1.access_token.split('.')).toHaveLength(1); // opaque, userinfo-capable
    const userinfo = await rp.oidcClient!.userinfo(t1.access_token);
    expect(userinfo.sub).toBe('alice');

    idp.setRefreshTokenRotation(false);
    try {
      const withApi = await loginViaAuthorizationCodeFlow({
        appUrl: rp.url,
        loginPath: `/login?audience=${encodeURIComponent('https://api.example.test')}`,
        username: 'bob',
        password: 'bob-password',
      });
      const t2 = sessionTokens(rp, withApi.jar);
      const at = decodeJwt(t2.access_token);
      expect(at.aud).toBe('https://api.example.test');
      expect(at.sub).toBe('bob');
      expect(at.exp! - at.iat!).toBe(TTL);
      const r = await refreshRaw(idp, t2.refresh_token!);
      expect(r.status).toBe(200);
      expect(r.body.refresh_token).toBe(t2.refresh_token); // not rotated
      expect(r.body.expires_in).toBe(TTL);
      expect(decodeJwt(r.body.access_token).aud).toBe('https://api.example.test');
    } finally {
      idp.setRefreshTokenRotation(true);
    }
  });

  it('logs out through end_session (auto-confirmed) back to the app; the next login shows the form again', async () => {
    const login = await loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'alice', password: 'alice-password' });
    // while the IdP session lives, a new login skips the form
    const silent = await loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'alice', password: 'x', client: login.client });
    expect(silent.loginFormSubmitted).toBe(false);
    expect(silent.body).toContain('signed in as alice');

    const out = await logoutViaApp({ appUrl: rp.url, logoutPath: '/logout', client: login.client });
    expect(out.status).toBe(200);
    expect(out.url).toBe(`${rp.url}/`);
    expect(out.body).toContain('not signed in');
    expect(out.history.some((h) => h.url.startsWith(`${idp.url}/session/end`))).toBe(true);
    expect(login.jar.get('rp_session')).toBeUndefined();

    const relogin = await loginViaAuthorizationCodeFlow({
      appUrl: rp.url,
      loginPath: '/login',
      username: 'alice',
      password: 'alice-password',
      client: login.client,
    });
    expect(relogin.loginFormSubmitted).toBe(true);

    // Auth0-style logout (nextjs-auth0 v3's default `auth0Logout: true`): /v2/logout?client_id&returnTo
    const auth0Logout = await login.client.get(`${idp.url}/v2/logout?${new URLSearchParams({ client_id: idp.clientId, returnTo: rp.url })}`);
    expect(auth0Logout.url).toBe(rp.url + '/');
    const third = await loginViaAuthorizationCodeFlow({ appUrl: rp.url, loginPath: '/login', username: 'bob', password: 'bob-password', client: login.client });
    expect(third.loginFormSubmitted).toBe(true);
    expect(third.body).toContain('signed in as bob');
    expect(idp.serverErrors()).toEqual([]);
  });

  it('accepts client_secret_post clients and clients added later', async () => {
    const extra = await idp.addClient({ clientId: 'post-client', tokenEndpointAuthMethod: 'client_secret_post' });
    const rp2 = await startRp(idp, 'openid-client', extra.clientId, extra.clientSecret); // openid-client sends basic
    try {
      const login = await loginViaAuthorizationCodeFlow({ appUrl: rp2.url, loginPath: '/login', username: 'bob', password: 'bob-password' });
      const tokens = sessionTokens(rp2, login.jar);
      const r = await refreshRaw(idp, tokens.refresh_token!, extra.clientId, extra.clientSecret);
      expect(r.status).toBe(200);
      // another client's secret does not work
      const wrong = await refreshRaw(idp, r.body.refresh_token!, extra.clientId, 'not-the-secret');
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    } finally {
      await rp2.stop();
    }
  });
});

describe('testkit idp with an issuer override (nextjs-auth0 v4 style: https://localhost over http)', () => {
  let idp: Idp;
  let rp: Rp;
  beforeAll(async () => {
    idp = await startIdp({ issuer: 'https://localhost', accessTokenTtl: 20 });
    rp = await startRp(idp, 'fetch');
  });
  afterAll(async () => {
    await rp?.stop();
    await idp?.stop();
  });

  it('advertises https://localhost and completes login + refresh through the rewrite', async () => {
    const d = (await (await idp.fetch('https://localhost/.well-known/openid-configuration')).json()) as Record<string, string>;
    expect(d.issuer).toBe('https://localhost');
    expect(d.token_endpoint).toBe('https://localhost/token');
    expect(idp.hostRewrite).toEqual({ from: 'https://localhost', to: idp.url, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'localhost' } });

    const login = await loginViaAuthorizationCodeFlow({
      appUrl: rp.url,
      loginPath: '/login',
      username: 'alice',
      password: 'alice-password',
      rewrites: [idp.hostRewrite],
      transport: 'http',
    });
    expect(login.body).toContain('signed in as alice');
    expect(login.history.some((h) => h.url.startsWith('https://localhost/auth'))).toBe(true);
    const tokens = sessionTokens(rp, login.jar);
    expect(tokens.expires_in).toBe(20);
    expect(decodeJwt(tokens.id_token!).iss).toBe('https://localhost');
    const r = await refreshRaw(idp, tokens.refresh_token!);
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).not.toBe(tokens.refresh_token);
    await idp.revokeRefreshTokens({ sub: 'alice' });
    expect((await refreshRaw(idp, r.body.refresh_token!)).body.error).toBe('invalid_grant');
    expect(idp.serverErrors()).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------------------------
// Credentials backend
// -------------------------------------------------------------------------------------------------------------

describe('testkit credentials backend', () => {
  it('logs in, rotates refresh tokens, refuses a reused one, and fails exchanges on demand without using the token up', async () => {
    const backend = await startCredentialsBackend({ accessTokenTtlMs: 60_000 });
    const post = async (path: string, body: unknown) => {
      const response = await fetch(backend.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as any };
    };
    try {
      expect((await post('auth/login', { email: 'example@example.com', password: 'wrong' })).status).toBe(401);
      const login = await post('auth/login', { email: 'example@example.com', password: 'example' });
      expect(login.status).toBe(200);
      // The rotation checks the body's accessToken, then reads the tokens from its `data`.
      expect(login.body.accessToken).toBe(login.body.data.accessToken);
      expect(login.body.data.accessTokenExpiry).toBeGreaterThan(Date.now() + 55_000);
      const first = login.body.data.refreshToken as string;
      const refreshed = await post('auth/refreshToken', { token: first });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refreshToken).not.toBe(first);
      expect(refreshed.body.accessToken).not.toBe(login.body.accessToken);
      expect((await post('auth/refreshToken', { token: first })).status).toBe(401);
      backend.failRefreshes(true);
      expect((await post('auth/refreshToken', { token: refreshed.body.refreshToken })).status).toBe(503);
      backend.failRefreshes(false);
      expect((await post('auth/refreshToken', { token: refreshed.body.refreshToken })).status).toBe(200);
      expect(backend.counts()).toEqual({ logins: 1, refreshed: 2, failed: 1, reused: 1 });
    } finally {
      await backend.stop();
    }
  });
});

// -------------------------------------------------------------------------------------------------------------
// Cookie jar
// -------------------------------------------------------------------------------------------------------------

describe('testkit cookie jar', () => {
  it('honours path, expiry, deletion, domain and secure', () => {
    const jar = new CookieJar();
    const now = Date.now();
    jar.setCookie('a=1; Path=/', 'http://127.0.0.1:3000/x/y', now);
    jar.setCookie('b=2', 'http://127.0.0.1:3000/api/auth/login', now); // default path /api/auth
    jar.setCookie('c=3; Max-Age=1', 'http://127.0.0.1:3000/', now);
    jar.setCookie('d=4; Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'http://127.0.0.1:3000/', now);
    jar.setCookie('e=5; Domain=example.test; Secure', 'https://app.example.test/', now);
    jar.setCookie('f=6; Domain=other.test', 'https://app.example.test/', now); // foreign: ignored
    expect(jar.cookieHeader('http://127.0.0.1:4000/')).toBe('a=1; c=3'); // ports do not isolate cookies
    expect(jar.cookieHeader('http://127.0.0.1:3000/api/auth/callback')).toBe('b=2; a=1; c=3');
    expect(jar.get('d')).toBeUndefined();
    expect(jar.cookieHeader('https://www.example.test/')).toBe('e=5');
    expect(jar.cookieHeader('http://www.example.test/')).toBe('');
    expect(jar.get('f')).toBeUndefined();
    expect(jar.cookiesFor('http://127.0.0.1:3000/', now + 2000).map((c) => c.name)).toEqual(['a']);

    jar.setCookie('a=; Path=/; Max-Age=0', 'http://127.0.0.1:3000/');
    expect(jar.get('a')).toBeUndefined();
    jar.set('appSession', 'tampered');
    expect(jar.cookieHeader('http://127.0.0.1:3000/')).toContain('appSession=tampered');
    jar.setCookie('appSession=real; Path=/; HttpOnly', 'http://127.0.0.1:3000/');
    jar.set('appSession', 'tampered-again');
    expect(jar.get('appSession')).toBe('tampered-again');
    expect(jar.getAll('appSession')).toHaveLength(1);
    expect(jar.getAll('appSession')[0]).toMatchObject({ domain: '127.0.0.1', hostOnly: true, path: '/', httpOnly: true });

    const copy = jar.clone();
    copy.set('appSession', 'only-in-the-copy');
    expect(copy.get('appSession')).toBe('only-in-the-copy');
    expect(jar.get('appSession')).toBe('tampered-again');
  });

  it('counts Max-Age from when the cookie arrived, however often it is sent since', () => {
    const url = 'http://127.0.0.1:3000/';
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    vi.useFakeTimers({ now: t0 });
    try {
      const jar = new CookieJar();
      jar.setCookie('short=1; Path=/; Max-Age=2', url);
      vi.setSystemTime(t0 + 1500);
      expect(jar.cookieHeader(url)).toBe('short=1');
      vi.setSystemTime(t0 + 2500);
      expect(jar.cookieHeader(url)).toBe('');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('testkit HTML forms', () => {
  it('reads forms as a browser parses them: entities, quoted >, selects, textareas, checkboxes, disabled controls, a nested <form> tag', () => {
    const html = `<!doctype html><title>t</title>
      <form id=f1 method=POST action="/go?a=1&amp;b=2" data-testkit-autosubmit>
        <input type=hidden name=next value="/x>y">
        <input name=plain>
        <input type=checkbox name=remember>
        <input type=checkbox name=terms checked>
        <input type=radio name=tier value=pro checked>
        <input name=locked value=no disabled>
        <select name=size><option>small</option><option value=l selected>Large</option></select>
        <select name=colour><option disabled>none</option><option> dark   blue </option></select>
        <textarea name=note>line &lt;1&gt;</textarea>
        <button type=button name=noop>x</button>
        <button name=go value=yes>Go</button>
        <form id=nested action=/ignored><input name=inner value=1></form>
      </form>
      <template><form id=inert></form></template>`;
    const forms = parseForms(html);
    expect(forms.map((f) => f.id)).toEqual(['f1']);
    const [form] = forms;
    expect(form).toMatchObject({ action: '/go?a=1&b=2', method: 'post', submits: [['go', 'yes']] });
    expect('data-testkit-autosubmit' in form!.attributes).toBe(true);
    expect(form!.fields).toEqual([
      ['next', '/x>y'],
      ['plain', ''],
      ['terms', 'on'],
      ['tier', 'pro'],
      ['size', 'l'],
      ['colour', 'dark blue'],
      ['note', 'line <1>'],
      ['inner', '1'],
    ]);
    expect(form!.inputNames).toEqual(['next', 'plain', 'remember', 'terms', 'tier', 'locked', 'size', 'colour', 'note', 'noop', 'go', 'inner']);
  });
});

describe('testkit browser client headers', () => {
  it('sends navigation headers; the http transport sends them exactly, fetch forces sec-fetch-mode: cors', async () => {
    const seen: Array<Record<string, string | string[] | undefined>> = [];
    let otherBase = '';
    const other = createServer((req, res) => {
      seen.push({ ...req.headers, path: req.url });
      res.setHeader('Content-Type', 'text/html');
      res.end(
        '<form method="post" action="/done"><input type="hidden" name="a" value="1&amp;2"><button type="submit" name="go" value="yes">Go</button></form>',
      );
    });
    const server = createServer((req, res) => {
      seen.push({ ...req.headers, path: req.url });
      res.statusCode = 302;
      res.setHeader('Location', `${otherBase}/landing`);
      res.setHeader('Set-Cookie', ['one=1; Path=/', 'two=2; Path=/; HttpOnly']);
      res.end();
    });
    const base = await listen(server);
    otherBase = await listen(other);
    try {
      for (const transport of ['http', 'fetch'] as const) {
        seen.length = 0;
        const client = new BrowserClient({ transport });
        const page = await client.get(`${base}/start`);
        expect(page.url).toBe(`${otherBase}/landing`);
        expect(client.jar.cookieHeader(otherBase)).toBe('one=1; two=2'); // cookies are per host, not per port
        const [form] = parseForms(page.body);
        expect(form!.fields).toEqual([['a', '1&2']]);
        await client.submit(form!, page.url);
        expect(seen.map((h) => [h.path, h['sec-fetch-site'], h['sec-fetch-dest'], h.origin ?? null])).toEqual([
          ['/start', 'none', 'document', null],
          ['/landing', 'none', 'document', null],
          ['/done', 'same-origin', 'document', otherBase],
        ]);
        expect(seen[0]!['user-agent']).toMatch(/^Mozilla\/5\.0 .*Chrome\//);
        expect(seen[0]!['sec-fetch-mode']).toBe(transport === 'http' ? 'navigate' : 'cors');
        expect(seen[2]!.cookie).toBe('one=1; two=2');
      }
      seen.length = 0;
      await new BrowserClient({ userAgent: 'UptimeRobot/2.0', transport: 'http' }).get(`${base}/start`);
      expect(seen[0]!['sec-fetch-site']).toBeUndefined(); // non-browser UA: no navigation headers
      expect(seen[0]!['user-agent']).toBe('UptimeRobot/2.0');
    } finally {
      server.close();
      other.close();
      server.closeAllConnections();
      other.closeAllConnections();
    }
  });
});

// -------------------------------------------------------------------------------------------------------------
// OTLP receiver
// -------------------------------------------------------------------------------------------------------------

/** A decoded OTLP/JSON request, read loosely in assertions. */
type OtlpJson = Record<string, any>;

describe('testkit OTLP receiver with the real JS exporters', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  const resource = resourceFromAttributes({ 'service.name': 'testkit-svc', 'service.instance.id': 'i-1' });

  function recordTelemetry(provider: BasicTracerProvider, meterProvider: MeterProvider, tag: string) {
    const tracer = provider.getTracer('testkit-tracer', '1.2.3');
    const parent = tracer.startSpan(`auth.refresh ${tag}`, {
      kind: SpanKind.SERVER,
      attributes: { 'auth.outcome': 'failure', 'auth.attempt': 2, 'auth.ratio': 0.25, 'auth.bot': false, 'auth.scopes': ['openid', 'email'] },
    });
    parent.addEvent('refresh.failed', { 'error.type': 'invalid_grant', count: 7 });
    parent.setStatus({ code: SpanStatusCode.ERROR, message: 'invalid_grant' });
    parent.end();

    const meter = meterProvider.getMeter('testkit-meter');
    const counter = meter.createCounter('auth.token.refreshes', { unit: '{refresh}' });
    counter.add(1, { 'auth.outcome': 'failure', 'auth.user_agent.class': 'browser' });
    counter.add(2, { 'auth.outcome': 'failure', 'auth.user_agent.class': 'browser' });
    counter.add(5, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    counter.add(4, { 'auth.outcome': 'failure', 'auth.user_agent.class': 'monitor' });
    const histogram = meter.createHistogram('auth.token.refresh.duration', {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
    });
    for (const v of [0.05, 0.3, 0.3, 2]) histogram.record(v, { 'auth.outcome': 'success' });
  }

  it('parses JSON traces and cumulative metrics (exporter-*-otlp-http), also gzip-compressed', async () => {
    for (const compression of [CompressionAlgorithm.NONE, CompressionAlgorithm.GZIP]) {
      receiver.reset();
      const provider = new BasicTracerProvider({
        resource,
        spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporterJson({ url: receiver.tracesUrl, compression }))],
      });
      const meterProvider = new MeterProvider({
        resource,
        readers: [
          new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporterJson({ url: receiver.metricsUrl, compression }),
            exportIntervalMillis: 60_000,
          }),
        ],
      });
      recordTelemetry(provider, meterProvider, compression);
      await provider.forceFlush();
      await meterProvider.forceFlush();
      // a second export of the same cumulative state must not double count
      await meterProvider.forceFlush();

      const span = await receiver.waitForSpan(`auth.refresh ${compression}`);
      expect(span).toMatchObject({
        kind: 2,
        kindName: 'SERVER',
        parentSpanId: '',
        status: { code: 2, message: 'invalid_grant' },
        attributes: { 'auth.outcome': 'failure', 'auth.attempt': 2, 'auth.ratio': 0.25, 'auth.bot': false, 'auth.scopes': ['openid', 'email'] },
        resource: { 'service.name': 'testkit-svc', 'service.instance.id': 'i-1' },
        scope: { name: 'testkit-tracer', version: '1.2.3' },
      });
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(span.events).toEqual([
        { name: 'refresh.failed', timeUnixNano: expect.stringMatching(/^\d{19}$/), attributes: { 'error.type': 'invalid_grant', count: 7 } },
      ]);
      expect(span.durationMs).toBeGreaterThanOrEqual(0);

      await receiver.waitFor(() => receiver.requests().filter((r) => r.path === '/v1/metrics').length >= 2);
      const points = receiver.metricPoints();
      const counterPoint = points.find((p) => p.name === 'auth.token.refreshes')!;
      expect(counterPoint).toMatchObject({ type: 'sum', unit: '{refresh}', temporality: 'cumulative', isMonotonic: true });
      expect(latestCumulative(points, 'auth.token.refreshes', { 'auth.outcome': 'failure', 'auth.user_agent.class': 'browser' })).toBe(3);
      expect(latestCumulative(points, 'auth.token.refreshes', { 'auth.outcome': 'failure' })).toBe(7);
      expect(latestCumulative(points, 'auth.token.refreshes')).toBe(12);
      const h = histogramTotals(points, 'auth.token.refresh.duration', { 'auth.outcome': 'success' });
      expect(h.count).toBe(4);
      expect(h.sum).toBeCloseTo(2.65);
      expect(h.explicitBounds).toEqual([0.1, 0.5, 1]);
      expect(h.bucketCounts).toEqual([1, 2, 0, 1]);
      expect(latestCumulative(points, 'auth.token.refresh.duration')).toBe(4);

      const reqs = receiver.requests();
      expect(reqs.every((r) => r.contentType === 'application/json' && r.status === 200)).toBe(true);
      expect(reqs.some((r) => r.contentEncoding === 'gzip')).toBe(compression === CompressionAlgorithm.GZIP);
      await provider.shutdown();
      await meterProvider.shutdown();
    }
  });

  it('parses protobuf traces and delta metrics (exporter-*-otlp-proto)', async () => {
    receiver.reset();
    const provider = new BasicTracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporterProto({ url: receiver.tracesUrl }))],
    });
    const metricExporter = new OTLPMetricExporterProto({
      url: receiver.metricsUrl,
      temporalityPreference: AggregationTemporalityPreference.DELTA,
      compression: CompressionAlgorithm.GZIP,
    }) as unknown as PushMetricExporter;
    const meterProvider = new MeterProvider({
      resource,
      readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })],
    });

    const tracer = provider.getTracer('proto-tracer');
    // explicit parent context: no global context manager is registered in this test
    const parentSpan = tracer.startSpan('parent');
    const childSpan = tracer.startSpan('child', { attributes: { big: 2 ** 40, neg: -3, s: 'x' } }, trace.setSpan(context.active(), parentSpan));
    childSpan.end();
    parentSpan.end();
    const meter = meterProvider.getMeter('proto-meter');
    const counter = meter.createCounter('auth.token.refreshes', { unit: '{refresh}' });
    const hist = meter.createHistogram('auth.token.refresh.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] } });
    counter.add(2, { 'auth.outcome': 'failure' });
    hist.record(0.2, { 'auth.outcome': 'failure' });
    await meterProvider.forceFlush();
    counter.add(3, { 'auth.outcome': 'failure' });
    hist.record(0.7, { 'auth.outcome': 'failure' });
    await meterProvider.forceFlush();
    await provider.forceFlush();

    const child = await receiver.waitForSpan('child');
    const parent = await receiver.waitForSpan('parent');
    expect(child.parentSpanId).toBe(parent.spanId);
    expect(child.traceId).toBe(parent.traceId);
    expect(child.attributes).toEqual({ big: 2 ** 40, neg: -3, s: 'x' });
    expect(child.kindName).toBe('INTERNAL');
    expect(BigInt(child.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(child.startTimeUnixNano));
    expect(child.resource['service.name']).toBe('testkit-svc');

    await receiver.waitFor(() => receiver.metricPoints().filter((p) => p.name === 'auth.token.refreshes').length >= 2);
    const points = receiver.metricPoints();
    expect(points.find((p) => p.name === 'auth.token.refreshes')).toMatchObject({ temporality: 'delta', isMonotonic: true, unit: '{refresh}' });
    expect(latestCumulative(points, 'auth.token.refreshes', { 'auth.outcome': 'failure' })).toBe(5); // sum of deltas
    expect(histogramTotals(points, 'auth.token.refresh.duration')).toEqual({
      count: 2,
      sum: expect.closeTo(0.9, 6) as unknown as number,
      bucketCounts: [0, 1, 1, 0],
      explicitBounds: [0.1, 0.5, 1],
    });
    const reqs = receiver.requests();
    expect(reqs.every((r) => r.contentType === 'application/x-protobuf' && r.status === 200)).toBe(true);
    expect(reqs.filter((r) => r.path === '/v1/metrics').every((r) => r.contentEncoding === 'gzip')).toBe(true);

    // raw() keeps the OTLP/JSON shape: camelCase, hex ids, enums as numbers, 64-bit integers as decimal strings
    const rawSpans = receiver.raw().traces.flatMap((t) => (t as OtlpJson).resourceSpans[0].scopeSpans[0].spans as OtlpJson[]);
    expect(rawSpans.find((s) => s.name === 'child')).toMatchObject({
      traceId: parent.traceId,
      parentSpanId: parent.spanId,
      kind: 1,
      startTimeUnixNano: child.startTimeUnixNano,
      attributes: expect.arrayContaining([{ key: 'big', value: { intValue: String(2 ** 40) } }]),
    });
    await provider.shutdown();
    await meterProvider.shutdown();
  });

  it('decodes protobuf logs (exporter-logs-otlp-proto) and counts their records', async () => {
    receiver.reset();
    const exporter = new OTLPLogExporterProto({ url: receiver.logsUrl });
    const loggerProvider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
    loggerProvider.getLogger('proto-logger').emit({ body: 'refresh failed', severityNumber: SeverityNumber.WARN, attributes: { attempt: 2 } });
    await loggerProvider.forceFlush();

    await receiver.waitFor(() => receiver.requests().some((r) => r.path === '/v1/logs'));
    expect(receiver.requests()).toEqual([expect.objectContaining({ path: '/v1/logs', status: 200, items: 1 })]);
    const [logs] = receiver.raw().logs as OtlpJson[];
    expect(logs!.resourceLogs[0].scopeLogs[0]).toMatchObject({
      scope: { name: 'proto-logger' },
      logRecords: [
        { body: { stringValue: 'refresh failed' }, severityNumber: SeverityNumber.WARN, attributes: [{ key: 'attempt', value: { intValue: '2' } }] },
      ],
    });
    await loggerProvider.shutdown();
  });

  it('rejects unknown content types (415) and paths (404), and can simulate an outage', async () => {
    const bad = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(bad.status).toBe(415);
    const missing = await fetch(`${receiver.url}/v1/nope`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    receiver.setResponseStatus(503);
    const down = await fetch(receiver.metricsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(down.status).toBe(503);
    receiver.setResponseStatus(null);
    const ok = await fetch(receiver.metricsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(ok.status).toBe(200);
  });

  it('forwards every accepted request byte for byte to a Collector, and counts forwarding failures without changing its reply', async () => {
    const collector = await startOtlpReceiver();
    const tee = await startOtlpReceiver({ forwardTo: collector.url + '/' });
    try {
      const body = gzipSync(
        JSON.stringify({
          resourceSpans: [
            {
              resource: { attributes: [] },
              scopeSpans: [
                {
                  scope: { name: 's' },
                  spans: [
                    { traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', name: 'forwarded', kind: 1, startTimeUnixNano: '1', endTimeUnixNano: '2' },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const sent = await fetch(tee.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
      expect(sent.status).toBe(200);
      expect(await tee.forwardStatus()).toEqual({ sent: 1, failed: 0 });
      expect(collector.spans().map((s) => s.name)).toEqual(['forwarded']);
      expect(collector.requests()[0]).toMatchObject({ contentEncoding: 'gzip', bytes: body.length });

      collector.setResponseStatus(503);
      const again = await fetch(tee.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
      expect(again.status).toBe(200);
      expect(await tee.forwardStatus()).toMatchObject({ sent: 1, failed: 1, lastError: 'HTTP 503' });
    } finally {
      await tee.stop();
      await collector.stop();
    }
  });

  it('converts OTLP AnyValues (intValue as string or number, arrays, kvlists, bytes)', () => {
    expect(
      keyValues([
        { key: 's', value: { stringValue: 'x' } },
        { key: 'i', value: { intValue: '9007199254740' } },
        { key: 'j', value: { intValue: 7 } },
        { key: 'd', value: { doubleValue: 0.5 } },
        { key: 'b', value: { boolValue: false } },
        { key: 'a', value: { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'two' }] } } },
        { key: 'kv', value: { kvlistValue: { values: [{ key: 'nested', value: { boolValue: true } }] } } },
        { key: 'raw', value: { bytesValue: 'AQI=' } },
        { key: 'empty', value: {} },
      ]),
    ).toEqual({ s: 'x', i: 9007199254740, j: 7, d: 0.5, b: false, a: [1, 'two'], kv: { nested: true }, raw: 'AQI=', empty: null });
    expect(anyValue(undefined)).toBeNull();
  });

  it('latestCumulative: newest point per series for cumulative, sum for delta, intValue strings, absent-attribute filter', () => {
    const base = { description: '', unit: '', resource: { 'service.name': 's' }, scope: { name: 'm' }, startTimeUnixNano: '1' };
    const p = (over: Partial<ReceivedMetricPoint>): ReceivedMetricPoint =>
      ({ ...base, name: 'c', type: 'sum', attributes: {}, timeUnixNano: '10', exportIndex: 0, ...over }) as ReceivedMetricPoint;
    const points = [
      p({ temporality: 'cumulative', value: 1, attributes: { k: 'a' }, timeUnixNano: '10', exportIndex: 0 }),
      p({ temporality: 'cumulative', value: 4, attributes: { k: 'a' }, timeUnixNano: '30', exportIndex: 1 }),
      p({ temporality: 'cumulative', value: 3, attributes: { k: 'a' }, timeUnixNano: '20', exportIndex: 2 }), // late, older
      p({ temporality: 'cumulative', value: 10, attributes: { k: 'a' }, resource: { 'service.name': 's2' }, timeUnixNano: '5' }),
      p({ temporality: 'cumulative', value: 2, attributes: { k: 'b', extra: true }, timeUnixNano: '10' }),
      p({ name: 'd', temporality: 'delta', value: 2, attributes: { k: 'a' } }),
      p({ name: 'd', temporality: 'delta', value: 5, attributes: { k: 'a' } }),
    ];
    expect(latestCumulative(points, 'c', { k: 'a' })).toBe(14); // 4 (s) + 10 (s2)
    expect(latestCumulative(points, 'c', { extra: undefined })).toBe(14);
    expect(latestCumulative(points, 'c', (a) => a.extra === true)).toBe(2);
    expect(latestCumulative(points, 'd')).toBe(7);
    expect(latestCumulative(points, 'missing')).toBe(0);
  });
});

describe('testkit round-robin load balancer', () => {
  it('sends each request to the next upstream, keeps the Host header and every Set-Cookie, and streams bodies both ways', async () => {
    const seen: { upstream: number; host: string | undefined; body: string }[] = [];
    const upstreams = await Promise.all(
      [0, 1, 2].map(
        (upstream) =>
          new Promise<Server>((resolve) => {
            const server = createServer((req: IncomingMessage, res: ServerResponse) => {
              let body = '';
              req.on('data', (c: Buffer) => (body += c.toString()));
              req.on('end', () => {
                seen.push({ upstream, host: req.headers.host, body });
                res.writeHead(200, [
                  ['set-cookie', `a=${upstream}`],
                  ['set-cookie', 'b=2'],
                  ['content-type', 'text/plain'],
                ]);
                res.end(`from ${upstream}`);
              });
            });
            server.listen(0, '127.0.0.1', () => resolve(server));
          }),
      ),
    );
    const balancer = await startRoundRobinProxy(upstreams.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`));
    try {
      const answers = [];
      for (let i = 0; i < 6; i++) {
        const response = await fetch(`${balancer.url}/login?n=${i}`, { method: 'POST', body: `request ${i}` });
        answers.push({ text: await response.text(), cookies: response.headers.getSetCookie() });
      }
      expect(answers.map((a) => a.text)).toEqual(['from 0', 'from 1', 'from 2', 'from 0', 'from 1', 'from 2']);
      expect(answers[4]!.cookies).toEqual(['a=1', 'b=2']);
      expect(seen.map((s) => s.body)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `request ${i}`));
      // The apps see the balancer's address, so the redirects they build come back through it.
      expect(new Set(seen.map((s) => s.host))).toEqual(new Set([new URL(balancer.url).host]));
      expect(balancer.counts()).toEqual([2, 2, 2]);
    } finally {
      await balancer.stop();
      for (const server of upstreams) server.close();
    }
  });
});
