/**
 * `npm run bench`: wrapped against bare, side by side in one run, through the pipeline users run.
 *
 * Telemetry is installed with this package's own `registerAuthTelemetry()` (BatchSpanProcessor,
 * MeterProvider with a PeriodicExportingMetricReader, AsyncLocalStorage context manager, W3C
 * propagator), as `instrumentation.ts` does. Only the exporters differ: they stay in memory but
 * serialise every batch to OTLP/JSON, the work the OTLP/HTTP exporters do before the network, and
 * then drop it (an exporter that keeps every span, like `InMemorySpanExporter`, would make the
 * heap grow in a way no real exporter does). `BENCH_EXPORTER=memory` uses the SDK's in-memory
 * exporters instead; `BENCH_PIPELINE=none|traces|metrics` isolates where overhead comes from.
 *
 * Targets: ≤ 5 µs and ≤ 3 % added per wrapped SDK call at the median; classifier
 * ≤ 100 ns cached, ≤ 2.5 µs uncached; a 100 KB UA no dearer than a 512-byte one. Three controls
 * put the figures in scale on whatever machine runs this: one plain span, a naive instrumentation
 * (a span, a counter and a histogram with four attributes built per call), and ~1 µs of
 * arithmetic (the resolution).
 */
import { ROOT_CONTEXT, SpanKind, TraceFlags, context, metrics, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonMetricsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, InMemoryMetricExporter, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Bench } from 'tinybench';
import { initAuth0 } from '@auth0/nextjs-auth0/edge';
import { generateSessionCookie } from '@auth0/nextjs-auth0/testing';
import { NextRequest, NextResponse } from 'next/server';
// The built package, as users run it.
import { instrumentAuth0 } from '../dist/auth0.js';
import { configureAuthTelemetry, createClassifier, withAuthTelemetry } from '../dist/index.js';
import { registerAuthTelemetry } from '../dist/register.js';

const pipeline = process.env.BENCH_PIPELINE ?? 'all';
const exporterKind = process.env.BENCH_EXPORTER ?? 'otlp-json';
let exportedBytes = 0;

class SerializingSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    exportedBytes += JsonTraceSerializer.serializeRequest(spans)?.length ?? 0;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

