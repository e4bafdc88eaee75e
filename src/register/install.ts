import { context, metrics, propagation, trace, type ContextManager } from '@opentelemetry/api';
import { W3CTraceContextPropagator, loggingErrorHandler, setGlobalErrorHandler } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { configureAuthTelemetry, countInstrumentationError } from '../core/engine.js';
import { exportIntervalOf, sdkDisabled, type AuthTelemetryRegistration, type RegisterAuthTelemetryOptions } from './options.js';
import { hasGlobalTracerProvider, own } from './providers.js';

/** What differs between the Node.js and the Edge runtime: exporters, context propagation, resource. */
export type RuntimeParts = {
  runtime: 'nodejs' | 'edge';
  resource: () => Resource;
  spanExporter: () => SpanExporter;
  metricExporter: () => PushMetricExporter;
  contextManager: () => ContextManager | undefined;
};

export function metricReadersFor(options: RegisterAuthTelemetryOptions, metricExporter: () => PushMetricExporter): PeriodicExportingMetricReader[] {
  return [new PeriodicExportingMetricReader({ exporter: options.metricExporter ?? metricExporter(), exportIntervalMillis: exportIntervalOf(options) })];
}

/**
 * Installs whatever global providers are missing. A tracer provider that already exists (Next's
 * `@vercel/otel`, a NodeSDK) is kept; a meter provider is installed unless one exists.
 */
export async function install(options: RegisterAuthTelemetryOptions, parts: RuntimeParts): Promise<AuthTelemetryRegistration> {
  configureAuthTelemetry(options);
  if (sdkDisabled()) return { runtime: parts.runtime, ownsTracerProvider: false, ownsMeterProvider: false };
  const resource = parts.resource();

  let ownsTracerProvider = false;
  if (!hasGlobalTracerProvider()) {
    const tracerProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [new BatchSpanProcessor(options.traceExporter ?? parts.spanExporter()), ...(options.spanProcessors ?? [])],
    });
    ownsTracerProvider = trace.setGlobalTracerProvider(tracerProvider);
    if (ownsTracerProvider) {
      own(tracerProvider);
      const manager = parts.contextManager();
      if (manager) context.setGlobalContextManager(manager);
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  }

  const meterProvider = new MeterProvider({ resource, readers: [...metricReadersFor(options, parts.metricExporter), ...(options.metricReaders ?? [])] });
  const ownsMeterProvider = metrics.setGlobalMeterProvider(meterProvider);
  if (ownsMeterProvider) own(meterProvider);
  else await meterProvider.shutdown();

  // Exporter failures surface through the SDK's global error handler: count them, keep logging them.
  const logError = loggingErrorHandler();
  setGlobalErrorHandler((error) => {
    countInstrumentationError('export');
    logError(error);
  });
  return { runtime: parts.runtime, ownsTracerProvider, ownsMeterProvider };
}
