import { ValueType, type Attributes } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type HistogramMetricData,
  type MetricProducer,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { INSTRUMENTATION_SCOPE, METRICS } from '../core/telemetry/catalog.js';
import { reportInstrumentationError, engine } from '../core/engine/engine.js';
import type { HistogramAggregate, HistogramName, Recorder } from '../core/telemetry/recorder.js';
import { VERSION } from '../core/telemetry/version.js';

type Reported = { count: number; sum: number; counts: number[]; at: number };

/**
 * Reports the engine's histogram aggregates to one metric reader, in that reader's temporality.
 * The engine counts buckets in plain numbers, so recording a value costs a bucket search instead
 * of the SDK's per-value attribute hashing; the reader merges these points with the SDK's own.
 * One producer per reader: a delta reader needs to remember what it was last sent.
 */
export class AuthHistogramProducer implements MetricProducer {
  private readonly reported = new WeakMap<HistogramAggregate, Reported>();

  constructor(
    private readonly temporality: AggregationTemporality,
    private readonly recorder: Recorder = engine().recorder,
  ) {}

  static for(exporter: PushMetricExporter): AuthHistogramProducer {
    const temporality = exporter.selectAggregationTemporality?.(InstrumentType.HISTOGRAM) ?? AggregationTemporality.CUMULATIVE;
    return new AuthHistogramProducer(temporality);
  }

  async collect(): Promise<CollectionResult> {
    const scopeMetrics = [];
    try {
      const now = Date.now();
      const points = new Map<HistogramName, DataPoint<Histogram>[]>();
      for (const { metric, attributes, aggregate } of this.recorder.histogramAggregates()) {
        const point = this.temporality === AggregationTemporality.DELTA ? this.delta(aggregate, attributes, now) : cumulative(aggregate, attributes, now);
        if (point === undefined) continue;
        let list = points.get(metric);
        if (list === undefined) points.set(metric, (list = []));
        list.push(point);
      }
      const metrics: HistogramMetricData[] = [];
      for (const [metric, dataPoints] of points) {
        const spec = METRICS[metric];
        metrics.push({
          descriptor: { name: spec.name, description: spec.description, unit: spec.unit, valueType: ValueType.DOUBLE },
          aggregationTemporality: this.temporality,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints,
        });
      }
      if (metrics.length > 0) scopeMetrics.push({ scope: { name: INSTRUMENTATION_SCOPE, version: VERSION }, metrics });
    } catch (error) {
      reportInstrumentationError('export', error);
    }
    // The reader keeps its own resource and takes only the scope metrics from a producer.
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics }, errors: [] };
  }

  /** What was recorded since this reader's last collection; nothing when nothing was. */
  private delta(aggregate: HistogramAggregate, attributes: Attributes, now: number): DataPoint<Histogram> | undefined {
    const last = this.reported.get(aggregate);
    if (aggregate.count === (last?.count ?? 0)) return undefined;
    const counts = aggregate.counts.map((count, i) => count - (last?.counts[i] ?? 0));
    const point: DataPoint<Histogram> = {
      startTime: millisToHrTime(last?.at ?? aggregate.startedAt),
      endTime: millisToHrTime(now),
      attributes,
      // Minimum and maximum are cumulative here, so a delta point leaves them out.
      value: { buckets: { boundaries: [...aggregate.boundaries], counts }, count: aggregate.count - (last?.count ?? 0), sum: aggregate.sum - (last?.sum ?? 0) },
    };
    this.reported.set(aggregate, { count: aggregate.count, sum: aggregate.sum, counts: aggregate.counts.slice(), at: now });
    return point;
  }
}

function cumulative(aggregate: HistogramAggregate, attributes: Attributes, now: number): DataPoint<Histogram> | undefined {
  if (aggregate.count === 0) return undefined;
  return {
    startTime: millisToHrTime(aggregate.startedAt),
    endTime: millisToHrTime(now),
    attributes,
    value: {
      buckets: { boundaries: [...aggregate.boundaries], counts: aggregate.counts.slice() },
      count: aggregate.count,
      sum: aggregate.sum,
      min: aggregate.min,
      max: aggregate.max,
    },
  };
}