class SerializingMetricExporter implements PushMetricExporter {
  export(batch: ResourceMetrics, done: (result: ExportResult) => void): void {
    exportedBytes += JsonMetricsSerializer.serializeRequest(batch)?.length ?? 0;
    done({ code: ExportResultCode.SUCCESS });
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

if (pipeline !== 'none') {
  const memorySpans = new InMemorySpanExporter();
  const memoryMetrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  if (exporterKind === 'memory') {
    setInterval(() => {
      memorySpans.reset();
      memoryMetrics.reset();
    }, 500).unref();
  }
  await registerAuthTelemetry({
    serviceName: 'bench',
    traceExporter: exporterKind === 'memory' ? memorySpans : new SerializingSpanExporter(),
    metricExporter: exporterKind === 'memory' ? memoryMetrics : new SerializingMetricExporter(),
    exportIntervalMillis: 1000,
  });
  // The context manager stays installed either way: users always have it.
  if (pipeline === 'metrics') trace.disable();
  if (pipeline === 'traces') metrics.disable();
}

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
// What Chrome sends on a navigation, so header lookups see a realistic header list. Bare and
// wrapped calls get the same fresh request each time, as in a server.
const HEADERS = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'accept-language': 'en-GB,en;q=0.9',
  cookie: `appSession=${cookie}`,
  host: 'localhost:3000',
  referer: 'http://localhost:3000/',
  'sec-ch-ua': '"Chromium";v="126", "Google Chrome";v="126", "Not-A.Brand";v="8"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"macOS"',
  'sec-fetch-dest': 'document',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'same-origin',
  'upgrade-insecure-requests': '1',
  'user-agent': CHROME,
};
const request = () => new NextRequest('http://localhost:3000/dashboard', { headers: HEADERS });

const trivialMiddleware = async (_req: NextRequest) => NextResponse.next();
const wrappedMiddleware = withAuthTelemetry(trivialMiddleware);

const fmt = (us: number) => (Math.abs(us) < 1 ? `${(us * 1000).toFixed(0)} ns` : `${us.toFixed(2)} µs`);

type Pair = { name: string; bare: () => unknown; wrapped: () => unknown; target?: { micros: number; percent?: number }; spans?: 'all' | 'notable' | 'none' };

// The floor: the same bare call inside one plain SDK span with the attributes the plugin sets,
// no classification, no metrics. Any span-per-call instrumentation pays at least this.
const floorTracer = trace.getTracer('bench-floor');
const FLOOR_ATTRIBUTES = Object.freeze({
  'auth.sdk': 'nextjs-auth0-v3',
  'auth.outcome': 'found',
  'auth.user_agent.class': 'browser',
  'auth.runtime': 'nodejs',
});
async function inPlainSpan<T>(call: () => Promise<T>): Promise<T> {
  const span = floorTracer.startSpan('auth.session.read', { kind: SpanKind.INTERNAL });
  try {
    return await call();
  } finally {
    span.setAttributes(FLOOR_ATTRIBUTES);
    span.setAttribute('auth.user_agent.rule', 'default');
    span.setAttribute('auth.session.age', 60);
    span.end();
  }
}
/**
 * A naive instrumentation, the yardstick for the plugin's cost: the same call in a span, plus a
 * `counter.add` and a `histogram.record`, each with four attributes built per call, through the
 * SDK's own instruments.
 * It classifies nothing and reads no session age; any instrumentation worth using must cost less.
 */
const naiveMeter = metrics.getMeter('bench-naive');
const naiveCounter = naiveMeter.createCounter('bench.naive.reads');
const naiveHistogram = naiveMeter.createHistogram('bench.naive.duration', { unit: 's' });
async function inNaiveInstrumentation<T>(call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const span = floorTracer.startSpan('auth.session.read', { kind: SpanKind.INTERNAL });
  try {
    return await call();
  } finally {
    const attributes = { 'auth.sdk': 'nextjs-auth0-v3', 'auth.outcome': 'found', 'auth.user_agent.class': 'browser', 'auth.runtime': 'nodejs' };
    span.setAttributes(attributes);
    naiveCounter.add(1, attributes);
    naiveHistogram.record((performance.now() - started) / 1000, attributes);
    span.end();
  }
}
/**
 * A request whose trace the sampler dropped (the default ParentBased sampler follows Next's
 * request span; with `OTEL_TRACES_SAMPLER=parentbased_traceidratio` most requests are like this):
 * metrics are still recorded, spans are not.
 */
const SAMPLED_OUT = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.NONE,
});
const getSession: Pair = {
  name: 'v3 edge getSession(req, res)',
  bare: () => bare.getSession(request(), NextResponse.next()),
  wrapped: () => wrapped.getSession(request(), NextResponse.next()),
  target: { micros: 5, percent: 3 },
};
const getAccessToken: Pair = {
  name: 'v3 edge getAccessToken(req, res), no refresh',
  bare: () => bare.getAccessToken(request(), NextResponse.next()),
  wrapped: () => wrapped.getAccessToken(request(), NextResponse.next()),
  target: { micros: 5, percent: 3 },
};
const middleware: Pair = {
  name: 'trivial middleware',
  bare: () => trivialMiddleware(request()),
  wrapped: () => wrappedMiddleware(request()),
  target: { micros: 5 },
};
/** The same calls with `spans: 'notable'` / `'none'`: these successful calls are then recorded in metrics only. */
const inMode = (pair: Pair, spans: 'notable' | 'none'): Pair => ({ ...pair, name: `${pair.name}, spans: '${spans}'`, spans });
const notable = (pair: Pair): Pair => inMode(pair, 'notable');
/**
 * The bench's resolution: a fixed amount of plain arithmetic, calibrated to ~1 µs in a tight loop,
 * added before the bare call. What this row measures beyond 1 µs is this machine's noise and its
 * penalty for code that runs cold between the SDK's awaits.
 */
