import { createNoopMeter, type Attributes, type Counter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { reportDropped, reportInstrumentationError } from '../core/engine/engine.js';
import type { DropStage } from '../core/telemetry/catalog.js';
import { CONCURRENCY_LIMIT_MESSAGE } from './fetch-exporter.js';
import { withExport } from './metric-exporter.js';

/*
 * Every span or metric point the export pipeline drops is counted in `auth.instrumentation.errors`
 * under a stage that says why. The SDK itself only tells its diagnostic logger, which apps rarely
 * enable: a span queue that overflows writes one debug line, a failed export reaches the global
 * error handler once per batch, without the number of items lost.
 */

/** The name of the error a counted failure is passed on with, so the global error handler does not count it again. */
const COUNTED = 'DroppedTelemetryError';
const counted = new WeakSet<object>();

/** Which drop a failed export is: refused by the concurrency limit, timed out (the official exporters' and ours), or failed. */
function dropStageOf(kind: 'span' | 'metric', error: unknown): DropStage {
  const { name, message } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (text.includes(CONCURRENCY_LIMIT_MESSAGE)) return `${kind}_export_busy`;
  if (name === 'TimeoutError' || name === 'AbortError' || /timed out|timeout/i.test(text)) return `${kind}_export_timeout`;
  return `${kind}_export_failed`;
}

function countedError(count: number, what: string, stage: DropStage, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const marked = Object.assign(new Error(`${count} ${what} dropped (${stage}): ${reason}`), { name: COUNTED, cause: error });
  counted.add(marked);
  return marked;
}

/** Counts what one export result dropped, and passes the result on. */
function settle(kind: 'span' | 'metric', count: number, result: ExportResult, done: (result: ExportResult) => void): void {
  if (result.code === ExportResultCode.SUCCESS) {
    done(result);
    return;
  }
  const stage = dropStageOf(kind, result.error);
  reportDropped(stage, count, result.error);
  done({ code: result.code, error: countedError(count, kind === 'span' ? 'spans' : 'metric points', stage, result.error) });
}

function exportCounting(
  kind: 'span' | 'metric',
  count: number,
  run: (done: (result: ExportResult) => void) => void,
  done: (result: ExportResult) => void,
): void {
  let settled = false;
  const once = (result: ExportResult) => {
    if (settled) return;
    settled = true;
    settle(kind, count, result, done);
  };
  try {
    run(once);
  } catch (error) {
    once({ code: ExportResultCode.FAILED, error: error as Error });
  }
}

export function countDroppedSpans(exporter: SpanExporter): SpanExporter {
  return {
    export: (spans: ReadableSpan[], done) => exportCounting('span', spans.length, (once) => exporter.export(spans, once), done),
    shutdown: () => exporter.shutdown(),
    forceFlush: exporter.forceFlush ? () => exporter.forceFlush!() : undefined,
  };
}

function pointsIn(metrics: ResourceMetrics): number {
  let points = 0;
  for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) points += metric.dataPoints.length;
  return points;
}

export function countDroppedMetricPoints(exporter: PushMetricExporter): PushMetricExporter {
  return withExport(exporter, (metrics, done) => exportCounting('metric', pointsIn(metrics), (once) => exporter.export(metrics, once), done));
}

const QUEUE_FULL = new Error('the span queue is full (maxQueueSize, OTEL_BSP_MAX_QUEUE_SIZE); the collector does not keep up');

/**
 * The batch span processor's own count of spans it refused because its queue was full: it reports
 * them to a self-observability meter provider as processed with `error.type=queue_full`. This one
 * records nothing else.
 */
export function spanQueueDrops(): MeterProvider {
  const noop = createNoopMeter();
  const processed: Counter = {
    add: (value: number, attributes?: Attributes) => {
      if (attributes?.['error.type'] === 'queue_full') reportDropped('span_queue_full', value, QUEUE_FULL);
    },
  };
  const meter = Object.create(noop, { createCounter: { value: () => processed } }) as Meter;
  return { getMeter: () => meter };
}

/** The SDK's global error handler: export failures already counted as drops are not counted again. */
export function reportExportError(error: unknown): void {
  // A tracer provider's flush rejects with the list of its processors' errors.
  if (Array.isArray(error)) {
    for (const each of error) reportExportError(each);
    return;
  }
  if (typeof error === 'object' && error !== null && counted.has(error)) return;
  // The metric reader passes a failed result on in a new error that quotes the counted one.
  if (error instanceof Error && error.message.includes(COUNTED)) return;
  reportInstrumentationError('export', error);
}
