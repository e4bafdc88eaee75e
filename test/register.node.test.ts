import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramTotals, latestCumulative, startOtlpReceiver, type OtlpReceiver } from '../testkit/index.js';
import { METRICS, SPANS, MIDDLEWARE_DURATION_BUCKETS } from '../src/core/catalog.js';

const run = promisify(execFile);
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.stop());

async function runChild(mode: string, env: Record<string, string> = {}) {
  receiver.reset();
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/register-node-child.ts', mode], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'shop-frontend', ...env },
    timeout: 60_000,
  });
  expect(stdout).toContain('done');
}

describe('registerAuthTelemetry (Node.js) with the top-level instrumentation.ts', () => {
  it('exports spans and metrics over real OTLP/HTTP, honouring OTEL_* variables and the options', async () => {
    await runChild('plain');
    const spans = receiver.spans().filter((s) => s.name === SPANS.middleware.name);
    expect(spans).toHaveLength(2);
    expect(spans[0]!.resource['service.name']).toBe('shop-frontend');
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

  it('keeps an existing tracer provider (@vercel/otel) and adds the auth metrics through authMetricReaders()', async () => {
    await runChild('vercel');
    const spans = receiver.spans().filter((s) => s.name === SPANS.middleware.name);
    expect(spans.length).toBe(2);
    // Spans went through @vercel/otel's provider: its resource, not ours.
    expect(spans[0]!.resource['vercel.runtime']).toBe('nodejs');
    expect(latestCumulative(receiver.metricPoints(), METRICS.middlewareRuns.name, { 'auth.outcome': 'redirect' })).toBe(2);
    // Readers handed to another provider leave histograms to the SDK, which still reports them.
    expect(histogramTotals(receiver.metricPoints(), METRICS.middlewareDuration.name).count).toBe(2);
  });

  it('OTEL_SDK_DISABLED=true installs nothing and the app still runs', async () => {
    await runChild('plain', { OTEL_SDK_DISABLED: 'true' });
    expect(receiver.spans()).toHaveLength(0);
  });
});
