/**
 * Auth.js v5 (next-auth 5.0.0-beta, installed as `next-auth-v5`) through `NextAuth(config).handlers`
 * and the Server Component form of `auth()`, against the loopback oidc-provider with rotating
 * refresh tokens. The configuration is the README's (docs/snippets/authjs-v5-config.ts): the
 * Auth.js guide's inline rotation, recognised by instrumentNextAuth from the token alone.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CHROME_USER_AGENT, startIdp, type Idp } from '../testkit/index.js';
import { instrumentNextAuth } from '../src/next-auth.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { TestTelemetry, spanText } from './support/telemetry.js';
import { DEFAULT_RACE_WINDOW_SECONDS } from '../src/core/refresh/refresh-ledger.js';
import { GOOGLEBOT, inNextRequest, readSession, sessionCookieOf, signIn, sleep, startNextAuthApp, type NextAuthApp } from './support/next-auth-harness.js';

type Handler = (req: Request) => Promise<Response>;
type NextAuthResult = { handlers: { GET: Handler; POST: Handler }; auth: (...args: unknown[]) => Promise<Record<string, unknown> | null> };

const telemetry = new TestTelemetry();
const SECRET = 'authjs-v5-test-secret-of-at-least-32-characters';
let idp: Idp;
let authConfig: object;
let NextAuth: (config: unknown) => NextAuthResult;
let nextAuth: NextAuthResult;
let app: NextAuthApp;

beforeAll(async () => {
  telemetry.install();
  idp = await startIdp({ accessTokenTtl: 3600 });
  Object.assign(process.env, {
    AUTH_OIDC_ISSUER: idp.url,
    AUTH_OIDC_ID: idp.clientId,
    AUTH_OIDC_SECRET: idp.clientSecret,
    AUTH_SECRET: SECRET,
    AUTH_TRUST_HOST: 'true',
  });
  ({ authConfig } = await import('../docs/snippets/authjs-v5-config.js'));
  NextAuth = (await import('next-auth-v5')).default as unknown as typeof NextAuth;
  nextAuth = NextAuth(authConfig);
  app = await startNextAuthApp(
    (_req, _path, req) => (req.method === 'POST' ? nextAuth.handlers.POST(req) : nextAuth.handlers.GET(req)),
    (url) => idp.registerRedirectUris(url).then(() => undefined),
  );
});

afterAll(async () => {
  await app?.stop();
  await idp?.stop();
});

async function signInWithExpiringToken(url: string, userAgent?: string) {
  idp.setAccessTokenTtl(1);
  await idp.endSessions();
  const client = await signIn(url, { userAgent });
  idp.setAccessTokenTtl(3600);
  await sleep(1100);
  return client;
}

/** `auth()` as a Server Component calls it: Next's request store, read-only cookies. */
function serverComponentAuth(cookie: string, userAgent = CHROME_USER_AGENT) {
  return inNextRequest({ cookie, 'user-agent': userAgent, host: new URL(app.url).host, 'x-forwarded-proto': 'http' }, () => nextAuth.auth());
}

const refreshes = (filter: Record<string, unknown>) => telemetry.count(METRICS.tokenRefreshes.name, { 'auth.sdk': 'authjs-v5', ...filter });
const unpersisted = (filter: Record<string, unknown> = {}) => telemetry.count(METRICS.refreshUnpersisted.name, { 'auth.sdk': 'authjs-v5', ...filter });
const sessionReads = (filter: Record<string, unknown>) => telemetry.count(METRICS.sessionReads.name, { 'auth.sdk': 'authjs-v5', ...filter });

