// instrumentation.ts for a Prometheus that scrapes the app: the official JS exporter serves the auth
// metrics on http://<host>:9464/metrics (OTEL_EXPORTER_PROMETHEUS_HOST / _PORT change it). Scrape
// it with dashboards/prometheus/js-exporter-scrape.yaml. Traces still leave over OTLP.
import type { MetricReader } from '@opentelemetry/sdk-metrics';

export async function register(): Promise<void> {
  // Edge middleware runs in a sandbox that cannot listen on a port: export OTLP from there instead.
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
  const { registerAuthTelemetry } = await import('nextjs-auth-otel/register');
  await registerAuthTelemetry({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'nextjs-app',
    // exporter-prometheus 0.223 pins its own sdk-metrics 2.12.0: the same reader, a different type.
    metricReaders: [new PrometheusExporter() as unknown as MetricReader],
  });
}
