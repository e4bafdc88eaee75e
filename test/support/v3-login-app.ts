/**
 * A minimal nextjs-auth0 v3 app for integration tests: the SDK's own `handleAuth()` (App Router
 * form, of the release under test) behind a Node HTTP server, so sessions come from a real authorization-code flow against
 * the loopback IdP. Test-only routes under `/__test` hand sessions and revocations to test workers,
 * which may run in the Edge runtime and cannot start servers themselves.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type * as V3 from '@auth0/nextjs-auth0';
import { startIdp, loginViaAuthorizationCodeFlow, type Idp } from '../../testkit/index.js';
import { toNextRequest, writeHead } from '../../testkit/http-bridge.js';
import { V3_NODE_MODULE, V3_PACKAGE, type V3Version } from './v3-sdks.js';

export const V3_SECRET = 'integration-secret-of-at-least-thirty-two-characters';
export const SCOPE = 'openid profile email offline_access';

export type V3TestEnvironment = { appUrl: string; issuer: string; clientId: string; clientSecret: string; secret: string; version: V3Version };

/** The `initAuth0()` configuration for the loopback IdP, as every v3 test sets it up. */
export function v3Config(env: V3TestEnvironment) {
  return {
    secret: env.secret,
    baseURL: env.appUrl,
    issuerBaseURL: env.issuer,
    clientID: env.clientId,
    clientSecret: env.clientSecret,
    authorizationParams: { scope: SCOPE },
  };
}

/** The release installed under a version's package name, read from its own `dist/version.js`. */
function installedVersion(version: V3Version): string {
  const entry = createRequire(import.meta.url).resolve(V3_PACKAGE[version]);
  return /'(\d+\.\d+\.\d+)'/.exec(readFileSync(join(dirname(entry), 'version.js'), 'utf8'))?.[1] ?? 'unknown';
}

/** A login app on the given v3 release: its sessions come from that release's own handleAuth(). */
export async function startV3LoginApp(version: V3Version = '3.7.0'): Promise<{ env: V3TestEnvironment; idp: Idp; stop: () => Promise<void> }> {
  if (installedVersion(version) !== version) throw new Error(`${V3_PACKAGE[version]} is ${installedVersion(version)}, not ${version}: run npm ci`);
  const sdk = (await V3_NODE_MODULE[version]()) as typeof V3;
  const idp = await startIdp({ accessTokenTtl: 3600 });
  // A profile claim that pushes the session past 4096 bytes, so v3 itself splits the cookie into appSession.0, .1, …
  idp.addAccount({ username: 'carol', password: 'carol-password', name: 'Carol '.repeat(200) });
  let appUrl = '';
  // eslint-disable-next-line prefer-const -- the server's handler closes over it; it is assigned once the server's URL is known
  let auth0: ReturnType<typeof V3.initAuth0> | undefined;
  const server: Server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', appUrl);
      if (url.pathname === '/__test/login') {
        // A fresh login for one user, with a chosen access-token lifetime.
        idp.setAccessTokenTtl(Number(url.searchParams.get('ttl') ?? 3600));
        await idp.endSessions();
        const user = url.searchParams.get('user') ?? 'alice';
        const login = await loginViaAuthorizationCodeFlow({ appUrl, username: user, password: `${user}-password` });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ cookie: login.jar.cookieHeader(appUrl) }));
        return;
      }
      if (url.pathname === '/__test/outage') {
        // The token endpoint answers this status until called without one.
        const status = url.searchParams.get('status');
        idp.failTokenEndpoint(status === null ? undefined : Number(status));
        res.end('{}');
        return;
      }
      if (url.pathname === '/__test/revoke') {
        const revoked = await idp.revokeRefreshTokens(url.searchParams.get('user') ?? undefined);
        res.end(JSON.stringify({ revoked }));
        return;
      }
      const match = /^\/api\/auth\/([^/]+)$/.exec(url.pathname);
      if (!match) {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>home</body></html>');
        return;
      }
      const response = await auth0!.handleAuth()(await toNextRequest(req, appUrl), { params: { auth0: match[1] } } as never);
      writeHead(res, response);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      res.writeHead(500).end(String((error as Error)?.stack ?? error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await idp.registerRedirectUris(appUrl);
  const env: V3TestEnvironment = { appUrl, issuer: idp.url, clientId: idp.clientId, clientSecret: idp.clientSecret, secret: V3_SECRET, version };
  auth0 = sdk.initAuth0(v3Config(env));
  return {
    env,
    idp,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await idp.stop();
    },
  };
}