describe('Auth.js v5', () => {
  it('records a refresh through the route handler, persisted: the next read neither refreshes nor counts a lost rotation', async () => {
    const client = await signInWithExpiringToken(app.url);
    const before = { success: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }), lost: await unpersisted() };
    telemetry.reset();
    expect((await readSession(client, app.url)).error).toBeUndefined();
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before.success + 1);
    const afterFirst = await refreshes({});
    expect((await readSession(client, app.url)).error).toBeUndefined();
    expect(await refreshes({})).toBe(afterFirst);
    expect(await unpersisted()).toBe(before.lost);
    const [span] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
    expect(span?.attributes).toMatchObject({ 'auth.sdk': 'authjs-v5', 'auth.outcome': 'success' });
    expect(span!.duration[0] * 1000 + span!.duration[1] / 1e6).toBeGreaterThan(1);
    const reads = telemetry.finishedSpans(SPANS.sessionRead.name);
    expect(reads.map((r) => r.attributes['auth.outcome'])).toEqual(['found', 'found']);
    expect(reads[1]!.attributes['auth.session.age']).toBeGreaterThanOrEqual(1);
  });

  it("counts the lost rotation of auth() in a Server Component as token_reused with the IdP's invalid_grant", async () => {
    const client = await signInWithExpiringToken(app.url);
    const cookie = client.jar.cookieHeader(app.url);
    const filter = { 'auth.refresh.unpersisted_reason': 'token_reused', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' };
    const before = { lost: await unpersisted(filter), failures: await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant' }) };
    const invalidGrants = idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length;

    const first = await serverComponentAuth(cookie);
    expect(first?.error).toBeUndefined();
    expect(await unpersisted(filter)).toBe(before.lost);
    // Past the race window: a later visit, not a second refresh at the same moment.
    await sleep(DEFAULT_RACE_WINDOW_SECONDS * 1000 + 100);
    const second = await serverComponentAuth(cookie);
    expect(second?.error).toBe('RefreshTokenError');
    expect(idp.tokenRequests().filter((r) => r.error === 'invalid_grant').length).toBe(invalidGrants + 1);
    expect(await refreshes({ 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant' })).toBe(before.failures + 1);
    expect(await unpersisted(filter)).toBe(before.lost + 1);
    const exported = spanText(telemetry.finishedSpans());
    expect(exported).not.toContain(sessionCookieOf(client.jar).value.slice(0, 40));
    expect(exported).not.toContain('alice@example.com');
  });

  it('measures the session cookie of an auth() read in a Server Component, from the request cookies', async () => {
    const client = await signIn(app.url);
    const { name, value } = sessionCookieOf(client.jar);
    const measured = async () =>
      (await telemetry.points(METRICS.sessionCookieSize.name, { 'auth.sdk': 'authjs-v5', 'auth.outcome': 'found' })).reduce(
        (sum, p) => sum + (typeof p.value === 'number' ? 0 : (p.value.sum ?? 0)),
        0,
      );
    const before = await measured();
    expect((await serverComponentAuth(client.jar.cookieHeader(app.url)))?.user).toBeDefined();
    await vi.waitFor(async () => expect(await measured()).toBe(before + `${name}=${value}`.length));
  });

  it('counts every failed exchange the IdP saw with its invalid_grant, also once the token carries RefreshTokenError and the guide retries', async () => {
    const client = await signInWithExpiringToken(app.url);
    await idp.revokeRefreshTokens('alice');
    const idpFailures = () => idp.tokenRequests().filter((r) => r.grantType === 'refresh_token' && r.outcome === 'failure').length;
    const exact = { 'auth.outcome': 'failure', 'auth.error.code': 'invalid_grant', 'auth.user_agent.class': 'browser' };
    const before = { idp: idpFailures(), plugin: await refreshes({ 'auth.outcome': 'failure' }), exact: await refreshes(exact) };
    // The guide's code sets `token.error` on the token it was given and returns it: each later read retries.
    for (let poll = 0; poll < 5; poll++) expect((await readSession(client, app.url)).error).toBe('RefreshTokenError');
    const seenByIdp = idpFailures() - before.idp;
    expect(seenByIdp).toBe(5);
    expect((await refreshes({ 'auth.outcome': 'failure' })) - before.plugin).toBe(seenByIdp);
    expect((await refreshes(exact)) - before.exact).toBe(seenByIdp);
    // Seen on the wire, its error.type is the IdP's refusal.
    const failed = telemetry.finishedSpans(SPANS.tokenRefresh.name).filter((s) => s.attributes['auth.outcome'] === 'failure');
    expect(failed.at(-1)?.attributes['error.type']).toBe('OAuth2Error');
  });

  it('records JWTSessionError from a tampered cookie as an invalid session read', async () => {
    const client = await signIn(app.url);
    const { name, value } = sessionCookieOf(client.jar);
    const middle = Math.floor(value.length / 2);
    client.jar.set(name, value.slice(0, middle) + (value[middle] === 'A' ? 'B' : 'A') + value.slice(middle + 1));
    const filter = { 'auth.outcome': 'invalid', 'auth.error.code': 'JWTSessionError', 'error.type': 'AuthError', 'auth.user_agent.class': 'browser' };
    const before = await sessionReads(filter);
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await readSession(client, app.url)).toBeNull();
      await vi.waitFor(async () => expect(await sessionReads(filter)).toBe(before + 1));
      expect(consoleError.mock.calls.some((call) => String(call[0]).includes('[auth][error]') && String(call[0]).includes('JWTSessionError'))).toBe(true);
    } finally {
      consoleError.mockRestore();
    }
    const points = await telemetry.points(METRICS.sessionReads.name, filter);
    expect(['undecryptable', 'malformed']).toContain(points[0]?.attributes['auth.session.invalid_reason']);
  });

  it('counts a session with an unreadable cookie once an hour as affected, however often it is read', async () => {
    const client = await signIn(app.url);
    const { name, value } = sessionCookieOf(client.jar);
    client.jar.set(name, value.slice(0, 40) + (value[40] === 'A' ? 'B' : 'A') + value.slice(41));
    const affected = () => telemetry.count(METRICS.sessionsAffected.name, { 'auth.affected.outcome': 'invalid_cookie', 'auth.sdk': 'authjs-v5' });
    const invalid = () => sessionReads({ 'auth.outcome': 'invalid', 'auth.sdk': 'authjs-v5' });
    const [affectedBefore, invalidBefore] = [await affected(), await invalid()];
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await serverComponentAuth(client.jar.cookieHeader(app.url)).catch(() => null);
      await serverComponentAuth(client.jar.cookieHeader(app.url)).catch(() => null);
      await vi.waitFor(async () => expect(await invalid()).toBe(invalidBefore + 2));
    } finally {
      consoleError.mockRestore();
    }
    await vi.waitFor(async () => expect(await affected()).toBe(affectedBefore + 1));
  });

  it('tells a crawler from a browser', async () => {
    const client = await signInWithExpiringToken(app.url, GOOGLEBOT);
    const before = {
      botRefresh: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'bot' }),
      botReads: await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'bot' }),
      browserReads: await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' }),
    };
    await readSession(client, app.url, GOOGLEBOT);
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'bot' })).toBe(before.botRefresh + 1);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'bot' })).toBe(before.botReads + 1);
    await readSession(client, app.url, CHROME_USER_AGENT);
    expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before.browserReads + 1);
  });

  it('classifies from the request v5 hands to a lazy configuration, even where next/headers is unavailable', async () => {
    const lazy = instrumentNextAuth((request: unknown) => {
      expect(request).toBeInstanceOf(Request);
      return {
        providers: (authConfig as { providers: unknown }).providers,
        secret: SECRET,
        callbacks: { session: ({ session }: { session: unknown }) => session },
      };
    });
    const lazyAuth = NextAuth(lazy);
    const lazyApp = await startNextAuthApp(
      (_req, _path, req) => (req.method === 'POST' ? lazyAuth.handlers.POST(req) : lazyAuth.handlers.GET(req)),
      (url) => idp.registerRedirectUris(url).then(() => undefined),
      { nextRequestStore: false },
    );
    try {
      const client = await signIn(lazyApp.url);
      const before = await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'bot' });
      await readSession(client, lazyApp.url, GOOGLEBOT);
      expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'bot' })).toBe(before + 1);
    } finally {
      await lazyApp.stop();
    }
  });

  it('instruments a configuration once, however often it is wrapped', () => {
    const again = instrumentNextAuth(authConfig) as { callbacks: Record<string, unknown>; logger: Record<string, unknown>; events: Record<string, unknown> };
    const first = authConfig as typeof again;
    expect(again.callbacks.jwt).toBe(first.callbacks.jwt);
    expect(again.callbacks.session).toBe(first.callbacks.session);
    expect(again.logger.error).toBe(first.logger.error);
    expect(again.events.signIn).toBe(first.events.signIn);
  });

  it('leaves a configuration without callbacks working and still sees its session reads through events.session', async () => {
    const bare = instrumentNextAuth({ providers: (authConfig as { providers: unknown }).providers, secret: SECRET, trustHost: true });
    const bareAuth = NextAuth(bare);
    const bareApp = await startNextAuthApp(
      (_req, _path, req) => (req.method === 'POST' ? bareAuth.handlers.POST(req) : bareAuth.handlers.GET(req)),
      (url) => idp.registerRedirectUris(url).then(() => undefined),
    );
    try {
      const client = await signIn(bareApp.url);
      const before = await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' });
      const session = await readSession(client, bareApp.url);
      // Auth.js's default session callback still decides what the client sees.
      expect(Object.keys(session).sort()).toEqual(['expires', 'user']);
      expect(Object.keys(session.user as object).sort()).toEqual(['email', 'image', 'name'].filter((k) => k in (session.user as object)).sort());
      await vi.waitFor(async () => expect(await sessionReads({ 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before + 1));
    } finally {
      await bareApp.stop();
    }
  });
});
