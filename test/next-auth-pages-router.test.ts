/**
 * NextAuth v4 on the Pages Router, as the common rotation writes it: `pages/api/auth/[...nextauth].js`
 * with `const Auth = (req, res) => NextAuth(req, res, options)`, a client polling `/api/auth/session`
 * (`SessionProvider refetchInterval`) and the refresh inside the `jwt` callback during that poll;
 * `getServerSession(req, res, options)` in `getServerSideProps`. Served through Next's own API
 * resolver on real Node `IncomingMessage`/`ServerResponse` objects, against the loopback IdP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AuthOptions } from 'next-auth';
import type { JWT } from 'next-auth/jwt';
import { CHROME_USER_AGENT, startIdp, type Idp } from '../testkit/index.js';
import { instrumentNextAuth, withRequestTelemetry } from '../src/next-auth.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { SYNTHETICS_USER_AGENT } from '../scripts/demo/traffic.js';
import { TestTelemetry } from './support/telemetry.js';
import { readSession, signIn, sleep } from './support/next-auth-harness.js';
import { startPagesApp, type PagesApp } from './support/pages-router.js';

const telemetry = new TestTelemetry();
const SECRET = 'next-auth-pages-router-test-secret-of-32-characters';
const ROUTE = '/api/auth/[...nextauth]';
type ApiHandler = (req: IncomingMessage, res: ServerResponse) => unknown;
type NextAuthApi = (req: IncomingMessage, res: ServerResponse, options: AuthOptions) => Promise<unknown>;
type PagesGetServerSession = (req: IncomingMessage, res: ServerResponse, options: AuthOptions) => Promise<Record<string, unknown> | null>;

let idp: Idp;
let tokenEndpoint = '';
let NextAuth: NextAuthApi;
let getServerSession: PagesGetServerSession;
let options: AuthOptions;
let wrappedApp: PagesApp;
let bareApp: PagesApp;
let snippetApp: PagesApp;

/** A form POST through `node:http`, as axios sends it on Node (not through `fetch`); rejects on a non-2xx answer, as axios does. */
function httpPost(url: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        if ((res.statusCode ?? 500) >= 400) reject(Object.assign(new Error(`Request failed with status code ${res.statusCode}`), { response: { data: body } }));
        else resolve(body);
      });
    });
    req.on('error', reject);
    req.end(new URLSearchParams(form).toString());
  });
}

/** The common rotation's `[...nextauth].js` callbacks (axios's POST to its backend), with an OpenID provider's token endpoint as the backend. */
function rotationOptions(providers: AuthOptions['providers']): AuthOptions {
  async function refreshAccessToken(tokenObject: JWT): Promise<JWT> {
    try {
      const form = { grant_type: 'refresh_token', refresh_token: tokenObject.refreshToken as string, client_id: idp.clientId, client_secret: idp.clientSecret };
      const data = (await httpPost(tokenEndpoint, form)) as { access_token: string; expires_in: number; refresh_token?: string };
      return { ...tokenObject, accessToken: data.access_token, accessTokenExpiry: Date.now() + data.expires_in * 1000, refreshToken: data.refresh_token };
    } catch {
      return { ...tokenObject, error: 'RefreshAccessTokenError' };
    }
  }
  return instrumentNextAuth({
    secret: SECRET,
    providers,
    callbacks: {
      jwt: async ({ token, account }) => {
        if (account) {
          token.accessToken = account.access_token;
          token.accessTokenExpiry = (account.expires_at ?? 0) * 1000;
          token.refreshToken = account.refresh_token;
        }
        const shouldRefreshTime = Math.round((token.accessTokenExpiry as number) - Date.now());
        if (shouldRefreshTime > 0) return Promise.resolve(token);
        token = refreshAccessToken(token) as unknown as JWT;
        return Promise.resolve(token);
      },
      session: async ({ session, token }) => {
        Object.assign(session, { accessTokenExpiry: token.accessTokenExpiry, error: token.error });
        return Promise.resolve(session);
      },
    },
  });
}

const getServerSideProps = withRequestTelemetry(async ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => ({
  props: { session: await getServerSession(req, res, options) },
}));

beforeAll(async () => {
  telemetry.install();
  idp = await startIdp({ accessTokenTtl: 3600 });
  tokenEndpoint = ((await (await fetch(idp.discoveryUrl)).json()) as { token_endpoint: string }).token_endpoint;
  Object.assign(process.env, {
    OIDC_ISSUER: idp.url,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    REFRESH_MARGIN_MS: '0',
    NEXTAUTH_SECRET: SECRET,
    AUTH_TRUST_HOST: 'true',
  });
  NextAuth = (await import('next-auth')).default as unknown as NextAuthApi;
  ({ getServerSession } = (await import('next-auth/next')) as unknown as { getServerSession: PagesGetServerSession });
  const { authOptions } = await import('../docs/snippets/next-auth-options.js');
  options = rotationOptions(authOptions.providers);
  const register = (url: string) => idp.registerRedirectUris(url).then(() => undefined);
  // The route file with the plugin's one line, and without it.
  const Auth = withRequestTelemetry((req: IncomingMessage, res: ServerResponse) => NextAuth(req, res, options), { route: ROUTE });
  const BareAuth: ApiHandler = (req, res) => NextAuth(req, res, options);
  wrappedApp = await startPagesApp(Auth, getServerSideProps, register);
  bareApp = await startPagesApp(BareAuth, undefined, register);
  const snippetRoute = (await import('../docs/snippets/pages/api/auth/[...nextauth].js')).default as unknown as ApiHandler;
  snippetApp = await startPagesApp(snippetRoute, undefined, register);
});

