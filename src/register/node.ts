import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator, loggingErrorHandler, setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { configureAuthTelemetry, countInstrumentationError } from '../core/engine.js';
import { exportIntervalOf, sdkDisabled, serviceNameOf, type AuthTelemetryRegistration, type RegisterAuthTelemetryOptions } from './options.js';
import { hasGlobalTracerProvider, own } from './providers.js';

function resourceOf(options: RegisterAuthTelemetryOptions): Resource {
  return defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': serviceNameOf(options), ...options.resourceAttributes }));
}

/**
 * Metric readers exporting over OTLP/HTTP, for setups that own the MeterProvider, e.g.
 * `registerOTel({ serviceName, metricReaders: authMetricReaders() })` with `@vercel/otel`.
 */
export function authMetricReaders(options: RegisterAuthTelemetryOptions = {}): MetricReader[] {
  return [
    new PeriodicExportingMetricReader({
      exporter: options.metricExporter ?? new OTLPMetricExporter(),
      exportIntervalMillis: exportIntervalOf(options),
    }),
  ];
}

/**
 * Node.js registration: OTLP/HTTP exporters for spans and metrics that honour the standard
 * `OTEL_*` variables. Providers that already exist are kept; only what is missing is installed.
 */
export async function registerAuthTelemetry(options: RegisterAuthTelemetryOptions = {}): Promise<AuthTelemetryRegistration> {
  configureAuthTelemetry(options);
  if (sdkDisabled()) return { runtime: 'nodejs', ownsTracerProvider: false, ownsMeterProvider: false };
  const resource = resourceOf(options);

  let ownsTracerProvider = false;
  if (!hasGlobalTracerProvider()) {
    const tracerProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [new BatchSpanProcessor(options.traceExporter ?? new OTLPTraceExporter()), ...(options.spanProcessors ?? [])],
    });
    ownsTracerProvider = trace.setGlobalTracerProvider(tracerProvider);
    if (ownsTracerProvider) {
      own(tracerProvider);
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  }

  const meterProvider = new MeterProvider({ resource, readers: [...authMetricReaders(options), ...(options.metricReaders ?? [])] });
  const ownsMeterProvider = metrics.setGlobalMeterProvider(meterProvider);
  if (ownsMeterProvider) own(meterProvider);
  else await meterProvider.shutdown();

  // Exporter failures surface through the SDK's global error handler: count them, keep logging them.
  const logError = loggingErrorHandler();
  setGlobalErrorHandler((error) => {
    countInstrumentationError('export');
    logError(error);
  });
  return { runtime: 'nodejs', ownsTracerProvider, ownsMeterProvider };
}

export { flush } from './providers.js';
export type { AuthTelemetryRegistration, RegisterAuthTelemetryOptions } from './options.js';
