/**
 * `npm run bench`: wrapped against bare, side by side in one run, with a real SDK pipeline
 * (spans through a BatchSpanProcessor, metrics through a MeterProvider; exporters in memory).
 * Prints medians and the overhead each wrapper adds. Targets: ≤ 5 µs and ≤ 3 % added per wrapped
 * SDK call; classifier ≤ 100 ns cached, ≤ 2.5 µs uncached; a 100 KB UA no dearer than 512 bytes.
 */
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Bench } from 'tinybench';
import { initAuth0 } from '@auth0/nextjs-auth0/edge';
import { generateSessionCookie } from '@auth0/nextjs-auth0/testing';
import { NextRequest, NextResponse } from 'next/server';
// The built package, as users run it.
import { instrumentAuth0 } from '../dist/auth0.js';
import { createClassifier, withAuthTelemetry } from '../dist/index.js';

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] });
// BENCH_PIPELINE=none|traces|metrics|all (default all) isolates where the overhead comes from.
const pipeline = process.env.BENCH_PIPELINE ?? 'all';
if (pipeline === 'all' || pipeline === 'traces') trace.setGlobalTracerProvider(tracerProvider);
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
if (pipeline === 'all' || pipeline === 'metrics') {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })] }));
}
setInterval(() => {
  spans.reset();
  metricExporter.reset();
}, 500).unref();

const SECRET = 'a-benchmark-secret-that-is-at-least-32-characters-long';
const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

const bare = initAuth0({
  secret: SECRET,
  baseURL: 'http://localhost:3000',
  issuerBaseURL: 'http://127.0.0.1:9',
  clientID: 'bench',
  clientSecret: 'bench-secret',
});
const wrapped = instrumentAuth0(bare);

const now = Math.floor(Date.now() / 1000);
const cookie = await generateSessionCookie(
  {
    user: { sub: 'auth0|bench-user', name: 'Bench' },
    accessToken: 'opaque-access-token',
    accessTokenExpiresAt: now + 24 * 3600,
    refreshToken: 'refresh-token',
    idToken: 'id-token',
  },
  { secret: SECRET },
);
const request = () => new NextRequest('http://localhost:3000/dashboard', { headers: { cookie: `appSession=${cookie}`, 'user-agent': CHROME } });

const trivialMiddleware = async (_req: NextRequest) => NextResponse.next();
const wrappedMiddleware = withAuthTelemetry(trivialMiddleware);

const classifier = createClassifier();
const uncachedClassifier = createClassifier({ cacheSize: 0 });
// The same UA twice: once cut at 512 bytes, once 100 KB long. Truncation must make them cost the same.
const ua100k = (CHROME + ' Extension/').padEnd(100_000, 'abcdefghij0123456789');
const ua512 = ua100k.slice(0, 512);
let counter = 0;

const pairs: [string, () => unknown, () => unknown][] = [
  ['v3 edge getSession(req, res)', () => bare.getSession(request(), NextResponse.next()), () => wrapped.getSession(request(), NextResponse.next())],
  ['v3 edge getAccessToken(req, res), no refresh', () => bare.getAccessToken(request(), NextResponse.next()), () => wrapped.getAccessToken(request(), NextResponse.next())],
  ['trivial middleware', () => trivialMiddleware(request()), () => wrappedMiddleware(request())],
];

/**
 * Bare and wrapped calls alternate in small batches, so both see the same heap, JIT state and
 * background work; the median of per-batch means is reported. Sequential suites (all bare runs,
 * then all wrapped runs) showed ±50 µs of order effects on a 150 µs call here.
 */
async function interleaved(bareFn: () => unknown, wrappedFn: () => unknown, batches: number, batchSize: number): Promise<[number, number]> {
  const bareTimes: number[] = [];
  const wrappedTimes: number[] = [];
  const runBatch = async (fn: () => unknown) => {
    const start = performance.now();
    for (let i = 0; i < batchSize; i++) await fn();
    return ((performance.now() - start) / batchSize) * 1000;
  };
  for (let b = 0; b < batches; b++) {
    if (b % 2 === 0) {
      bareTimes.push(await runBatch(bareFn));
      wrappedTimes.push(await runBatch(wrappedFn));
    } else {
      wrappedTimes.push(await runBatch(wrappedFn));
      bareTimes.push(await runBatch(bareFn));
    }
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[values.length >> 1]!;
  // The first tenth of the batches warms up the JIT.
  return [median(bareTimes.slice(batches / 10)), median(wrappedTimes.slice(batches / 10))];
}

const scale = Number(process.env.BENCH_SCALE ?? 1);
const fmt = (us: number) => (Math.abs(us) < 1 ? `${(us * 1000).toFixed(0)} ns` : `${us.toFixed(2)} µs`);

console.log('\nnextjs-auth-otel benchmark (medians, Node ' + process.version + ')\n');
console.log('| call | bare | wrapped | added | ratio | target |');
console.log('|---|---|---|---|---|---|');
for (const [name, bareFn, wrappedFn] of pairs) {
  const [b, w] = await interleaved(bareFn, wrappedFn, Math.round(200 * scale), 20);
  const target = name.startsWith('trivial') ? '≤ 5 µs' : '≤ 5 µs and ≤ 3 %';
  console.log(`| ${name} | ${fmt(b)} | ${fmt(w)} | ${fmt(w - b)} | ${((w / b - 1) * 100).toFixed(1)} % | ${target} |`);
}

const bench = new Bench({ time: Number(process.env.BENCH_TIME_MS ?? 1000), warmupTime: 300 });
bench.add('classifier | cached', () => classifier({ headers: { 'user-agent': CHROME } }));
bench.add('classifier | uncached', () => uncachedClassifier({ headers: { 'user-agent': CHROME.replace('126.0.0.0', `126.0.${counter++ % 10_000}.0`) } }));
bench.add('classifier | 512 B UA, uncached', () => uncachedClassifier.userAgent(ua512));
bench.add('classifier | 100 KB UA, uncached', () => uncachedClassifier.userAgent(ua100k));
await bench.run();
const median = (name: string): number => {
  const task = bench.tasks.find((t) => t.name === name);
  const p50 = (task?.result as { latency?: { p50?: number } } | undefined)?.latency?.p50;
  if (p50 === undefined) throw new Error(`no result for ${name}`);
  return p50 * 1000; // ms → µs
};
console.log('\n| classifier | median | target |');
console.log('|---|---|---|');
console.log(`| cached | ${fmt(median('classifier | cached'))} | ≤ 100 ns |`);
console.log(`| uncached | ${fmt(median('classifier | uncached'))} | ≤ 2.5 µs |`);
const small = median('classifier | 512 B UA, uncached');
const large = median('classifier | 100 KB UA, uncached');
console.log(`| 512 B UA | ${fmt(small)} | |`);
console.log(`| 100 KB UA | ${fmt(large)} | ≤ 512 B cost (ratio ${(large / small).toFixed(2)}) |`);
process.exit(0);
