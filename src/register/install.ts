import { context, metrics, propagation, trace, type ContextManager } from '@opentelemetry/api';
import { W3CTraceContextPropagator, setGlobalErrorHandler } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type BufferConfig, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { configureAuthTelemetry, engine } from '../core/engine/engine.js';
import { countDroppedMetricPoints, countDroppedSpans, reportExportError, spanQueueDrops } from './dropped-telemetry.js';
import { AuthHistogramProducer } from './histogram-producer.js';
import { warnWithoutInstanceId } from './resource.js';
import {
  exportIntervalOf,
  exportLimitsOf,
  sdkDisabled,
  validateExportLimits,
  type AuthTelemetryRegistration,
  type ExportLimits,
  type RegisterAuthTelemetryOptions,
} from './options.js';
import { hasGlobalTracerProvider, own } from './providers.js';

/** What differs between the Node.js and the Edge runtime: exporters, context propagation, resource. */
export type RuntimeParts = {
  runtime: 'nodejs' | 'edge';
  resource: () => Resource;
  spanExporter: (limits: ExportLimits) => SpanExporter;
  metricExporter: (limits: ExportLimits) => PushMetricExporter;
  contextManager: () => ContextManager | undefined;
};

/**
 * The reader that exports this package's metrics. With `histogramProducer` it also reports the
 * histograms the engine aggregates itself; that is only right when every reader of the meter
 * provider has one, so readers handed to someone else's provider (`authMetricReaders()`, next
 * to the app's own readers) leave histograms to the SDK.
 */
export function metricReadersFor(
  options: RegisterAuthTelemetryOptions,
  metricExporter: (limits: ExportLimits) => PushMetricExporter,
  { histogramProducer = false }: { histogramProducer?: boolean } = {},
): PeriodicExportingMetricReader[] {
  validateExportLimits(options);
  const exporter = warnWithoutInstanceId(countDroppedMetricPoints(options.metricExporter ?? metricExporter(exportLimitsOf(options, 'metrics'))));
  const metricProducers = histogramProducer ? [AuthHistogramProducer.for(exporter)] : [];
  return [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: exportIntervalOf(options), metricProducers })];
}

/**
 * Installs whatever global providers are missing. A tracer provider that already exists (Next's
 * `@vercel/otel`, a NodeSDK) is kept; a meter provider is installed unless one exists.
 */
export async function install(options: RegisterAuthTelemetryOptions, parts: RuntimeParts): Promise<AuthTelemetryRegistration> {
  configureAuthTelemetry(options);
  validateExportLimits(options);
  if (sdkDisabled()) return { runtime: parts.runtime, ownsTracerProvider: false, ownsMeterProvider: false };
  const resource = parts.resource();

  let ownsTracerProvider = false;
  if (!hasGlobalTracerProvider()) {
    // Metrics only: without a tracer provider Next.js records no spans of its own either. The
    // context manager is still needed: it carries each request's class to the SDK calls it makes.
    if (options.spans === 'none') installContextManager(parts);
    else ownsTracerProvider = installTracerProvider(options, parts, resource);
  }

  const extraReaders = options.metricReaders ?? [];
  const histogramProducer = extraReaders.length === 0;
  const meterProvider = new MeterProvider({ resource, readers: [...metricReadersFor(options, parts.metricExporter, { histogramProducer }), ...extraReaders] });
  const ownsMeterProvider = metrics.setGlobalMeterProvider(meterProvider);
  if (ownsMeterProvider) {
    own(meterProvider);
    if (histogramProducer) engine().recorder.useHistogramProducer();
  } else {
    await meterProvider.shutdown();
  }

  // Exporter failures surface through the SDK's global error handler: counted and logged once,
  // through the same diag line as every other swallowed failure, unless already counted as drops.
  setGlobalErrorHandler(reportExportError);
  return { runtime: parts.runtime, ownsTracerProvider, ownsMeterProvider };
}

function installTracerProvider(options: RegisterAuthTelemetryOptions, parts: RuntimeParts, resource: Resource): boolean {
  const exporter = countDroppedSpans(options.traceExporter ?? parts.spanExporter(exportLimitsOf(options, 'traces')));
  // `selfObsMeterProvider` is passed through to the SDK's processor, which reports its queue-full drops there.
  const batching = new BatchSpanProcessor(exporter, { selfObsMeterProvider: spanQueueDrops() } as BufferConfig);
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [batching, ...(options.spanProcessors ?? [])] });
  if (!trace.setGlobalTracerProvider(tracerProvider)) return false;
  own(tracerProvider);
  installContextManager(parts);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return true;
}

function installContextManager(parts: RuntimeParts): void {
  const manager = parts.contextManager();
  if (manager) context.setGlobalContextManager(manager);
}
