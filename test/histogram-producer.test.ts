/**
 * The engine's own histogram aggregation, reported through a metric producer, must give exactly
 * the data points the SDK's explicit-bucket histogram gives for the same values.
 */
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { METRICS, MIDDLEWARE_DURATION_BUCKETS } from '../src/core/telemetry/catalog.js';
import { Recorder, type MetricFacts } from '../src/core/telemetry/recorder.js';
import { AuthHistogramProducer } from '../src/register/histogram-producer.js';

class Reader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const FACTS: MetricFacts = { sdk: 'nextjs-auth0-v3', outcome: 'pass', userAgentClass: 'browser', runtime: 'edge' };
const ATTRIBUTES = { 'auth.sdk': 'nextjs-auth0-v3', 'auth.outcome': 'pass', 'auth.user_agent.class': 'browser', 'auth.runtime': 'edge' };
// Every boundary exactly (a value equal to a boundary belongs to that bucket), either side of it,
// below the first and above the last.
const VALUES = [0, ...MIDDLEWARE_DURATION_BUCKETS.flatMap((b) => [b, b * 0.999, b * 1.001]), 1e6, 0.0123, 0.0123, 2.5];

async function sdkPoints(temporality: AggregationTemporality, batches: number[][]): Promise<DataPoint<Histogram>[][]> {
  const reader = new Reader(temporality);
  const histogram = new MeterProvider({ readers: [reader] })
    .getMeter('sdk')
    .createHistogram(METRICS.middlewareDuration.name, { advice: { explicitBucketBoundaries: [...MIDDLEWARE_DURATION_BUCKETS] } });
  const out: DataPoint<Histogram>[][] = [];
  for (const batch of batches) {
    for (const value of batch) histogram.record(value, ATTRIBUTES);
    const { resourceMetrics } = await reader.collect();
    out.push((resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints ?? []) as DataPoint<Histogram>[]);
  }
  return out;
}

async function producerPoints(temporality: AggregationTemporality, batches: number[][], buffered: number[] = []): Promise<DataPoint<Histogram>[][]> {
  const recorder = new Recorder();
  for (const value of buffered) recorder.record('middlewareDuration', FACTS, value);
  recorder.useHistogramProducer();
  const producer = new AuthHistogramProducer(temporality, recorder);
  const out: DataPoint<Histogram>[][] = [];
  for (const batch of batches) {
    for (const value of batch) recorder.record('middlewareDuration', FACTS, value);
    const { resourceMetrics } = await producer.collect();
    const [metric] = resourceMetrics.scopeMetrics[0]?.metrics ?? [];
    if (metric !== undefined) {
      expect(metric.descriptor).toMatchObject({ name: METRICS.middlewareDuration.name, unit: 's' });
      expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
      expect(metric.aggregationTemporality).toBe(temporality);
    }
    out.push((metric?.dataPoints ?? []) as DataPoint<Histogram>[]);
  }
  return out;
}

function comparable(points: DataPoint<Histogram>[], withMinMax: boolean) {
  return points.map((p) => ({
    attributes: p.attributes,
    boundaries: p.value.buckets.boundaries,
    counts: p.value.buckets.counts,
    count: p.value.count,
    sum: Number(p.value.sum?.toFixed(9)),
    ...(withMinMax ? { min: p.value.min, max: p.value.max } : {}),
  }));
}

describe('histograms aggregated by the engine and reported through a metric producer', () => {
  it('cumulative: the same buckets, count, sum, min and max as the SDK histogram, collection after collection', async () => {
    const batches = [VALUES, [0.2, 7, 0.0001], []];
    const sdk = await sdkPoints(AggregationTemporality.CUMULATIVE, batches);
    const ours = await producerPoints(AggregationTemporality.CUMULATIVE, batches);
    expect(ours[0]![0]!.value.count).toBe(VALUES.length);
    for (let i = 0; i < batches.length; i++) expect(comparable(ours[i]!, true)).toEqual(comparable(sdk[i]!, true));
  });

  it('delta: each collection carries only what was recorded since the previous one, and nothing when nothing was', async () => {
    const batches = [VALUES, [0.2, 7, 0.0001], []];
    const sdk = await sdkPoints(AggregationTemporality.DELTA, batches);
    const ours = await producerPoints(AggregationTemporality.DELTA, batches);
    expect(comparable(ours[0]!, false)).toEqual(comparable(sdk[0]!, false));
    expect(comparable(ours[1]!, false)).toEqual(comparable(sdk[1]!, false));
    expect(ours[1]![0]!.value.count).toBe(3);
    expect(ours[2]).toEqual([]);
    // Consecutive delta points tile time: each starts where the previous one ended.
    expect(ours[1]![0]!.startTime).toEqual(ours[0]![0]!.endTime);
  });

  it('values buffered for the SDK before the producer took over are aggregated, not lost or doubled', async () => {
    const [points] = await producerPoints(AggregationTemporality.CUMULATIVE, [[0.5]], [0.01, 0.02]);
    expect(points![0]!.value.count).toBe(3);
    expect(points![0]!.value.sum).toBeCloseTo(0.53, 9);
  });
});
