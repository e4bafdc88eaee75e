/**
 * Three replicas of one app, each a Node process running the repository's instrumentation.ts,
 * export cumulative metrics to one receiver. Their totals must add up, which needs one resource
 * per replica: with a shared identity the receiver (like the Collector's Prometheus exporter)
 * keeps whichever replica reported last.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateSeries, startOtlpReceiver, type Attributes, type OtlpReceiver, type ReceivedMetricPoint } from '../testkit/index.js';
import { METRICS } from '../src/core/telemetry/catalog.js';

const run = promisify(execFile);
const REPLICAS = [0, 1, 2];
const INSTANCE_ID = 'service.instance.id';

type Recorded = { middlewareRuns: number; histograms: { metric: string; attributes: Attributes; count: number }[] };

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.stop());

/** Starts the replicas at once (their exports interleave, as real ones do) and returns what each recorded. */
async function runReplicas(env: Record<string, string> = {}): Promise<Recorded[]> {
  receiver.reset();
  return Promise.all(
    REPLICAS.map(async (n) => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/fixtures/register-node-child.ts', 'replica', String(n)], {
        env: { ...process.env, ...receiver.exporterEnv('shop-frontend', { metricIntervalMs: 200 }), ...env },
        timeout: 60_000,
      });
      return JSON.parse(/^recorded (.*)$/m.exec(stdout)![1]!) as Recorded;
    }),
  );
}

const key = (attributes: Attributes) => JSON.stringify(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)));

/** Per metric and attribute set, the sum over every resource of its latest cumulative value. */
function sumOverInstances(points: ReceivedMetricPoint[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const metric of Object.values(METRICS)) {
    for (const series of aggregateSeries(points, metric.name)) {
      const k = `${metric.name} ${key(series.attributes)}`;
      totals.set(k, (totals.get(k) ?? 0) + (series.value ?? series.count ?? 0));
    }
  }
  return totals;
}

/** What the replicas' own workloads add up to: replica n passes 2 × (2 + n) browsers and redirects 2 × (1 + n % 2) probes. */
function expectedRuns(): Map<string, number> {
  const runs = (cls: string, outcome: string) =>
    `${METRICS.middlewareRuns.name} ${key({ 'auth.sdk': 'custom', 'auth.outcome': outcome, 'auth.user_agent.class': cls, 'auth.runtime': 'nodejs', ...(cls === 'monitor' ? { 'user_agent.synthetic.type': 'test' } : {}) })}`;
  return new Map([
    [runs('browser', 'pass'), REPLICAS.reduce((n, r) => n + 2 * (2 + r), 0)],
    [runs('monitor', 'redirect'), REPLICAS.reduce((n, r) => n + 2 * (1 + (r % 2)), 0)],
  ]);
}

describe('many instances exporting to one receiver', () => {
  it('gives every replica its own resource, and the sums over replicas equal what they recorded in total', async () => {
    const recorded = await runReplicas();
    const points = receiver.metricPoints();

    const ids = new Set(points.map((p) => p.resource[INSTANCE_ID]));
    expect(ids.size).toBe(REPLICAS.length);
    // The instance id is the only thing that tells the replicas apart.
    const withoutId = new Set(points.map(({ resource: { [INSTANCE_ID]: _id, ...rest } }) => key(rest)));
    expect(withoutId.size).toBe(1);
    // Each replica exported its cumulative counters more than once.
    expect(points.filter((p) => p.name === METRICS.middlewareRuns.name).length).toBeGreaterThan(2 * 2 * REPLICAS.length);

    const totals = sumOverInstances(points);
    for (const [series, expected] of expectedRuns()) expect(totals.get(series), series).toBe(expected);
    // Every counter: the sum over all series and replicas is what the replicas' engines counted.
    const runs = [...totals].filter(([k]) => k.startsWith(`${METRICS.middlewareRuns.name} `)).reduce((n, [, v]) => n + v, 0);
    expect(runs).toBe(recorded.reduce((n, r) => n + r.middlewareRuns, 0));
    // Every histogram attribute set: the counts add up too.
    const histogramCounts = new Map<string, number>();
    for (const { metric, attributes, count } of recorded.flatMap((r) => r.histograms)) {
      const k = `${METRICS[metric as keyof typeof METRICS].name} ${key(attributes)}`;
      histogramCounts.set(k, (histogramCounts.get(k) ?? 0) + count);
    }
    expect(histogramCounts.size).toBeGreaterThan(0);
    for (const [series, count] of histogramCounts) expect(totals.get(series), series).toBe(count);
  });

  it('short-lived instances exporting delta temporality (serverless, Edge): the deltas of every instance add up to the totals', async () => {
    await runReplicas({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' });
    const points = receiver.metricPoints();
    expect(new Set(points.map((p) => p.resource[INSTANCE_ID])).size).toBe(REPLICAS.length);
    const runs = points.filter((p) => p.name === METRICS.middlewareRuns.name);
    expect(new Set(runs.map((p) => p.temporality))).toEqual(new Set(['delta']));
    // Each export carries only what happened since the previous one: no point holds a replica's total.
    const browserRuns = runs.filter((p) => p.attributes['auth.user_agent.class'] === 'browser');
    for (const id of new Set(browserRuns.map((p) => p.resource[INSTANCE_ID]))) {
      const values = browserRuns.filter((p) => p.resource[INSTANCE_ID] === id).map((p) => p.value ?? 0);
      expect(Math.max(...values)).toBeLessThan(values.reduce((a, b) => a + b, 0));
    }
    const totals = sumOverInstances(points);
    for (const [series, expected] of expectedRuns()) expect(totals.get(series), series).toBe(expected);
  });

  it('negative control: replicas sharing one identity overwrite each other, and the sums fall short', async () => {
    await runReplicas({ OTEL_RESOURCE_ATTRIBUTES: `${INSTANCE_ID}=shop-frontend` });
    const points = receiver.metricPoints();
    expect(new Set(points.map((p) => p.resource[INSTANCE_ID]))).toEqual(new Set(['shop-frontend']));
    const totals = sumOverInstances(points);
    const perReplica = (n: number) => 2 * (2 + n);
    for (const [series, expected] of expectedRuns()) {
      // One series is left, holding one replica's total, not the sum.
      expect(totals.get(series), series).toBeLessThan(expected);
    }
    const browserRuns = [...expectedRuns().keys()][0]!;
    expect(REPLICAS.map(perReplica)).toContain(totals.get(browserRuns));
  });
});
