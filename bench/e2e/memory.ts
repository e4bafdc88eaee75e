/**
 * Heap growth over many requests that each look new to the plugin: a distinct user agent and a
 * distinct session cookie on every request (a tenth of them valid sessions of a thousand users,
 * the rest cookies no server ever issued). Run with `--expose-gc`; prints one JSON line.
 *
 * The request goes through the wrapped middleware and a wrapped v3 `getSession`, with telemetry
 * registered as shipped and exporters that drop what they get, so only what the plugin keeps can
 * grow.
 */
import { initAuth0 } from '@auth0/nextjs-auth0/edge';
import { generateSessionCookie } from '@auth0/nextjs-auth0/testing';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AggregationTemporality, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NextRequest, NextResponse } from 'next/server';
import { randomBytes } from 'node:crypto';
import { instrumentAuth0 } from '../../dist/auth0.js';
import { withAuthTelemetry } from '../../dist/index.js';
import { registerAuthTelemetry } from '../../dist/register.js';

const total = Number(process.argv[2] ?? 1_000_000);
const warmup = Math.min(50_000, total);
const IN_FLIGHT = 16;
const SECRET = 'a-benchmark-secret-that-is-at-least-32-characters-long';

const dropped = (done: (result: ExportResult) => void) => done({ code: ExportResultCode.SUCCESS });
const spanExporter: SpanExporter = { export: (_spans, done) => dropped(done), shutdown: async () => {} };
const metricExporter: PushMetricExporter = {
  export: (_metrics, done) => dropped(done),
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  forceFlush: async () => {},
  shutdown: async () => {},
};
await registerAuthTelemetry({ serviceName: 'bench-memory', traceExporter: spanExporter, metricExporter, exportIntervalMillis: 1000 });

const auth0 = instrumentAuth0(
  initAuth0({ secret: SECRET, baseURL: 'http://localhost:3000', issuerBaseURL: 'http://127.0.0.1:9', clientID: 'bench', clientSecret: 's' }),
);
const now = Math.floor(Date.now() / 1000);
const validCookies = await Promise.all(
  Array.from({ length: 1000 }, (_, user) =>
    generateSessionCookie(
      { user: { sub: `auth0|user-${user}` }, accessToken: 'at', accessTokenExpiresAt: now + 86_400, refreshToken: 'rt' },
      { secret: SECRET },
    ),
  ),
);

const middleware = withAuthTelemetry(async (req: NextRequest) => {
  const res = NextResponse.next();
  await auth0.getSession(req, res);
  return res;
});

function request(i: number): NextRequest {
  const cookie =
    i % 10 === 0 ? validCookies[i % validCookies.length]! : `eyJ${randomBytes(24).toString('base64url')}..${randomBytes(12).toString('base64url')}.x.y`;
  const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + (i % 50)}.0.${i}.0 Safari/537.36`;
  return new NextRequest('http://localhost:3000/', { headers: { cookie: `appSession=${cookie}`, 'user-agent': userAgent } });
}

async function run(from: number, count: number): Promise<void> {
  let next = from;
  const lane = async () => {
    while (next < from + count) await middleware(request(next++));
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const settledHeap = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage().heapUsed;
};

await run(0, warmup);
const before = await settledHeap();
const started = performance.now();
await run(warmup, total);
const seconds = (performance.now() - started) / 1000;
const after = await settledHeap();
process.stdout.write(
  `${JSON.stringify({ requests: total, seconds, heapBeforeMb: before / 1e6, heapAfterMb: after / 1e6, growthMb: (after - before) / 1e6 })}\n`,
);
process.exit(0);
