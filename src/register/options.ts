import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { MetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { AuthTelemetryOptions } from '../core/engine/config.js';

export interface RegisterAuthTelemetryOptions extends AuthTelemetryOptions {
  /** `service.name`; defaults to `OTEL_SERVICE_NAME`, then `nextjs-app`. */
  serviceName?: string;
  /** Extra resource attributes, e.g. `{ 'deployment.environment.name': 'prod' }`. */
  resourceAttributes?: Record<string, string>;
  /** Replaces the OTLP/HTTP span exporter (which honours `OTEL_EXPORTER_OTLP_*`). */
  traceExporter?: SpanExporter;
  /** Extra span processors, added after the exporting one. */
  spanProcessors?: SpanProcessor[];
  /** Replaces the OTLP/HTTP metric exporter. */
  metricExporter?: PushMetricExporter;
  /** Extra metric readers (e.g. a Prometheus exporter). */
  metricReaders?: MetricReader[];
  /** Metric export interval; defaults to `OTEL_METRIC_EXPORT_INTERVAL`, then 60000 ms. */
  exportIntervalMillis?: number;
}

export type AuthTelemetryRegistration = Readonly<{
  /** Which runtime the registration ran in. */
  runtime: 'nodejs' | 'edge';
  /** False when an existing global provider (e.g. from `@vercel/otel`) was kept. */
  ownsTracerProvider: boolean;
  ownsMeterProvider: boolean;
}>;

export function exportIntervalOf(options: RegisterAuthTelemetryOptions): number {
  if (options.exportIntervalMillis !== undefined) return options.exportIntervalMillis;
  const fromEnv = Number(typeof process === 'object' ? process.env?.OTEL_METRIC_EXPORT_INTERVAL : undefined);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 60_000;
}

export function serviceNameOf(options: RegisterAuthTelemetryOptions): string {
  return options.serviceName ?? (typeof process === 'object' ? process.env?.OTEL_SERVICE_NAME : undefined) ?? 'nextjs-app';
}

export function sdkDisabled(): boolean {
  return typeof process === 'object' && String(process.env?.OTEL_SDK_DISABLED).toLowerCase() === 'true';
}
