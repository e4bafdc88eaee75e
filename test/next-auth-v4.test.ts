/**
 * NextAuth v4 (4.24.x) through its real App Router route handler and the Server Component form of
 * `getServerSession()`, against the loopback oidc-provider with rotating refresh tokens and short
 * access-token lifetimes. Two app configurations: the README's (docs/snippets/next-auth-options.ts,
 * the exchange wrapped with traceTokenRefresh) and the common rotation's inline refresh with only
 * instrumentNextAuth, whose `fetch` exchanges with the token endpoint are recorded on the wire.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthOptions } from 'next-auth';
import type { JWT } from 'next-auth/jwt';
import { CHROME_USER_AGENT, startIdp, type Idp } from '../testkit/index.js';
import { instrumentNextAuth } from '../src/next-auth.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { TestTelemetry, spanText } from './support/telemetry.js';
import { DEFAULT_RACE_WINDOW_SECONDS } from '../src/core/refresh/refresh-ledger.js';
import { GOOGLEBOT, inNextRequest, readSession, sessionCookieOf, signIn, sleep, startNextAuthApp, type NextAuthApp } from './support/next-auth-harness.js';

const telemetry = new TestTelemetry();
const SECRET = 'next-auth-v4-test-secret-of-at-least-32-characters';
let idp: Idp;
let tokenEndpoint = '';
let snippetOptions: AuthOptions;
let inlineOptions: AuthOptions;
let snippetApp: NextAuthApp;
let inlineApp: NextAuthApp;
let getServerSession: (options: AuthOptions) => Promise<Record<string, unknown> | null>;

/** The common rotation's jwt callback with the refresh inline (fetch instead of axios): no traceTokenRefresh. */
function inlineRotationOptions(): AuthOptions {
  return instrumentNextAuth({
    secret: SECRET,
    providers: snippetOptions.providers,
    callbacks: {
      async jwt({ token, account }) {
        if (account) {
          return { ...token, accessToken: account.access_token, accessTokenExpiry: (account.expires_at ?? 0) * 1000, refreshToken: account.refresh_token };
        }
        if ((token.accessTokenExpiry as number) > Date.now()) return token;
        try {
          const response = await fetch(tokenEndpoint, {
            method: 'POST',
            body: new URLSearchParams({
              grant_type: 'refresh_token',
              refresh_token: token.refreshToken as string,
              client_id: idp.clientId,
              client_secret: idp.clientSecret,
            }),
          });
          const body = (await response.json()) as { access_token: string; expires_in: number; refresh_token?: string };
          if (!response.ok) throw body;
          return {
            ...token,
            accessToken: body.access_token,
            accessTokenExpiry: Date.now() + body.expires_in * 1000,
            refreshToken: body.refresh_token ?? token.refreshToken,
          };
        } catch {
          return { ...token, error: 'RefreshAccessTokenError' } as JWT;
        }
      },
      async session({ session, token }) {
        return { ...session, error: token.error };
      },
    },
  });
}

beforeAll(async () => {
  telemetry.install();
  idp = await startIdp({ accessTokenTtl: 3600 });
  const discovery = (await (await fetch(idp.discoveryUrl)).json()) as { token_endpoint: string };
  tokenEndpoint = discovery.token_endpoint;
  Object.assign(process.env, {
    OIDC_ISSUER: idp.url,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    REFRESH_MARGIN_MS: '0',
    NEXTAUTH_SECRET: SECRET,
    // Two apps on two ports: each derives its URL from the request, as behind a proxy.
    AUTH_TRUST_HOST: 'true',
  });
  ({ authOptions: snippetOptions } = await import('../docs/snippets/next-auth-options.js'));
  expect(`${idp.url}/token`).toBe(tokenEndpoint); // the snippet's token URL
  inlineOptions = inlineRotationOptions();
  const NextAuth = (await import('next-auth')).default as unknown as (
    options: AuthOptions,
  ) => (req: Request, ctx: { params: { nextauth: string[] } }) => Promise<Response>;
  ({ getServerSession } = (await import('next-auth/next')) as unknown as { getServerSession: typeof getServerSession });
  const snippetHandler = NextAuth(snippetOptions);
  const inlineHandler = NextAuth(inlineOptions);
  snippetApp = await startNextAuthApp(
    (req, path) => snippetHandler(req, { params: { nextauth: path } }),
    (url) => idp.registerRedirectUris(url).then(() => undefined),
  );
  inlineApp = await startNextAuthApp(
    (req, path) => inlineHandler(req, { params: { nextauth: path } }),
    (url) => idp.registerRedirectUris(url).then(() => undefined),
  );
});

