import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { configureAuthTelemetry, engine } from '../core/engine.js';
import { edgeContextManager } from './edge-context.js';
import { FetchMetricExporter, FetchSpanExporter } from './fetch-exporter.js';
import { exportIntervalOf, sdkDisabled, serviceNameOf, type AuthTelemetryRegistration, type RegisterAuthTelemetryOptions } from './options.js';
import { flush, hasGlobalTracerProvider, own } from './providers.js';

export function authMetricReaders(options: RegisterAuthTelemetryOptions = {}): MetricReader[] {
  return [
    new PeriodicExportingMetricReader({
      exporter: options.metricExporter ?? new FetchMetricExporter(),
      exportIntervalMillis: exportIntervalOf(options),
    }),
  ];
}

/**
 * Edge registration. An Edge isolate may be frozen between requests, so timers alone do not
 * export: wrapped middleware hands a flush to `event.waitUntil()`, at most once per export interval.
 */
export async function registerAuthTelemetry(options: RegisterAuthTelemetryOptions = {}): Promise<AuthTelemetryRegistration> {
  configureAuthTelemetry(options);
  if (sdkDisabled()) return { runtime: 'edge', ownsTracerProvider: false, ownsMeterProvider: false };
  const resource = resourceFromAttributes({
    'service.name': serviceNameOf(options),
    'telemetry.sdk.language': 'webjs',
    ...options.resourceAttributes,
  });

  let ownsTracerProvider = false;
  if (!hasGlobalTracerProvider()) {
    const tracerProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [new BatchSpanProcessor(options.traceExporter ?? new FetchSpanExporter()), ...(options.spanProcessors ?? [])],
    });
    ownsTracerProvider = trace.setGlobalTracerProvider(tracerProvider);
    if (ownsTracerProvider) {
      own(tracerProvider);
      const manager = edgeContextManager();
      if (manager) context.setGlobalContextManager(manager);
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  }

  const meterProvider = new MeterProvider({ resource, readers: [...authMetricReaders(options), ...(options.metricReaders ?? [])] });
  const ownsMeterProvider = metrics.setGlobalMeterProvider(meterProvider);
  if (ownsMeterProvider) own(meterProvider);
  else await meterProvider.shutdown();

  const interval = exportIntervalOf(options);
  let lastFlush = 0;
  engine().afterMiddleware = () => {
    const now = Date.now();
    if (now - lastFlush < interval) return undefined;
    lastFlush = now;
    return flush();
  };
  return { runtime: 'edge', ownsTracerProvider, ownsMeterProvider };
}

export { flush } from './providers.js';
export type { AuthTelemetryRegistration, RegisterAuthTelemetryOptions } from './options.js';
