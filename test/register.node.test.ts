import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramTotals, latestCumulative, startOtlpReceiver, type OtlpReceiver } from '../testkit/index.js';
import { METRICS, SPANS, MIDDLEWARE_DURATION_BUCKETS } from '../src/core/telemetry/catalog.js';
import { AuthTelemetryConfigError } from '../src/core/engine/config.js';
import { exportLimitsOf } from '../src/register/options.js';
import { registerAuthTelemetry } from '../src/register/node.js';

const run = promisify(execFile);
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.stop());

async function runChild(mode: string, env: Record<string, string> = {}, { reset = true, args = [] as string[] } = {}) {
  if (reset) receiver.reset();
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/register-node-child.ts', mode, ...args], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'shop-frontend', ...env },
    timeout: 60_000,
  });
  expect(stdout).toContain('done');
  return { stdout, stderr };
}

describe('registerAuthTelemetry (Node.js) with the top-level instrumentation.ts', () => {
  it('exports spans and metrics over real OTLP/HTTP, honouring OTEL_* variables and the options', async () => {
    await runChild('plain');
    const spans = receiver.spans().filter((s) => s.name === SPANS.middleware.name);
    expect(spans).toHaveLength(2);
    expect(spans[0]!.resource['service.name']).toBe('shop-frontend');
    // A random UUID per process from the SDK's detector, on spans and metrics alike.
    const instanceId = spans[0]!.resource['service.instance.id'];
    expect(instanceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(receiver.metricPoints().map((p) => p.resource['service.instance.id']))).toEqual(new Set([instanceId]));
    // The custom monitor rule from instrumentation.ts.
    expect(spans.map((s) => s.attributes['auth.user_agent.class'])).toEqual(['monitor', 'monitor']);
    expect(spans[0]!.attributes['auth.user_agent.rule']).toMatch(/^custom:/);
    const points = receiver.metricPoints();
    expect(latestCumulative(points, METRICS.middlewareRuns.name, { 'auth.outcome': 'redirect', 'auth.user_agent.class': 'monitor' })).toBe(2);
    const duration = points.find((p) => p.name === METRICS.middlewareDuration.name)!;
    expect(duration.unit).toBe('s');
    expect(duration.explicitBounds).toEqual([...MIDDLEWARE_DURATION_BUCKETS]);
    expect(duration.temporality).toBe('cumulative');
    // The engine aggregates histograms itself and its producer reports them with the SDK's metrics.
    expect(histogramTotals(points, METRICS.middlewareDuration.name).count).toBe(2);
    expect(points.filter((p) => p.name === METRICS.middlewareDuration.name && p.min !== undefined).length).toBeGreaterThan(0);
  });

  it('honours OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta', async () => {
    await runChild('plain', { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' });
    const runs = receiver.metricPoints().find((p) => p.name === METRICS.middlewareRuns.name)!;
    expect(runs.temporality).toBe('delta');
    const points = receiver.metricPoints();
    expect(points.find((p) => p.name === METRICS.middlewareDuration.name)!.temporality).toBe('delta');
    expect(histogramTotals(points, METRICS.middlewareDuration.name).count).toBe(2);
  });

  it('keeps a service.instance.id set in OTEL_RESOURCE_ATTRIBUTES instead of a random one', async () => {
    await runChild('plain', { OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=pod-7f9c4d,deployment.environment.name=prod' });
    const resource = receiver.metricPoints()[0]!.resource;
    expect(resource).toMatchObject({ 'service.instance.id': 'pod-7f9c4d', 'deployment.environment.name': 'prod', 'service.name': 'shop-frontend' });
  });

  it('keeps an existing tracer provider (@vercel/otel) and adds the auth metrics through authMetricReaders()', async () => {
    const { stderr } = await runChild('vercel');
    expect(stderr).not.toContain('service.instance.id');
    const spans = receiver.spans().filter((s) => s.name === SPANS.middleware.name);
    expect(spans.length).toBe(2);
    // Spans went through @vercel/otel's provider: its resource, not ours.
    expect(spans[0]!.resource['vercel.runtime']).toBe('nodejs');
    // The README's snippet gives @vercel/otel's resource an instance id; the metrics carry it.
    const ids = new Set(receiver.metricPoints().map((p) => p.resource['service.instance.id']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(latestCumulative(receiver.metricPoints(), METRICS.middlewareRuns.name, { 'auth.outcome': 'redirect' })).toBe(2);
    // Readers handed to another provider leave histograms to the SDK, which still reports them.
    expect(histogramTotals(receiver.metricPoints(), METRICS.middlewareDuration.name).count).toBe(2);
  });

  it('warns once through the diagnostic logger when @vercel/otel is registered without an instance id', async () => {
    const { stderr } = await runChild('vercel-no-instance-id');
    expect(receiver.metricPoints().every((p) => p.resource['service.instance.id'] === undefined)).toBe(true);
    expect(stderr.match(/diag warn: .*no service\.instance\.id/g)).toHaveLength(1);
  });

  it("spans: 'none' exports metrics only: no span at all, not even Next.js' own, and nested calls keep the request's class", async () => {
    await runChild('metrics-only');
    expect(receiver.spans()).toHaveLength(0);
    const points = receiver.metricPoints();
    expect(latestCumulative(points, METRICS.middlewareRuns.name, { 'auth.outcome': 'pass', 'auth.user_agent.class': 'monitor' })).toBe(1);
    // The refresh inside the middleware run was classified from the run's request: the context manager is installed.
    expect(latestCumulative(points, METRICS.tokenRefreshes.name, { 'auth.outcome': 'success', 'auth.user_agent.class': 'monitor' })).toBe(1);
    expect(histogramTotals(points, METRICS.middlewareDuration.name).count).toBe(1);
  });

  it('OTEL_SDK_DISABLED=true installs nothing and the app still runs', async () => {
    await runChild('plain', { OTEL_SDK_DISABLED: 'true' });
    expect(receiver.spans()).toHaveLength(0);
  });
});

describe('export bounds', () => {
  it('resolve the timeout as the official exporters do: option, per-signal variable, general variable, 10 s; 30 requests in flight', () => {
    const saved = { ...process.env };
    try {
      delete process.env.OTEL_EXPORTER_OTLP_TIMEOUT;
      delete process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;
      expect(exportLimitsOf({}, 'traces')).toEqual({ timeoutMillis: 10_000, concurrencyLimit: 30 });
      process.env.OTEL_EXPORTER_OTLP_TIMEOUT = '4000';
      process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '2500';
      expect(exportLimitsOf({}, 'traces').timeoutMillis).toBe(2500);
      expect(exportLimitsOf({}, 'metrics').timeoutMillis).toBe(4000);
      process.env.OTEL_EXPORTER_OTLP_TIMEOUT = 'soon';
      expect(exportLimitsOf({}, 'metrics').timeoutMillis).toBe(10_000);
      expect(exportLimitsOf({ exportTimeoutMillis: 800, exportConcurrencyLimit: 2 }, 'traces')).toEqual({ timeoutMillis: 800, concurrencyLimit: 2 });
    } finally {
      process.env = saved;
    }
  });

  it('reject a timeout or concurrency limit that is not a positive number, before installing anything', async () => {
    await expect(registerAuthTelemetry({ exportTimeoutMillis: 0 })).rejects.toThrow(AuthTelemetryConfigError);
    await expect(registerAuthTelemetry({ exportTimeoutMillis: Infinity })).rejects.toThrow(/exportTimeoutMillis must be a number of milliseconds above 0/);
    await expect(registerAuthTelemetry({ exportConcurrencyLimit: 0.5 })).rejects.toThrow(/exportConcurrencyLimit must be an integer of at least 1/);
  });
});
