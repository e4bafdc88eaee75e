import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { install, metricReadersFor, type RuntimeParts } from './install.js';
import { nodeResource } from './resource.js';
import { type AuthTelemetryRegistration, type RegisterAuthTelemetryOptions } from './options.js';

/**
 * Node.js: the official OTLP/HTTP exporters, which honour the standard `OTEL_*` variables. Their
 * timeout and concurrency limit are passed explicitly, resolved as they would resolve them, so
 * both runtimes work within the same bounds.
 */
const nodeParts = (options: RegisterAuthTelemetryOptions): RuntimeParts => ({
  runtime: 'nodejs',
  resource: () => nodeResource(options),
  spanExporter: (limits) => new OTLPTraceExporter(limits),
  metricExporter: (limits) => new OTLPMetricExporter(limits),
  contextManager: () => new AsyncLocalStorageContextManager().enable(),
});

/**
 * Metric readers exporting over OTLP/HTTP, for setups that own the MeterProvider, e.g.
 * `registerOTel({ serviceName, metricReaders: authMetricReaders() })` with `@vercel/otel`.
 */
export function authMetricReaders(options: RegisterAuthTelemetryOptions = {}): MetricReader[] {
  return metricReadersFor(options, nodeParts(options).metricExporter);
}

export function registerAuthTelemetry(options: RegisterAuthTelemetryOptions = {}): Promise<AuthTelemetryRegistration> {
  return install(options, nodeParts(options));
}

export { flush } from './providers.js';
export type { AuthTelemetryRegistration, RegisterAuthTelemetryOptions } from './options.js';
