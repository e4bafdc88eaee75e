/**
 * The README's two Auth.js v5 middleware idioms (docs/snippets/authjs-v5/), run as Next runs a
 * middleware: `export default auth((req) => …)` and `export { auth as middleware }`, each wrapped
 * with withAuthTelemetry, against next-auth 5 (installed here as `next-auth-v5`; vitest.config.ts
 * points the snippets' `next-auth` imports at it) and the loopback oidc-provider. Their `auth` reads
 * the session, so the configuration's jwt callback refreshes an expired access token inside the
 * middleware run, and that refresh takes the run's class.
 *
 * The snippets are left out of the root type check (there `next-auth` is v4): examples/authjs-v5
 * holds copies of both, and its `next build` type-checks them against next-auth 5 and Next 15.
 */
import { fileURLToPath } from 'node:url';
import { NextRequest } from 'next/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_USER_AGENT, startIdp, type BrowserClient, type Idp } from '../testkit/index.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';
import { TestTelemetry } from './support/telemetry.js';
import { GOOGLEBOT, signIn, sleep, startNextAuthApp, type NextAuthApp } from './support/next-auth-harness.js';

type Middleware = (request: NextRequest, event: unknown) => Promise<Response>;
type AuthModule = { handlers: { GET: (r: Request) => Promise<Response>; POST: (r: Request) => Promise<Response> }; auth: Middleware };

const telemetry = new TestTelemetry();
let idp: Idp;
let app: NextAuthApp;
let authModule: AuthModule;
let callbackForm: Middleware;
let authAsMiddleware: Middleware;

/** Through a variable, so the root type check does not follow it into the snippets. */
function loadSnippet<T>(file: string): Promise<T> {
  return import(/* @vite-ignore */ fileURLToPath(new URL(`../docs/snippets/authjs-v5/${file}`, import.meta.url))) as Promise<T>;
}

beforeAll(async () => {
  telemetry.install();
  idp = await startIdp({ accessTokenTtl: 3600 });
  Object.assign(process.env, {
    AUTH_OIDC_ISSUER: idp.url,
    AUTH_OIDC_ID: idp.clientId,
    AUTH_OIDC_SECRET: idp.clientSecret,
    AUTH_SECRET: 'authjs-v5-middleware-secret-of-at-least-32-characters',
    AUTH_TRUST_HOST: 'true',
  });
  authModule = await loadSnippet<AuthModule>('auth.ts');
  callbackForm = (await loadSnippet<{ default: Middleware }>('middleware.ts')).default;
  authAsMiddleware = (await loadSnippet<{ middleware: Middleware }>('middleware-auth.ts')).middleware;
  app = await startNextAuthApp(
    (_req, _path, req) => (req.method === 'POST' ? authModule.handlers.POST(req) : authModule.handlers.GET(req)),
    (url) => idp.registerRedirectUris(url).then(() => undefined),
  );
});

afterAll(async () => {
  await app?.stop();
  await idp?.stop();
});

/** Signed in with an access token that has expired by the time this resolves. */
async function signInWithExpiredToken(): Promise<BrowserClient> {
  idp.setAccessTokenTtl(1);
  await idp.endSessions();
  const client = await signIn(app.url);
  idp.setAccessTokenTtl(3600);
  await sleep(1100);
  return client;
}

/** A middleware run as Next makes it: a NextRequest for a page (Next adds `x-forwarded-proto`), and the fetch event. */
function runMiddleware(middleware: Middleware, path: string, headers: Record<string, string>): Promise<Response> {
  const request = new NextRequest(new URL(path, app.url), { headers: { host: new URL(app.url).host, 'x-forwarded-proto': 'http', ...headers } });
  return middleware(request, { waitUntil: () => undefined });
}

const runs = (filter: Record<string, unknown>) => telemetry.count(METRICS.middlewareRuns.name, { 'auth.sdk': 'authjs-v5', ...filter });
const refreshes = (filter: Record<string, unknown>) => telemetry.count(METRICS.tokenRefreshes.name, { 'auth.sdk': 'authjs-v5', ...filter });
const sessionCookieSet = (response: Response) => response.headers.getSetCookie().some((c) => c.startsWith('authjs.session-token='));

/** The middleware run refreshes the expired access token: one browser refresh, inside the run's trace, its cookie on the response. */
async function expectRefreshInsideRun(middleware: Middleware): Promise<void> {
  const client = await signInWithExpiredToken();
  const before = {
    refreshed: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }),
    passed: await runs({ 'auth.outcome': 'pass' }),
  };
  telemetry.spans.reset();
  const response = await runMiddleware(middleware, '/dashboard', { cookie: client.jar.cookieHeader(app.url), 'user-agent': CHROME_USER_AGENT });
  expect(response.headers.get('x-middleware-next')).toBe('1');
  expect(sessionCookieSet(response)).toBe(true);
  expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before.refreshed + 1);
  expect(await runs({ 'auth.outcome': 'pass', 'auth.user_agent.class': 'browser' })).toBe(before.passed + 1);
  const [run] = telemetry.finishedSpans(SPANS.middleware.name);
  const [refresh] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
  expect(refresh?.spanContext().traceId).toBe(run?.spanContext().traceId);
}

describe('Auth.js v5 middleware idioms (README snippets)', () => {
  it('export default auth((req) => …), wrapped: a signed-out browser is redirected and counted as a browser, a crawler as a bot', async () => {
    const before = {
      browser: await runs({ 'auth.outcome': 'redirect', 'auth.user_agent.class': 'browser' }),
      bot: await runs({ 'auth.user_agent.class': 'bot' }),
    };
    const response = await runMiddleware(callbackForm, '/dashboard', { 'user-agent': CHROME_USER_AGENT });
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location')!).pathname).toBe('/api/auth/signin');
    expect(await runs({ 'auth.outcome': 'redirect', 'auth.user_agent.class': 'browser' })).toBe(before.browser + 1);
    await runMiddleware(callbackForm, '/dashboard', { 'user-agent': GOOGLEBOT });
    expect(await runs({ 'auth.outcome': 'redirect', 'auth.user_agent.class': 'bot' })).toBe(before.bot + 1);
  });

  it('export default auth((req) => …), wrapped: the jwt callback refreshes inside the run, as a browser', async () => {
    await expectRefreshInsideRun(callbackForm);
  });

  it('export { auth as middleware }, wrapped: the jwt callback refreshes inside the run, as a browser', async () => {
    await expectRefreshInsideRun(authAsMiddleware);
  });

  it('negative control: `auth` as the middleware unwrapped records no middleware run, and its refresh has no class', async () => {
    const client = await signInWithExpiredToken();
    const before = { runs: await runs({}), unknown: await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'unknown' }) };
    const response = await runMiddleware(authModule.auth, '/dashboard', { cookie: client.jar.cookieHeader(app.url), 'user-agent': CHROME_USER_AGENT });
    expect(sessionCookieSet(response)).toBe(true);
    expect(await refreshes({ 'auth.outcome': 'success', 'auth.user_agent.class': 'unknown' })).toBe(before.unknown + 1);
    expect(await runs({})).toBe(before.runs);
  });
});
