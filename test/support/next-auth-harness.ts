/**
 * Runs NextAuth's real handlers the way Next runs App Router code: each request becomes a
 * `NextRequest`, handled inside Next's own request store (`RequestAsyncStorageWrapper`), so
 * `next/headers` works in route handlers and in Server Component calls (`getServerSession()`,
 * v5 `auth()`) exactly as in an app. Sign-in goes through the real OAuth flow against the loopback
 * oidc-provider.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NextRequest } from 'next/server';
import { BrowserClient, CHROME_USER_AGENT, parseForms, type CookieJar } from '../../testkit/index.js';
import { requestInit, writeHead } from '../../testkit/http-bridge.js';

// Next's server sets this global at startup (node-environment); its request stores are built on it.
(globalThis as { AsyncLocalStorage?: unknown }).AsyncLocalStorage ??= AsyncLocalStorage;
const require = createRequire(import.meta.url);
type RequestStore = { run: <T>(store: unknown, fn: () => T) => T };
const { requestAsyncStorage } = require('next/dist/client/components/request-async-storage.external.js') as { requestAsyncStorage: RequestStore };
const { RequestAsyncStorageWrapper } = require('next/dist/server/async-storage/request-async-storage-wrapper.js') as {
  RequestAsyncStorageWrapper: { wrap: <T>(storage: RequestStore, context: { req: { headers: Headers } }, fn: () => T) => T };
};

/** Runs `fn` as Next runs a route handler or a Server Component render for a request with these headers. */
export function inNextRequest<T>(headers: Record<string, string> | Headers, fn: () => T): T {
  return RequestAsyncStorageWrapper.wrap(requestAsyncStorage, { req: { headers: new Headers(headers) } }, fn);
}

export const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/**
 * `request` is a NextRequest, whose URL Next normalises to `localhost`; `plain` keeps the address
 * the client used (Auth.js v5 builds its redirect URI from it when no AUTH_URL is set).
 */
export type RouteHandler = (request: NextRequest, path: string[], plain: Request) => Promise<Response>;

async function toRequests(req: IncomingMessage, base: string): Promise<{ next: NextRequest; plain: Request }> {
  const init = await requestInit(req);
  // As a proxy in front of the app would: NextAuth v4 with AUTH_TRUST_HOST derives its URL from these.
  if (!init.headers.has('x-forwarded-proto')) init.headers.set('x-forwarded-proto', 'http');
  const url = new URL(req.url ?? '/', base);
  return { next: new NextRequest(url, init), plain: new Request(url, init) };
}

export type NextAuthApp = { url: string; stop: () => Promise<void> };

/** `/api/auth/*` goes to the NextAuth route handler; everything else is a plain page. */
export async function startNextAuthApp(
  handler: RouteHandler,
  onUrl: (url: string) => void | Promise<void>,
  options: { nextRequestStore?: boolean } = {},
): Promise<NextAuthApp> {
  let url = '';
  const server: Server = createServer(async (req, res) => {
    try {
      const parsed = new URL(req.url ?? '/', url);
      if (!parsed.pathname.startsWith('/api/auth/')) {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>home</body></html>');
        return;
      }
      const { next: request, plain } = await toRequests(req, url);
      const path = parsed.pathname.slice('/api/auth/'.length).split('/').filter(Boolean);
      const response =
        options.nextRequestStore === false ? await handler(request, path, plain) : await inNextRequest(request.headers, () => handler(request, path, plain));
      writeHead(res, response);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      res.writeHead(500).end(String((error as Error)?.stack ?? error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await onUrl(url);
  return {
    url,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** NextAuth's sign-in: CSRF token, POST to the provider's sign-in route, the IdP's login form, the callback. */
export async function signIn(appUrl: string, options: { username?: string; userAgent?: string } = {}): Promise<BrowserClient> {
  const username = options.username ?? 'alice';
  const client = new BrowserClient({ userAgent: options.userAgent ?? CHROME_USER_AGENT });
  const csrf = await client.get(new URL('/api/auth/csrf', appUrl));
  if (csrf.status !== 200) throw new Error(`csrf: HTTP ${csrf.status}: ${csrf.body.slice(0, 3000)}`);
  const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
  let page = await client.request(new URL('/api/auth/signin/oidc', appUrl), {
    method: 'POST',
    body: new URLSearchParams({ csrfToken, callbackUrl: `${appUrl}/` }),
    initiator: appUrl,
  });
  const form = parseForms(page.body).find((f) => f.inputNames.includes('username') && f.inputNames.includes('password'));
  if (!form) throw new Error(`no IdP login form after sign-in (HTTP ${page.status} at ${page.url}):\n${page.body.slice(0, 2000)}`);
  page = await client.submit(form, page.url, { username, password: `${username}-password` });
  if (page.status !== 200 || new URL(page.url).origin !== appUrl) {
    throw new Error(
      `sign-in ended with HTTP ${page.status} at ${page.url}: ${page.history.map((h) => `${h.status} ${h.url}`).join(' -> ')}\n${page.body.slice(0, 2000)}`,
    );
  }
  return client;
}

export function sessionCookieOf(jar: CookieJar): { name: string; value: string } {
  const cookie = jar.getAll(/session-token$/)[0];
  if (!cookie)
    throw new Error(
      `no session cookie in the jar: ${jar
        .getAll()
        .map((c) => c.name)
        .join(', ')}`,
    );
  return { name: cookie.name, value: cookie.value };
}

/** `GET /api/auth/session` through the route handler, as `useSession()` polls it. */
export async function readSession(client: BrowserClient, appUrl: string, userAgent?: string): Promise<Record<string, unknown>> {
  const previous = client.userAgent;
  if (userAgent !== undefined) client.userAgent = userAgent;
  try {
    const response = await client.request(new URL('/api/auth/session', appUrl), { headers: { accept: 'application/json' } });
    if (response.status !== 200) throw new Error(`session read failed: HTTP ${response.status}: ${response.body.slice(0, 500)}`);
    return JSON.parse(response.body) as Record<string, unknown>;
  } finally {
    client.userAgent = previous;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