afterAll(async () => {
  await snippetApp?.stop();
  await inlineApp?.stop();
  await idp?.stop();
});

/** Signs in with access tokens that expire in a second, then lets later tokens live an hour. */
async function signInWithExpiringToken(app: NextAuthApp, userAgent?: string) {
  idp.setAccessTokenTtl(1);
  await idp.endSessions();
  const client = await signIn(app.url, { userAgent });
  idp.setAccessTokenTtl(3600);
  await sleep(1100);
  return client;
}

/** `getServerSession(authOptions)` as a Server Component calls it: Next's request store, read-only cookies. */
function serverComponentSession(app: NextAuthApp, options: AuthOptions, cookie: string, userAgent = CHROME_USER_AGENT) {
  const host = new URL(app.url).host;
  return inNextRequest({ cookie, 'user-agent': userAgent, host, 'x-forwarded-proto': 'http' }, () => getServerSession(options));
}

const refreshes = (filter: Record<string, unknown>) => telemetry.count(METRICS.tokenRefreshes.name, { 'auth.sdk': 'next-auth-v4', ...filter });
const unpersisted = (filter: Record<string, unknown> = {}) => telemetry.count(METRICS.refreshUnpersisted.name, { 'auth.sdk': 'next-auth-v4', ...filter });
const sessionReads = (filter: Record<string, unknown>) => telemetry.count(METRICS.sessionReads.name, { 'auth.sdk': 'next-auth-v4', ...filter });

