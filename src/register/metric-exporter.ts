import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';

/** A metric exporter that exports through `exportFn` and leaves everything else to `exporter`. */
export function withExport(exporter: PushMetricExporter, exportFn: PushMetricExporter['export']): PushMetricExporter {
  return {
    export: exportFn,
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: exporter.selectAggregationTemporality?.bind(exporter),
    selectAggregation: exporter.selectAggregation?.bind(exporter),
  };
}
