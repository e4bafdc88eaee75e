import { diag } from '@opentelemetry/api';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, serviceInstanceIdDetector, type Resource } from '@opentelemetry/resources';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ExportResult } from '@opentelemetry/core';
import { RESOURCE_INSTANCE_ID } from '../core/telemetry/naming.js';
import { withExport } from './metric-exporter.js';
import { serviceNameOf, type RegisterAuthTelemetryOptions } from './options.js';

/*
 * Every instance exporting cumulative counters needs its own identity: two replicas with the same
 * resource write the same series, and `rate()` reads each switch between their totals as a reset.
 * The semantic conventions require `service.instance.id` to be unique per instance.
 */

/**
 * Node.js: the SDK's detectors. The instance id is a random UUID per process unless
 * `OTEL_RESOURCE_ATTRIBUTES` or `resourceAttributes` set one (later sources win).
 */
export function nodeResource(options: RegisterAuthTelemetryOptions): Resource {
  return defaultResource()
    .merge(detectResources({ detectors: [serviceInstanceIdDetector, envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': serviceNameOf(options), ...options.resourceAttributes }));
}

/**
 * Edge: bundlers give `@opentelemetry/resources` its browser build there, whose instance-id detector
 * is a no-op and whose environment detector reads nothing. So the isolate's id comes from Web
 * Crypto, and `OTEL_RESOURCE_ATTRIBUTES` is read here.
 */
export function edgeResource(options: RegisterAuthTelemetryOptions): Resource {
  return resourceFromAttributes({
    [RESOURCE_INSTANCE_ID]: globalThis.crypto.randomUUID(),
    'telemetry.sdk.language': 'webjs',
    ...resourceAttributesFromEnv(),
    'service.name': serviceNameOf(options),
    ...options.resourceAttributes,
  });
}

/**
 * `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs separated by commas, values percent-encoded. The
 * SDK's parser is private to its Node build; malformed pairs are skipped, as the SDK skips them.
 */
export function resourceAttributesFromEnv(): Record<string, string> {
  const raw = typeof process === 'object' ? process.env?.OTEL_RESOURCE_ATTRIBUTES : undefined;
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      const key = pair.slice(0, eq).trim();
      const value = decodeURIComponent(pair.slice(eq + 1).trim());
      if (key !== '') out[key] = value;
    } catch {
      diag.warn(`nextjs-auth-otel: skipped a malformed OTEL_RESOURCE_ATTRIBUTES entry for "${pair.slice(0, eq).trim()}"`);
    }
  }
  return out;
}

/**
 * Wraps a metric exporter that may be handed to another setup's meter provider (`@vercel/otel`):
 * the first export without `service.instance.id` is reported once through the diagnostic logger,
 * since that resource is not ours to change.
 */
export function warnWithoutInstanceId(exporter: PushMetricExporter): PushMetricExporter {
  let checked = false;
  return withExport(exporter, (metrics: ResourceMetrics, done: (result: ExportResult) => void): void => {
    if (!checked) {
      checked = true;
      if (metrics.resource.attributes[RESOURCE_INSTANCE_ID] === undefined) {
        diag.warn(
          "nextjs-auth-otel: the meter provider's resource has no service.instance.id, so several instances of this app write the same " +
            "metric series. Add `attributes: { 'service.instance.id': crypto.randomUUID() }` to registerOTel(), or set it in OTEL_RESOURCE_ATTRIBUTES.",
        );
      }
    }
    exporter.export(metrics, done);
  });
}
