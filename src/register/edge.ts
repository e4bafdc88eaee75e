import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { engine } from '../core/engine/engine.js';
import { edgeContextManager } from './edge-context.js';
import { FetchMetricExporter, FetchSpanExporter } from './fetch-exporter.js';
import { install, metricReadersFor, type RuntimeParts } from './install.js';
import { edgeResource } from './resource.js';
import { exportIntervalOf, type AuthTelemetryRegistration, type RegisterAuthTelemetryOptions } from './options.js';
import { flush } from './providers.js';

/** Edge: no `http` module, so OTLP/JSON over `fetch`; `AsyncLocalStorage` is a global there. */
const edgeParts = (options: RegisterAuthTelemetryOptions): RuntimeParts => ({
  runtime: 'edge',
  resource: () => edgeResource(options),
  spanExporter: (limits) => new FetchSpanExporter(limits),
  metricExporter: (limits) => new FetchMetricExporter(limits),
  contextManager: edgeContextManager,
});

export function authMetricReaders(options: RegisterAuthTelemetryOptions = {}): MetricReader[] {
  return metricReadersFor(options, edgeParts(options).metricExporter);
}

/**
 * An Edge isolate may be frozen between requests, so timers alone do not export: wrapped
 * middleware hands a flush to `event.waitUntil()`, at most once per export interval.
 */
export async function registerAuthTelemetry(options: RegisterAuthTelemetryOptions = {}): Promise<AuthTelemetryRegistration> {
  const registration = await install(options, edgeParts(options));
  const interval = exportIntervalOf(options);
  let lastFlush = 0;
  engine().afterMiddleware = () => {
    const now = Date.now();
    if (now - lastFlush < interval) return undefined;
    lastFlush = now;
    return flush();
  };
  return registration;
}

export { flush } from './providers.js';
export type { AuthTelemetryRegistration, RegisterAuthTelemetryOptions } from './options.js';