describe.each([
  ['traced exchange (README snippet)', () => snippetApp, () => snippetOptions, 'invalid_grant'],
  ['common rotation inline, instrumentNextAuth only', () => inlineApp, () => inlineOptions, 'invalid_grant'],
] as const)('NextAuth v4, %s', (_name, app, options, reuseCode) => {
  it('records a refresh through the route handler, persisted: later reads neither refresh nor count a lost rotation', async () => {
    const client = await signInWithExpiringToken(app());
    const before = { success: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }), lost: await unpersisted() };
    const durationBefore = (await telemetry.points(METRICS.tokenRefreshDuration.name, { 'auth.sdk': 'next-auth-v4' })).reduce(
      (sum, p) => sum + (typeof p.value === 'number' ? 0 : (p.value.sum ?? 0)),
      0,
    );
    telemetry.reset();

    const first = await readSession(client, app().url);
    expect(first.error).toBeUndefined();
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before.success + 1);
    const [span] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
    expect(span?.attributes).toMatchObject({ 'auth.sdk': 'next-auth-v4', 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' });
    // The span covers the exchange with the IdP, not just the moment the refresh was recognised.
    const durationMs = span!.duration[0] * 1000 + span!.duration[1] / 1e6;
    expect(durationMs).toBeGreaterThan(1);
    const durationAfter = (await telemetry.points(METRICS.tokenRefreshDuration.name, { 'auth.sdk': 'next-auth-v4' })).reduce(
      (sum, p) => sum + (typeof p.value === 'number' ? 0 : (p.value.sum ?? 0)),
      0,
    );
    expect(durationAfter - durationBefore).toBeGreaterThan(0.001);

    const afterFirst = await refreshes({});
    const second = await readSession(client, app().url);
    expect(second.error).toBeUndefined();
    expect(await refreshes({})).toBe(afterFirst);
    expect(telemetry.finishedSpans(SPANS.tokenRefresh.name)).toHaveLength(1);
    expect(await unpersisted()).toBe(before.lost);
    // Session reads carry the age since sign-in (the stamped createdAt), not since the last write.
    const reads = telemetry.finishedSpans(SPANS.sessionRead.name);
    expect(reads.length).toBe(2);
    for (const read of reads) {
      expect(read.attributes['auth.outcome']).toBe('found');
      expect(read.attributes['auth.session.age']).toBeGreaterThanOrEqual(1);
      expect(read.attributes['auth.session.age']).toBeLessThan(60);
    }
  });

  it('counts the lost rotation of a Server Component: the second refresh reuses the rotated token and is an unpersisted refresh', async () => {
    const client = await signInWithExpiringToken(app());
    const cookie = client.jar.cookieHeader(app().url);
    const before = {
      lost: await unpersisted({ 'auth.refresh.unpersisted_reason': 'token_reused', 'auth.error.code': reuseCode, 'auth.user_agent.class': 'browser' }),
      failures: await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': reuseCode }),
    };
    const idpFailuresBefore = idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length;
    telemetry.reset();

    // First render: the refresh succeeds, but a Server Component cannot write the new cookie.
    const first = await serverComponentSession(app(), options(), cookie);
    expect(first?.error).toBeUndefined();
    expect(await unpersisted({ 'auth.refresh.unpersisted_reason': 'token_reused', 'auth.error.code': reuseCode, 'auth.user_agent.class': 'browser' })).toBe(
      before.lost,
    );
    // Second render with the same old cookie, past the race window: the IdP sees the rotated refresh token again.
    await sleep(DEFAULT_RACE_WINDOW_SECONDS * 1000 + 100);
    const second = await serverComponentSession(app(), options(), cookie);
    expect(second?.error).toBe('RefreshAccessTokenError');
    expect(idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length).toBe(idpFailuresBefore + 1);

    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': reuseCode })).toBe(before.failures + 1);
    expect(await unpersisted({ 'auth.refresh.unpersisted_reason': 'token_reused', 'auth.error.code': reuseCode, 'auth.user_agent.class': 'browser' })).toBe(
      before.lost + 1,
    );
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).find((s) => s.attributes['auth.outcome'] === 'failure');
    expect(failed?.events.map((e) => e.name)).toContain('auth.refresh.unpersisted');
    // Nothing secret left the process: no token, cookie or email in any span.
    const exported = spanText(telemetry.finishedSpans());
    const sessionCookie = sessionCookieOf(client.jar).value;
    expect(exported).not.toContain(sessionCookie.slice(0, 40));
    expect(exported).not.toContain('alice@example.com');
    expect(exported).not.toMatch(/"[A-Za-z0-9_-]{43}"/); // oidc-provider's opaque tokens
  });

  it('records a failed refresh after the IdP revoked the grant, without calling it a lost rotation', async () => {
    const client = await signInWithExpiringToken(app());
    const before = { failures: await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': reuseCode }), lost: await unpersisted() };
    await idp.revokeRefreshTokens('alice');
    const session = await readSession(client, app().url);
    expect(session.error).toBe('RefreshAccessTokenError');
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': reuseCode })).toBe(before.failures + 1);
    expect(await unpersisted()).toBe(before.lost);
  });

  it('counts every failed exchange the IdP saw, once each, over repeated polls after the token already carries an error', async () => {
    const client = await signInWithExpiringToken(app());
    await idp.revokeRefreshTokens('alice');
    const idpFailures = () => idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === 'failure').length;
    const before = {
      idp: idpFailures(),
      plugin: await refreshes({ 'auth.outcome': 'failure' }),
      exact: await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' }),
    };
    for (let poll = 0; poll < 4; poll++) expect((await readSession(client, app().url)).error).toBe('RefreshAccessTokenError');
    const seenByIdp = idpFailures() - before.idp;
    // The rotation retries on every read once the access token has expired: four reads, four exchanges.
    expect(seenByIdp).toBe(4);
    expect((await refreshes({ 'auth.outcome': 'failure' })) - before.plugin).toBe(seenByIdp);
    expect((await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' })) - before.exact).toBe(
      seenByIdp,
    );
    // Traced (a thrown token-endpoint body) or seen on the wire: the IdP's refusal has one error.type.
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).filter((s) => s.attributes['auth.outcome'] === 'failure');
    expect(failed.at(-1)?.attributes['error.type']).toBe('OAuth2Error');
  });

  it('tells a crawler from a browser on the same session route', async () => {
    const client = await signInWithExpiringToken(app(), GOOGLEBOT);
    const before = {
      botRefresh: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'bot', 'user_agent.synthetic.type': 'bot' }),
      botReads: await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'bot' }),
      browserReads: await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' }),
    };
    await readSession(client, app().url, GOOGLEBOT);
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'bot', 'user_agent.synthetic.type': 'bot' })).toBe(before.botRefresh + 1);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'bot' })).toBe(before.botReads + 1);
    await readSession(client, app().url, CHROME_USER_AGENT);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before.browserReads + 1);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'bot' })).toBe(before.botReads + 1);
  });
});

