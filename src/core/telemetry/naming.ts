import { METRICS, ATTRIBUTES, type MetricName, type AttributeName } from './catalog.js';

/**
 * Names as the OpenTelemetry Collector's Prometheus exporters and Prometheus' own OTLP receiver
 * write them by default (`UnderscoreEscapingWithSuffixes`): dots become underscores, the unit `s`
 * becomes a `_seconds` suffix and `By` a `_bytes` suffix, curly-brace units are dropped, and counters get `_total`.
 */
export function prometheusMetricName(metric: MetricName): string {
  const spec = METRICS[metric];
  const base = spec.name.replace(/\./g, '_');
  return base + prometheusUnitSuffix(metric) + (spec.kind === 'counter' ? '_total' : '');
}

/** The unit suffix the Collector and Prometheus' OTLP receiver add: `s` → `_seconds`, `By` → `_bytes`; curly-brace units none. */
export function prometheusUnitSuffix(metric: MetricName): string {
  const unit: string = METRICS[metric].unit;
  return unit === 's' ? '_seconds' : unit === 'By' ? '_bytes' : '';
}

/**
 * Names as the JS `@opentelemetry/exporter-prometheus` writes them: no unit suffix, `_total` on counters.
 */
export function jsPrometheusExporterMetricName(metric: MetricName): string {
  const spec = METRICS[metric];
  return spec.name.replace(/\./g, '_') + (spec.kind === 'counter' ? '_total' : '');
}

export function prometheusLabel(attribute: AttributeName): string {
  return ATTRIBUTES[attribute].key.replace(/\./g, '_');
}

/** Datadog keeps OTLP names and attribute keys as they are. */
export function datadogMetricName(metric: MetricName): string {
  return METRICS[metric].name;
}

export function datadogTag(attribute: AttributeName): string {
  return ATTRIBUTES[attribute].key;
}

/**
 * The resource attributes that identify an exporting instance. `service.instance.id` must be unique
 * per process or isolate: instances that share one write the same series.
 */
export const RESOURCE_SERVICE_NAME = 'service.name';
export const RESOURCE_INSTANCE_ID = 'service.instance.id';

/**
 * The label the resource attribute `service.name` becomes in Prometheus (the Collector's Prometheus
 * exporters and Prometheus' OTLP receiver both write it as `job`; `service.instance.id` becomes `instance`).
 */
export const PROMETHEUS_SERVICE_LABEL = 'job';
export const PROMETHEUS_INSTANCE_LABEL = 'instance';
/** The instrumentation scope name label the Collector's Prometheus exporters add to every series. */
export const PROMETHEUS_SCOPE_NAME_LABEL = 'otel_scope_name';

/** The Datadog tags the resource attributes `service.name` and `deployment.environment(.name)` become. */
export const DATADOG_SERVICE_TAG = 'service';
export const DATADOG_ENV_TAG = 'env';
