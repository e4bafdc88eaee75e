/**
 * One app instance for the live mode, run as its own process: the example app's Edge middleware
 * (nextjs-auth0 3.7 `getAccessToken` + `touchSession`, instrumented) and the SDK's own auth routes,
 * behind a plain Node HTTP server instead of `next start`, with the package as built in dist/.
 * Registration is the README's docs/snippets/prometheus-exporter-instrumentation.ts: metrics leave
 * through the official `@opentelemetry/exporter-prometheus` on a port of its own, which Prometheus
 * scrapes, and over OTLP to the demo's receiver. A Next build cannot do this: Edge middleware,
 * where the example's refreshes happen, runs in a sandbox that cannot open a server socket.
 *
 * Configured by environment variables (set by instances.ts).
 */
import { createServer } from 'node:http';
import * as auth0Edge from '@auth0/nextjs-auth0/edge';
import { NextResponse, type NextRequest } from 'next/server';
import { instrumentAuth0, withAuthTelemetry } from 'nextjs-auth-otel/auth0';
import { register } from '../../../docs/snippets/prometheus-exporter-instrumentation.js';
import { toNextRequest, writeHead } from '../../../testkit/http-bridge.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`instance-app: ${name} is not set`);
  return value;
};

const appPort = Number(env('LIVE_APP_PORT'));
const baseUrl = env('LIVE_BASE_URL');
env('OTEL_EXPORTER_PROMETHEUS_PORT');
process.env.NEXT_RUNTIME = 'nodejs';
await register();

const auth0 = instrumentAuth0(
  auth0Edge.initAuth0({
    secret: env('AUTH0_SECRET'),
    baseURL: baseUrl,
    issuerBaseURL: env('AUTH0_ISSUER_BASE_URL'),
    clientID: env('AUTH0_CLIENT_ID'),
    clientSecret: env('AUTH0_CLIENT_SECRET'),
    authorizationParams: { scope: 'openid profile email offline_access' },
  }),
);

/** examples/auth0-v3-app-router/middleware.ts, with the instance's own initAuth0() client. */
const middleware = withAuthTelemetry(async (req: NextRequest) => {
  const res = NextResponse.next();
  try {
    await auth0.getAccessToken(req, res);
    await auth0.touchSession(req, res);
  } catch {
    // As in the example: the page renders without a token; the telemetry has the error.
  }
  return res;
});

const handleAuth = auth0.handleAuth();

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', baseUrl);
    if (url.pathname === '/api/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const request = await toNextRequest(req, baseUrl);
    const route = /^\/api\/auth\/([^/]+)$/.exec(url.pathname);
    const response = route ? await handleAuth(request, { params: { auth0: route[1] } } as never) : await middleware(request);
    if (!route) {
      // The middleware let the request through: render the page with the cookies it set.
      const page = new Response(`<html><body>${url.pathname}</body></html>`, { headers: { 'content-type': 'text/html' } });
      for (const cookie of response.headers.getSetCookie()) page.headers.append('set-cookie', cookie);
      writeHead(res, page);
      res.end(await page.text());
      return;
    }
    writeHead(res, response);
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    res.writeHead(500).end(String((error as Error)?.message ?? error));
  }
});
server.listen(appPort, '127.0.0.1');

const stop = () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
