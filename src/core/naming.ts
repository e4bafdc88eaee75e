import { METRICS, ATTRIBUTES, type MetricName, type AttributeName } from './catalog.js';

/**
 * Names as the OpenTelemetry Collector's Prometheus exporters and Prometheus' own OTLP receiver
 * write them by default (`UnderscoreEscapingWithSuffixes`): dots become underscores, the unit `s`
 * becomes a `_seconds` suffix, curly-brace units are dropped, and counters get `_total`.
 */
export function prometheusMetricName(metric: MetricName): string {
  const spec = METRICS[metric];
  const base = spec.name.replace(/\./g, '_');
  const unit = spec.unit === 's' ? '_seconds' : '';
  return base + unit + (spec.kind === 'counter' ? '_total' : '');
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
