import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonMetricsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, InstrumentType, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

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

async function post(signal: 'traces' | 'metrics', body: Uint8Array): Promise<ExportResult> {
  try {
    const response = await fetch(otlpUrl(signal), { method: 'POST', headers: otlpHeaders(signal), body: body as unknown as BodyInit });
    // Drain the body so the connection can be reused; a failed drain leaves the status as the answer.
    await response.arrayBuffer().catch(() => undefined);
    return response.ok
      ? { code: ExportResultCode.SUCCESS }
      : { code: ExportResultCode.FAILED, error: new Error(`OTLP ${signal} export: HTTP ${response.status}`) };
  } catch (error) {
    // An exporter reports failure in its result; the SDK hands it to its global error handler.
    return { code: ExportResultCode.FAILED, error: error as Error };
  }
}

export class FetchSpanExporter implements SpanExporter {
  private pending = new Set<Promise<unknown>>();

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const sent = post('traces', JsonTraceSerializer.serializeRequest(spans)!).then(done);
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.pending);
  }

  shutdown(): Promise<void> {
    return this.forceFlush();
  }
}

export class FetchMetricExporter implements PushMetricExporter {
  private readonly delta = (env('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE') ?? 'cumulative').toLowerCase();

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    void post('metrics', JsonMetricsSerializer.serializeRequest(metrics)!).then(done);
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

  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