let arithmeticSink = 0;
let arithmeticRounds = 64;
function arithmetic(): void {
  let sum = 0;
  for (let i = 0; i < arithmeticRounds; i++) sum += Math.sqrt(i + arithmeticSink);
  arithmeticSink = sum % 7;
}
const arithmeticMicros = (): number => {
  const runs = 200_000;
  const start = performance.now();
  for (let i = 0; i < runs; i++) arithmetic();
  return ((performance.now() - start) / runs) * 1000;
};
arithmeticMicros();
arithmeticRounds = Math.max(1, Math.round(arithmeticRounds / arithmeticMicros()));
const calibratedMicros = arithmeticMicros();
const resolutionControl: Pair = {
  name: `control: getSession after ${fmt(calibratedMicros)} of arithmetic (resolution)`,
  bare: () => bare.getSession(request(), NextResponse.next()),
  wrapped: () => {
    arithmetic();
    return bare.getSession(request(), NextResponse.next());
  },
};
const notableGetSession = notable(getSession);
const metricsOnlyGetSession = inMode(getSession, 'none');
const floorControl: Pair = {
  name: 'control: getSession in one plain SDK span (floor)',
  bare: () => bare.getSession(request(), NextResponse.next()),
  wrapped: () => inPlainSpan(() => bare.getSession(request(), NextResponse.next())),
};
const naiveControl: Pair = {
  name: 'control: getSession, naive span + counter + histogram',
  bare: () => bare.getSession(request(), NextResponse.next()),
  wrapped: () => inNaiveInstrumentation(() => bare.getSession(request(), NextResponse.next())),
};
const pairs: Pair[] = [
  getSession,
  getAccessToken,
  middleware,
  {
    name: 'v3 edge getSession(req, res), trace sampled out',
    bare: () => context.with(SAMPLED_OUT, () => bare.getSession(request(), NextResponse.next())),
    wrapped: () => context.with(SAMPLED_OUT, () => wrapped.getSession(request(), NextResponse.next())),
    target: { micros: 5, percent: 3 },
  },
  notableGetSession,
  notable(getAccessToken),
  notable(middleware),
  metricsOnlyGetSession,
  floorControl,
  naiveControl,
  resolutionControl,
];

const scale = Number(process.env.BENCH_SCALE ?? 1);
const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1]!;
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

/**
 * Bare and wrapped calls alternate in small batches, so both see the same heap, JIT state and
 * background work (other processes on the machine, GC, the span processor and metric reader
 * timers). The added cost is the median of the differences between adjacent bare and wrapped
 * batches: this machine's speed drifts by ±30 % over seconds, and a pair of neighbouring batches
 * shares the drift, where the difference of two separate medians does not (it moved by up to
 * 10 µs between identical runs here). The mean of the same differences shows what GC, exports
 * and collection cost on average. Sequential suites (all bare runs, then all wrapped runs)
 * showed ±50 µs of order effects on a 150 µs call here.
 *
 * Both functions first run `warmup` times each: until the wrapper's code and the OpenTelemetry
 * SDK's are optimised, each call costs several times its steady-state price (that is a one-off
 * per process, and it would otherwise dominate a short run).
 *
 * `inFlight` is how many calls run at once. With one, the event loop idles while the SDK's Web
 * Crypto work runs on the thread pool, and the code that runs after each wake-up runs several
 * times slower than when the CPU stays busy (here a plain span: ~2.4 µs in a tight loop, ~15 µs
 * right after such a wake-up): that is the latency a lone request sees. With 16, the main thread
 * never idles, as in a server under load, and the time per call is its CPU cost: what
 * instrumentation takes from a server's capacity.
 */