afterAll(async () => {
  await wrappedApp?.stop();
  await bareApp?.stop();
  await snippetApp?.stop();
  await idp?.stop();
});

/** Signs in with an access token that expires in a second; later tokens live an hour. */
async function signInWithExpiringToken(app: PagesApp, userAgent = CHROME_USER_AGENT) {
  idp.setAccessTokenTtl(1);
  await idp.endSessions();
  const client = await signIn(app.url, { userAgent });
  idp.setAccessTokenTtl(3600);
  await sleep(1100);
  return client;
}

const refreshes = (filter: Record<string, unknown>) => telemetry.count(METRICS.tokenRefreshes.name, { 'auth.sdk': 'next-auth-v4', ...filter });
const sessionReads = (filter: Record<string, unknown>) => telemetry.count(METRICS.sessionReads.name, { 'auth.sdk': 'next-auth-v4', ...filter });
const handlerRuns = (filter: Record<string, unknown>) => telemetry.count(METRICS.handlerRequests.name, { 'auth.sdk': 'next-auth-v4', ...filter });

describe('NextAuth v4 Pages Router API route wrapped with withRequestTelemetry', () => {
  it("classes a browser's session poll, its jwt-callback refresh and the sign-in as browser", async () => {
    const signIns = await handlerRuns({ 'auth.handler.kind': 'callback', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    const client = await signInWithExpiringToken(wrappedApp);
    expect(await handlerRuns({ 'auth.handler.kind': 'callback', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(signIns + 1);
    const before = {
      success: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }),
      unknown: await refreshes({ 'auth.user_agent.class': 'unknown' }),
      reads: await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' }),
    };
    telemetry.reset();
    const session = await readSession(client, wrappedApp.url);
    expect(session.error).toBeUndefined();
    expect(session.accessTokenExpiry as number).toBeGreaterThan(Date.now() + 60_000);
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser', 'http.route': ROUTE })).toBe(before.success + 1);
    expect(await refreshes({ 'auth.user_agent.class': 'unknown' })).toBe(before.unknown);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser', 'http.route': ROUTE })).toBe(before.reads + 1);
    const [span] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
    expect(span?.attributes).toMatchObject({ 'auth.sdk': 'next-auth-v4', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser', 'http.route': ROUTE });
  });

  it('records failing refreshes during the poll as browser failures with RefreshAccessTokenError', async () => {
    const client = await signInWithExpiringToken(wrappedApp);
    const failures = () => refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'RefreshAccessTokenError', 'auth.user_agent.class': 'browser' });
    const before = await failures();
    await idp.revokeRefreshTokens('alice');
    const session = await readSession(client, wrappedApp.url);
    expect(session.error).toBe('RefreshAccessTokenError');
    expect(await failures()).toBe(before + 1);
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).filter((s) => s.attributes['auth.outcome'] === 'failure');
    expect(failed.at(-1)?.attributes['auth.user_agent.class']).toBe('browser');
  });

  it('classes a Datadog Synthetics probe of the same route as monitor', async () => {
    const client = await signInWithExpiringToken(wrappedApp, SYNTHETICS_USER_AGENT);
    const before = {
      monitor: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'monitor' }),
      browser: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }),
      reads: await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'monitor' }),
    };
    await readSession(client, wrappedApp.url, SYNTHETICS_USER_AGENT);
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'monitor' })).toBe(before.monitor + 1);
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before.browser);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'monitor' })).toBe(before.reads + 1);
  });

  it('negative control: the same route without the wrapper records the refresh as unknown', async () => {
    const client = await signInWithExpiringToken(bareApp);
    const before = {
      unknown: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'unknown' }),
      browser: await refreshes({ 'auth.user_agent.class': 'browser' }),
    };
    const session = await readSession(client, bareApp.url);
    expect(session.error).toBeUndefined();
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'unknown' })).toBe(before.unknown + 1);
    expect(await refreshes({ 'auth.user_agent.class': 'browser' })).toBe(before.browser);
  });

  it('the README route file (docs/snippets) classes its traced refresh as browser with the IdP code', async () => {
    const client = await signInWithExpiringToken(snippetApp);
    const success = await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    expect((await readSession(client, snippetApp.url)).error).toBeUndefined();
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(success + 1);
    const failures = await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' });
    await idp.revokeRefreshTokens('alice');
    const client2 = await signInWithExpiringToken(snippetApp);
    await idp.revokeRefreshTokens('alice');
    expect((await readSession(client2, snippetApp.url)).error).toBe('RefreshAccessTokenError');
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' })).toBe(failures + 1);
  });
});

describe('getServerSession(req, res, options) in a wrapped getServerSideProps', () => {
  it('classes the session read and the refresh it makes from the page request', async () => {
    const client = await signInWithExpiringToken(wrappedApp);
    const before = {
      success: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }),
      reads: await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' }),
      unknown: await sessionReads({ 'auth.user_agent.class': 'unknown' }),
    };
    const page = await client.get(new URL('/ssr', wrappedApp.url));
    expect(page.status).toBe(200);
    const { session } = JSON.parse(page.body) as { session: Record<string, unknown> | null };
    expect(session?.error).toBeUndefined();
    expect((session?.user as { name?: string } | undefined)?.name).toBeTruthy();
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before.success + 1);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before.reads + 1);
    expect(await sessionReads({ 'auth.user_agent.class': 'unknown' })).toBe(before.unknown);
  });
});
