import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS, OTHER, SPANS } from '../src/core/telemetry/catalog.js';
import { configureAuthTelemetry } from '../src/core/engine/engine.js';
import { observeCall } from '../src/core/operation/observe.js';
import { isRouteTemplate } from '../src/core/telemetry/route-template.js';
import { TestTelemetry, spanText } from './support/telemetry.js';

const telemetry = new TestTelemetry();
beforeAll(() => {
  telemetry.install();
  configureAuthTelemetry({ maxRoutes: 1000 });
});

const TEMPLATES = [
  '/api/auth/[auth0]',
  '/users/[id]',
  '/api/auth/[...nextauth]',
  '/dashboard',
  '/',
  '/docs/[[...slug]]',
  '/api/v1/orders/:orderId',
  '/oauth2/callback',
  '/(marketing)/pricing',
  '/sitemap.xml',
  '/settings/ChangePasswordConfirm',
];

/** Raw paths, by the kind of data a segment carries. Each must become `other`, on the metric and on the span. */
const RAW_PATHS: Record<string, string[]> = {
  identifier: ['/users/usr_8f3k29', '/orders/ORD-12345', '/u/01ARZ3NDEKTSV4RRFFQ69G5FAV'],
  email: ['/users/alice@example.com', '/invite/bob.smith+test@corp.example'],
  number: ['/users/42', '/orders/9/items'],
  uuid: ['/sessions/3f2b8c1e-9a4d-4c7b-8e2f-1a2b3c4d5e6f', '/sessions/3F2B8C1E9A4D4C7B8E2F1A2B3C4D5E6F'],
  'long hex': ['/objects/deadbeefcafebabe', '/commits/5f9c2a7e1b3d4c6a90e1'],
  base64: ['/t/eyJhbGciOiJIUzI1NiJ9', '/share/QWxhZGRpbjpvcGVuU2VzYW1l', '/i/V1StGXR8_Z5jdHi6B-myT'],
  'control characters': ['/dash\nboard', '/a\u0000b', '/x\u007f', '/tab\there'],
  'percent-encoded or query': ['/users/alice%40example.com', '/search?q=secret'],
  'not a path': ['dashboard', `/${'a'.repeat(130)}`],
};

async function recordWithRoute(route: string): Promise<void> {
  await observeCall('sessionRead', { sdk: 'custom', route }, async () => null, {
    result: () => ({ outcome: 'missing' }),
    error: () => ({ outcome: 'error' }),
  });
}

describe('http.route accepts route templates only', () => {
  it('keeps real templates on metrics and spans', async () => {
    telemetry.reset();
    for (const route of TEMPLATES) {
      expect(isRouteTemplate(route), route).toBe(true);
      await recordWithRoute(route);
    }
    const routes = (await telemetry.points(METRICS.sessionReads.name, { 'auth.sdk': 'custom' })).map((p) => p.attributes['http.route']);
    expect(new Set(routes)).toEqual(new Set(TEMPLATES));
    expect(telemetry.finishedSpans(SPANS.sessionRead.name).map((s) => s.attributes['http.route'])).toEqual(TEMPLATES);
  });

  for (const [kind, paths] of Object.entries(RAW_PATHS)) {
    it(`turns a path with ${kind} into other, keeping nothing raw on the span`, async () => {
      telemetry.reset();
      for (const path of paths) {
        expect(isRouteTemplate(path), JSON.stringify(path)).toBe(false);
        await recordWithRoute(path);
      }
      const spans = telemetry.finishedSpans(SPANS.sessionRead.name);
      expect(spans.map((s) => s.attributes['http.route'])).toEqual(paths.map(() => OTHER));
      const text = spanText(spans);
      for (const path of paths) expect(text).not.toContain(JSON.stringify(path).slice(1, -1));
      const routes = new Set((await telemetry.points(METRICS.sessionReads.name, { 'auth.sdk': 'custom' })).map((p) => p.attributes['http.route']));
      for (const path of paths) expect(routes.has(path)).toBe(false);
    });
  }
});