describe('NextAuth v4 logger and events', () => {
  it('records JWT_SESSION_ERROR from a tampered session cookie as an invalid session read, and keeps the console output', async () => {
    const client = await signIn(snippetApp.url);
    const { name, value } = sessionCookieOf(client.jar);
    const middle = Math.floor(value.length / 2);
    client.jar.set(name, value.slice(0, middle) + (value[middle] === 'A' ? 'B' : 'A') + value.slice(middle + 1));
    const before = await sessionReads({ 'auth.outcome': 'invalid', 'auth.error.code': 'JWT_SESSION_ERROR', 'auth.user_agent.class': 'browser' });
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const session = await readSession(client, snippetApp.url);
      expect(session).toEqual({});
      await vi.waitFor(async () =>
        expect(await sessionReads({ 'auth.outcome': 'invalid', 'auth.error.code': 'JWT_SESSION_ERROR', 'auth.user_agent.class': 'browser' })).toBe(before + 1),
      );
      // NextAuth's own message still reaches the console, as without the plugin.
      expect(consoleError.mock.calls.some((call) => String(call[0]).includes('[next-auth][error][JWT_SESSION_ERROR]'))).toBe(true);
    } finally {
      consoleError.mockRestore();
    }
    const [read] = await telemetry.points(METRICS.sessionReads.name, { 'auth.outcome': 'invalid', 'auth.error.code': 'JWT_SESSION_ERROR' });
    expect(['undecryptable', 'malformed']).toContain(read?.attributes['auth.session.invalid_reason']);
    // The cookie was cleared, as NextAuth does without the plugin.
    expect(client.jar.get(name)).toBeUndefined();
  });

  it("calls the user's own logger and events with the original arguments and keeps their return values", async () => {
    const seen: unknown[][] = [];
    const signInEvents: unknown[] = [];
    const options = instrumentNextAuth({
      secret: SECRET,
      providers: snippetOptions.providers,
      logger: {
        error: (...args: unknown[]) => {
          seen.push(args);
        },
        warn: () => undefined,
      },
      events: { signIn: (message: unknown) => void signInEvents.push(message) },
      theme: { colorScheme: 'light' },
    } as AuthOptions);
    expect(options.theme).toEqual({ colorScheme: 'light' });
    expect(options.providers).toBe(snippetOptions.providers);
    const NextAuth = (await import('next-auth')).default as unknown as (
      o: AuthOptions,
    ) => (req: Request, ctx: { params: { nextauth: string[] } }) => Promise<Response>;
    const handler = NextAuth(options);
    const app = await startNextAuthApp(
      (req, path) => handler(req, { params: { nextauth: path } }),
      (url) => idp.registerRedirectUris(url).then(() => undefined),
    );
    try {
      const before = await telemetry.count(METRICS.handlerRequests.name, {
        'auth.sdk': 'next-auth-v4',
        'auth.handler.kind': 'callback',
        'auth.outcome': 'success',
      });
      const client = await signIn(app.url);
      expect(signInEvents).toHaveLength(1);
      expect((signInEvents[0] as { account?: { provider?: string } }).account?.provider).toBe('oidc');
      await vi.waitFor(async () =>
        expect(
          await telemetry.count(METRICS.handlerRequests.name, { 'auth.sdk': 'next-auth-v4', 'auth.handler.kind': 'callback', 'auth.outcome': 'success' }),
        ).toBe(before + 1),
      );
      const { name, value } = sessionCookieOf(client.jar);
      client.jar.set(name, `${value.slice(0, 10)}x${value.slice(11)}`);
      await readSession(client, app.url);
      await vi.waitFor(() => expect(seen.length).toBe(1));
      expect(seen[0]![0]).toBe('JWT_SESSION_ERROR');
      expect(seen[0]![1]).toBeInstanceOf(Error);
    } finally {
      await app.stop();
    }
  });
});
