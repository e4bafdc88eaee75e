/**
 * nextjs-auth0 v3 on the Pages Router: `getSession(req, res)` and `getAccessToken(req, res)` with
 * the real Node `IncomingMessage`/`ServerResponse` of an API route served by Next's own API
 * resolver, for each v3 release in V3_VERSIONS (one small test file per release). Each call is
 * classified from the request it is given, with no wrapper.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CHROME_USER_AGENT } from '../../testkit/index.js';
import { instrumentAuth0 } from '../../src/auth0.js';
import { METRICS } from '../../src/core/telemetry/catalog.js';
import { SYNTHETICS_USER_AGENT } from '../../scripts/demo/traffic.js';
import { TestTelemetry } from './telemetry.js';
import { v3Config } from './v3-login-app.js';
import { startPagesApp, type PagesApp } from './pages-router.js';
import { V3_NODE_MODULE, type V3Version } from './v3-sdks.js';

type V3 = {
  getSession: (req: IncomingMessage, res: ServerResponse) => Promise<{ user: { sub: string } } | null | undefined>;
  getAccessToken: (req: IncomingMessage, res: ServerResponse) => Promise<{ accessToken?: string }>;
};

export function defineV3PagesSuite(version: V3Version): void {
  const telemetry = new TestTelemetry();
  let app: PagesApp;
  const env = inject('v3ByVersion')[version];

  beforeAll(async () => {
    telemetry.install();
    const sdk = (await V3_NODE_MODULE[version]()) as typeof import('@auth0/nextjs-auth0');
    const auth0 = instrumentAuth0(sdk.initAuth0(v3Config(env))) as unknown as V3;
    // pages/api/auth/token.js: reads the session, then an access token, and answers what it got.
    const route = async (req: IncomingMessage, res: ServerResponse & { json?: (body: unknown) => void }) => {
      try {
        const session = await auth0.getSession(req, res);
        const { accessToken } = await auth0.getAccessToken(req, res);
        res.json!({ sub: session?.user.sub, hasToken: typeof accessToken === 'string' });
      } catch (error) {
        res.statusCode = 401;
        res.json!({ code: (error as { code?: string }).code });
      }
    };
    app = await startPagesApp(route, undefined, () => undefined);
  });

  afterAll(async () => {
    await app?.stop();
  });

  const login = async (user: string, ttl: number): Promise<string> => {
    const response = await fetch(`${env.appUrl}/__test/login?user=${user}&ttl=${ttl}`);
    return ((await response.json()) as { cookie: string }).cookie;
  };
  const get = (userAgent: string, cookie?: string) =>
    fetch(`${app.url}/api/auth/token`, { headers: { 'user-agent': userAgent, ...(cookie ? { cookie } : {}) } });
  const count = (metric: string, filter: Record<string, unknown>) => telemetry.count(metric, { 'auth.sdk': 'nextjs-auth0-v3', ...filter });

  describe(`nextjs-auth0 ${version} with Node IncomingMessage requests`, () => {
    it("classes a browser's session read and its refreshing token request as browser", async () => {
      const cookie = await login('bob', 30); // inside the SDK's 60 s leeway: getAccessToken refreshes
      const before = {
        reads: await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' }),
        refreshes: await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' }),
        unknown: await count(METRICS.tokenRequests.name, { 'auth.user_agent.class': 'unknown' }),
      };
      const response = await get(CHROME_USER_AGENT, cookie);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ hasToken: true });
      expect(response.headers.getSetCookie().some((c) => c.startsWith('appSession='))).toBe(true);
      expect(await count(METRICS.sessionReads.name, { 'auth.outcome': 'found', 'auth.user_agent.class': 'browser' })).toBe(before.reads + 1);
      expect(await count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'browser' })).toBe(before.refreshes + 1);
      expect(await count(METRICS.tokenRequests.name, { 'auth.user_agent.class': 'unknown' })).toBe(before.unknown);
    });

    it("classes a synthetics probe's ERR_MISSING_SESSION as monitor", async () => {
      const before = await count(METRICS.tokenRequests.name, { 'auth.error.code': 'ERR_MISSING_SESSION', 'auth.user_agent.class': 'monitor' });
      const response = await get(SYNTHETICS_USER_AGENT);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ code: 'ERR_MISSING_SESSION' });
      expect(await count(METRICS.tokenRequests.name, { 'auth.error.code': 'ERR_MISSING_SESSION', 'auth.user_agent.class': 'monitor' })).toBe(before + 1);
    });
  });
}
