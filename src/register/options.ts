import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { MetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { AuthTelemetryConfigError, type AuthTelemetryOptions } from '../core/engine/config.js';

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
  /**
   * How long one OTLP export request may take, retries included, before it is abandoned and its
   * items counted as dropped; defaults to `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_TIMEOUT`, then
   * `OTEL_EXPORTER_OTLP_TIMEOUT`, then 10000 ms, as in the official exporters.
   */
  exportTimeoutMillis?: number;
  /**
   * Export requests in flight per signal; one more fails at once, without a request, and its items
   * are counted as dropped. Defaults to 30, the official exporters' `concurrencyLimit`.
   */
  exportConcurrencyLimit?: number;
}

/** The bounds every exporter this package builds works within. */
export type ExportLimits = Readonly<{ timeoutMillis: number; concurrencyLimit: number }>;

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

function positiveFromEnv(name: string): number | undefined {
  const raw = typeof process === 'object' ? process.env?.[name] : undefined;
  const value = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Throws `AuthTelemetryConfigError` when an export bound is not a positive number. */
export function validateExportLimits(options: RegisterAuthTelemetryOptions): void {
  const { exportTimeoutMillis: timeout, exportConcurrencyLimit: limit } = options;
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    throw new AuthTelemetryConfigError(`nextjs-auth-otel: exportTimeoutMillis must be a number of milliseconds above 0, got ${String(timeout)}.`);
  }
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new AuthTelemetryConfigError(`nextjs-auth-otel: exportConcurrencyLimit must be an integer of at least 1, got ${String(limit)}.`);
  }
}

/** The same precedence as the official OTLP exporters: option, per-signal variable, general variable, default. */
export function exportLimitsOf(options: RegisterAuthTelemetryOptions, signal: 'traces' | 'metrics'): ExportLimits {
  return {
    timeoutMillis:
      options.exportTimeoutMillis ??
      positiveFromEnv(`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_TIMEOUT`) ??
      positiveFromEnv('OTEL_EXPORTER_OTLP_TIMEOUT') ??
      10_000,
    concurrencyLimit: options.exportConcurrencyLimit ?? 30,
  };
}

export function serviceNameOf(options: RegisterAuthTelemetryOptions): string {
  return options.serviceName ?? (typeof process === 'object' ? process.env?.OTEL_SERVICE_NAME : undefined) ?? 'nextjs-app';
}

export function sdkDisabled(): boolean {
  return typeof process === 'object' && String(process.env?.OTEL_SDK_DISABLED).toLowerCase() === 'true';
}
