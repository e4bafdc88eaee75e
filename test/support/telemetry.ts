/**
 * Real OpenTelemetry SDK pipelines with in-memory exporters, installed as the global providers,
 * so tests see exactly what an app's exporter would receive.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export type Point = { attributes: Record<string, unknown>; value: number | Histogram };

export class TestTelemetry {
  readonly spans = new InMemorySpanExporter();
  readonly reader = new CollectingReader();
  readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spans)] });
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });

  install(options: { contextManager?: boolean } = {}): this {
    trace.setGlobalTracerProvider(this.tracerProvider);
    metrics.setGlobalMeterProvider(this.meterProvider);
    if (options.contextManager !== false && typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime !== 'string') {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    }
    return this;
  }

  finishedSpans(name?: string): ReadableSpan[] {
    const all = this.spans.getFinishedSpans();
    return name === undefined ? all : all.filter((span) => span.name === name);
  }

  async metric(name: string): Promise<MetricData | undefined> {
    const { resourceMetrics } = await this.reader.collect();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) if (metric.descriptor.name === name) return metric;
    }
    return undefined;
  }

  /** Points of a metric whose attributes include `filter`. */
  async points(name: string, filter: Record<string, unknown> = {}): Promise<Point[]> {
    const metric = await this.metric(name);
    if (!metric) return [];
    return (metric.dataPoints as DataPoint<number | Histogram>[])
      .filter((point) => Object.entries(filter).every(([key, value]) => point.attributes[key] === value))
      .map((point) => ({ attributes: point.attributes, value: point.value }));
  }

  /** Counter total over the points matching `filter`. */
  async count(name: string, filter: Record<string, unknown> = {}): Promise<number> {
    return (await this.points(name, filter)).reduce((sum, point) => sum + (typeof point.value === 'number' ? point.value : point.value.count), 0);
  }

  reset(): void {
    this.spans.reset();
  }
}

/** Everything a span exports that could leak data: name, attributes, events, status, links. */
export function spanText(spans: ReadableSpan[]): string {
  return JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })));
}
