/**
 * A minimal nextjs-auth0 v4 app for integration tests: a Node HTTP server that hands every request
 * to a middleware-shaped function (by default the SDK's own `auth0.middleware`), the way Next runs
 * `proxy.ts`, so sessions come from a real authorization-code flow against the loopback IdP.
 *
 * v4 only talks to `https://<domain>/`, so the IdP runs with issuer `https://localhost` and the
 * SDK reaches it through `idp.fetch` (see testkit/README.md).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NextRequest, NextResponse } from 'next/server';
import { Auth0Client } from '@auth0/nextjs-auth0-v4/server';
import { CookieJar, loginViaAuthorizationCodeFlow, startIdp, type Idp } from '../../testkit/index.js';
import { toNextRequest, writeHead } from '../../testkit/http-bridge.js';

export const V4_SECRET = 'v4-integration-secret-0123456789abcdef0123456789abcdef';
export const V4_OTHER_SECRET = 'v4-rotated-secret-fedcba9876543210fedcba9876543210';
export const SCOPE = 'openid profile email offline_access';
export const CHROME_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

type Options = ConstructorParameters<typeof Auth0Client>[0];
export type Handler = (request: NextRequest) => Promise<Response> | Response;

export type V4App = {
  idp: Idp;
  appUrl: string;
  /** A bare (uninstrumented) client configured for this IdP and app. */
  client: (overrides?: Partial<NonNullable<Options>>) => Auth0Client;
  /** The function each HTTP request goes to; swap it per test. */
  setHandler: (handler: Handler) => void;
  /** A fresh login through the app: returns the `Cookie` header the browser would send next. */
  login: (user?: 'alice' | 'bob', options?: { ttl?: number }) => Promise<{ cookie: string; jar: CookieJar }>;
  request: (path: string, init?: { cookie?: string; userAgent?: string; headers?: Record<string, string>; method?: string }) => NextRequest;
  stop: () => Promise<void>;
};

/** The README's Edge middleware body in v4 terms: fetch an access token for the request, and carry on even when that fails. */
export function getAccessTokenAndContinue(auth0: Auth0Client): (request: NextRequest) => Promise<NextResponse> {
  return async (request) => {
    const response = NextResponse.next();
    try {
      await auth0.getAccessToken(request, response);
    } catch {
      // Log and continue: the page renders without a token.
    }
    return response;
  };
}

export async function startV4App(): Promise<V4App> {
  const idp = await startIdp({ issuer: 'https://localhost', accessTokenTtl: 3600 });
  let appUrl = '';
  let handler: Handler | undefined;
  const server: Server = createServer(async (req, res) => {
    try {
      const request = await toNextRequest(req, appUrl);
      const response = handler ? await handler(request) : new Response('no handler', { status: 500 });
      writeHead(res, response);
      // NextResponse.next() is a 200 with `x-middleware-next`: the page behind it.
      res.end(response.headers.get('x-middleware-next') ? '<html><body>page</body></html>' : Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      res.writeHead(500).end(String((error as Error)?.stack ?? error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await idp.registerRedirectUris(appUrl);

  const client = (overrides: Partial<NonNullable<Options>> = {}) =>
    new Auth0Client({
      domain: 'localhost',
      allowInsecureRequests: true,
      customFetch: idp.fetch,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      appBaseUrl: appUrl,
      secret: V4_SECRET,
      authorizationParameters: { scope: SCOPE },
      ...overrides,
    });

  const loginClient = client();
  handler = (request) => loginClient.middleware(request);

  return {
    idp,
    appUrl,
    client,
    setHandler: (next) => {
      handler = next;
    },
    login: async (user = 'alice', options = {}) => {
      idp.setAccessTokenTtl(options.ttl ?? 3600);
      await idp.endSessions();
      const result = await loginViaAuthorizationCodeFlow({
        appUrl,
        loginPath: '/auth/login',
        username: user,
        password: `${user}-password`,
        rewrites: [idp.hostRewrite],
      });
      const cookie = result.jar.cookieHeader(appUrl);
      if (!/__session(__0)?=/.test(cookie)) throw new Error(`login left no session cookie: ${cookie.replace(/=[^;]+/g, '=…')}`);
      return { cookie, jar: result.jar };
    },
    request: (path, init = {}) =>
      new NextRequest(new URL(path, appUrl), {
        method: init.method ?? 'GET',
        headers: { 'user-agent': init.userAgent ?? CHROME_UA, ...(init.cookie ? { cookie: init.cookie } : {}), ...init.headers },
      }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await idp.stop();
    },
  };
}