async function interleaved(pair: Pair, inFlight: number, warmup: number, batches: number, batchSize: number) {
  configureAuthTelemetry({ spans: pair.spans ?? 'all' });
  for (let i = 0; i < warmup; i++) {
    await pair.bare();
    await pair.wrapped();
  }
  const bareTimes: number[] = [];
  const wrappedTimes: number[] = [];
  const lane = async (fn: () => unknown) => {
    for (let i = 0; i < batchSize; i++) await fn();
  };
  const runBatch = async (fn: () => unknown) => {
    const start = performance.now();
    if (inFlight === 1) await lane(fn);
    else await Promise.all(Array.from({ length: inFlight }, () => lane(fn)));
    return ((performance.now() - start) / (batchSize * inFlight)) * 1000;
  };
  for (let b = 0; b < batches; b++) {
    if (b % 2 === 0) {
      bareTimes.push(await runBatch(pair.bare));
      wrappedTimes.push(await runBatch(pair.wrapped));
    } else {
      wrappedTimes.push(await runBatch(pair.wrapped));
      bareTimes.push(await runBatch(pair.bare));
    }
  }
  const added = wrappedTimes.map((time, b) => time - bareTimes[b]!);
  return { bare: median(bareTimes), wrapped: median(wrappedTimes), added: median(added), meanAdded: mean(added) };
}

const verdicts: string[] = [];
const cpus = (await import('node:os')).cpus();
console.log(
  `\nnextjs-auth-otel benchmark: Node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, pipeline ${pipeline}, exporter ${exporterKind}`,
);
const MODES = [
  { title: 'Under load (16 calls in flight): CPU time per call', inFlight: 16, batches: 100, batchSize: 4, label: 'under load' },
  { title: 'One call at a time: latency per call', inFlight: 1, batches: 200, batchSize: 20, label: 'one at a time' },
] as const;
for (const mode of MODES) {
  console.log(`\n${mode.title}\n`);
  console.log('| call | bare (median) | wrapped (median) | added (paired median) | ratio | added (mean) | target | met |');
  console.log('|---|---|---|---|---|---|---|---|');
  const addedBy = new Map<Pair, number>();
  for (const pair of pairs) {
    const r = await interleaved(pair, mode.inFlight, Math.round(5000 * scale), Math.round(mode.batches * scale), mode.batchSize);
    const added = r.added;
    const percent = (added / r.bare) * 100;
    const goal = pair.target;
    const met = goal !== undefined && added <= goal.micros && (goal.percent === undefined || percent <= goal.percent);
    const target = goal === undefined ? '—' : `≤ ${goal.micros} µs` + (goal.percent !== undefined ? ` and ≤ ${goal.percent} %` : '');
    console.log(
      `| ${pair.name} | ${fmt(r.bare)} | ${fmt(r.wrapped)} | ${fmt(added)} | ${percent.toFixed(1)} % | ${fmt(r.meanAdded)} | ${target} | ${goal === undefined ? '' : met ? 'yes' : 'no'} |`,
    );
    if (goal !== undefined) verdicts.push(`${pair.name} (${mode.label}): ${met ? 'met' : 'not met'}`);
    addedBy.set(pair, added);
  }
  // The same call under the naive approach, in the same run: the machine-independent reading of the target.
  const naive = addedBy.get(naiveControl)!;
  for (const pair of [getSession, notableGetSession]) {
    const added = addedBy.get(pair)!;
    console.log(`${pair.name}: ${fmt(added)} against ${fmt(naive)} for the naive approach (${((added / naive) * 100).toFixed(0)} %)`);
  }
  if (mode.inFlight > 1) verdicts.push(...againstPlainSpan(addedBy));
}

/**
 * Under load, the plugin's price in units of what any span-per-call instrumentation pays (one
 * plain SDK span, measured in the same run): a machine-independent reading of the cost targets.
 */
function againstPlainSpan(addedBy: Map<Pair, number>): string[] {
  const floor = addedBy.get(floorControl)!;
  return [
    { pair: getSession, most: 1.5 },
    { pair: metricsOnlyGetSession, most: 0.5 },
  ].map(({ pair, most }) => {
    const ratio = addedBy.get(pair)! / floor;
    const line = `${pair.name} (under load): ${ratio.toFixed(2)} × one plain span (${fmt(floor)}), target ≤ ${most} ×: ${ratio <= most ? 'met' : 'not met'}`;
    console.log(line);
    return line;
  });
}

