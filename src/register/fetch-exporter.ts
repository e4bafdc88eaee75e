import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonMetricsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, InstrumentType, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportLimits } from './options.js';

/**
 * OTLP/HTTP JSON over `fetch`, for Next's Edge runtime, which has neither Node's `http` module
 * (used by the official exporters) nor XHR. Reads the standard `OTEL_EXPORTER_OTLP_*` variables.
 */
function env(name: string): string | undefined {
  const value = typeof process === 'object' ? process.env?.[name] : undefined;
  return value === undefined || value === '' ? undefined : value;
}

export function otlpUrl(signal: 'traces' | 'metrics'): string {
  const specific = env(`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`);
  if (specific) return specific;
  const base = env('OTEL_EXPORTER_OTLP_ENDPOINT') ?? 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

export function otlpHeaders(signal: 'traces' | 'metrics'): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const source of [env('OTEL_EXPORTER_OTLP_HEADERS'), env(`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_HEADERS`)]) {
    for (const pair of (source ?? '').split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) headers[decodeURIComponent(pair.slice(0, eq).trim()).toLowerCase()] = decodeURIComponent(pair.slice(eq + 1).trim());
    }
  }
  return headers;
}

/** The official exporters' message when their concurrency limit refuses an export. */
export const CONCURRENCY_LIMIT_MESSAGE = 'Concurrent export limit reached';

/**
 * Sends OTLP requests, each abandoned after `timeoutMillis` (the body drain included,
 * so a collector that answers the headers and then stalls cannot hold the socket either), and at
 * most `concurrencyLimit` of them in flight: one more fails at once without a request, as in the
 * official exporters. Failed exports are not retried; the batch is dropped and counted.
 */
class FetchPoster {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly signal: 'traces' | 'metrics',
    private readonly limits: ExportLimits,
  ) {}

  send(body: Uint8Array, done: (result: ExportResult) => void): void {
    if (this.pending.size >= this.limits.concurrencyLimit) {
      done({ code: ExportResultCode.FAILED, error: new Error(CONCURRENCY_LIMIT_MESSAGE) });
      return;
    }
    const sent = this.post(body).then(done);
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  async flush(): Promise<void> {
    await Promise.all(this.pending);
  }

  private async post(body: Uint8Array): Promise<ExportResult> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.limits.timeoutMillis);
    try {
      const init = { method: 'POST', headers: otlpHeaders(this.signal), body: body as unknown as BodyInit, signal: abort.signal };
      const response = await fetch(otlpUrl(this.signal), init);
      // Drain the body so the connection can be reused; a failed drain leaves the status as the answer.
      await response.arrayBuffer().catch(() => undefined);
      return response.ok
        ? { code: ExportResultCode.SUCCESS }
        : { code: ExportResultCode.FAILED, error: new Error(`OTLP ${this.signal} export: HTTP ${response.status}`) };
    } catch (error) {
      // An exporter reports failure in its result; the SDK hands it to its global error handler.
      return { code: ExportResultCode.FAILED, error: abort.signal.aborted ? timeoutError(this.signal, this.limits.timeoutMillis) : (error as Error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function timeoutError(signal: string, timeoutMillis: number): Error {
  return Object.assign(new Error(`OTLP ${signal} export timed out after ${timeoutMillis} ms`), { name: 'TimeoutError' });
}

/** What both exporters share: one poster, flushed on demand and at shutdown. */
abstract class FetchExporter {
  protected readonly poster: FetchPoster;

  constructor(signal: 'traces' | 'metrics', limits: ExportLimits) {
    this.poster = new FetchPoster(signal, limits);
  }

  forceFlush(): Promise<void> {
    return this.poster.flush();
  }

  shutdown(): Promise<void> {
    return this.forceFlush();
  }
}

export class FetchSpanExporter extends FetchExporter implements SpanExporter {
  constructor(limits: ExportLimits) {
    super('traces', limits);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.poster.send(JsonTraceSerializer.serializeRequest(spans)!, done);
  }
}

export class FetchMetricExporter extends FetchExporter implements PushMetricExporter {
  private readonly delta = (env('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE') ?? 'cumulative').toLowerCase();

  constructor(limits: ExportLimits) {
    super('metrics', limits);
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.poster.send(JsonMetricsSerializer.serializeRequest(metrics)!, done);
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    if (this.delta === 'delta') {
      const cumulative = instrumentType === InstrumentType.UP_DOWN_COUNTER || instrumentType === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER;
      return cumulative ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA;
    }
    if (this.delta === 'lowmemory') {
      const delta = instrumentType === InstrumentType.COUNTER || instrumentType === InstrumentType.HISTOGRAM;
      return delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    }
    return AggregationTemporality.CUMULATIVE;
  }
}