const classifier = createClassifier();
const uncachedClassifier = createClassifier({ cacheSize: 0 });
// The same UA twice: once cut at 512 bytes, once 100 KB long. Truncation must make them cost the same.
const ua100k = (CHROME + ' Extension/').padEnd(100_000, 'abcdefghij0123456789');
let counter = 0;

const bench = new Bench({ time: Number(process.env.BENCH_TIME_MS ?? 1000), warmupTime: 300 });
bench.add('classifier | cached', () => classifier({ headers: { 'user-agent': CHROME } }));
bench.add('classifier | uncached', () => uncachedClassifier({ headers: { 'user-agent': CHROME.replace('126.0.0.0', `126.0.${counter++ % 10_000}.0`) } }));
await bench.run();

/**
 * 512 B against 100 KB: the same work apart from the cut, so the two alternate in batches (as
 * the SDK calls above do) rather than running one after the other, which showed ±2 % between
 * identical tasks here.
 */
function interleavedSync(a: () => unknown, b: () => unknown, batches: number, batchSize: number): [number, number] {
  const ta: number[] = [];
  const tb: number[] = [];
  const run = (fn: () => unknown) => {
    const start = performance.now();
    for (let i = 0; i < batchSize; i++) fn();
    return ((performance.now() - start) / batchSize) * 1000;
  };
  for (let i = 0; i < batches; i++) {
    if (i % 2 === 0) {
      ta.push(run(a));
      tb.push(run(b));
    } else {
      tb.push(run(b));
      ta.push(run(a));
    }
  }
  return [median(ta.slice(batches / 10)), median(tb.slice(batches / 10))];
}
// Each request's header is a string the classifier has not seen, so the 512-byte input is a fresh
// string per call too (the same allocation the cut of the 100 KB one makes); one string object
// reused for every call is ~1 % cheaper than either.
const [small, large] = interleavedSync(
  () => uncachedClassifier.userAgent(ua100k.slice(0, 512)),
  () => uncachedClassifier.userAgent(ua100k),
  Math.round(400 * scale),
  50,
);
const p50 = (name: string): number => {
  const task = bench.tasks.find((t) => t.name === name);
  const value = (task?.result as { latency?: { p50?: number } } | undefined)?.latency?.p50;
  if (value === undefined) throw new Error(`no result for ${name}`);
  return value * 1000; // ms → µs
};
const cached = p50('classifier | cached');
const uncached = p50('classifier | uncached');
console.log('\n| classifier | median | target | met |');
console.log('|---|---|---|---|');
console.log(`| cached | ${fmt(cached)} | ≤ 100 ns | ${cached <= 0.1 ? 'yes' : 'no'} |`);
console.log(`| uncached | ${fmt(uncached)} | ≤ 2.5 µs | ${uncached <= 2.5 ? 'yes' : 'no'} |`);
console.log(`| 512 B UA (no signature, full rules) | ${fmt(small)} | | |`);
// Interleaved medians of identical work still differ by up to ~1 % here.
const ratioVerdict = large <= small ? 'yes' : large <= small * 1.01 ? 'within noise (≤ 1 %)' : 'no';
console.log(`| 100 KB UA, same prefix | ${fmt(large)} | ≤ 512 B cost (ratio ${(large / small).toFixed(3)}) | ${ratioVerdict} |`);
verdicts.push(
  `classifier cached: ${cached <= 0.1 ? 'met' : 'not met'}`,
  `classifier uncached: ${uncached <= 2.5 ? 'met' : 'not met'}`,
  `100 KB UA: ${ratioVerdict === 'no' ? 'not met' : ratioVerdict === 'yes' ? 'met' : 'met within noise'}`,
);
console.log(`\n${verdicts.join('; ')}. Exported ${(exportedBytes / 1e6).toFixed(1)} MB of OTLP/JSON.`);
process.exit(0);
