/**
 * Builds every committed artefact under dashboards/ from the telemetry catalog.
 * `buildAll()` maps repository-relative paths to file contents; scripts/build-dashboards.ts writes
 * them and the tests compare them with the committed files.
 */
import { stringify } from 'yaml';
import { METRICS, type MetricName } from '../../src/core/telemetry/catalog.js';
import { jsPrometheusExporterMetricName, prometheusMetricName } from '../../src/core/telemetry/naming.js';
import { alertmanagerYaml } from './alertmanager.js';
import { datadogDashboard, datadogMonitors } from './datadog.js';
import { grafanaDashboard } from './grafana-dashboard.js';
import { resolveOptions, type BuildOptions } from './options.js';
import { PANEL_TEST_FILE, panelTestFile } from './promtool/panels.js';
import { scenarioFiles } from './promtool/scenarios.js';
import { GENERATED_HEADER, YAML_OPTIONS, grafanaAlertRulesYaml, prometheusRulesYaml } from './rules-render.js';

export { resolveOptions, DEFAULT_OPTIONS, optionsFromEnv, type BuildOptions, type PrometheusNaming } from './options.js';

export const PATHS = {
  grafanaDashboard: 'dashboards/grafana/nextjs-auth-overview.json',
  grafanaAlerts: 'dashboards/grafana/alert-rules.yaml',
  datadogDashboard: 'dashboards/datadog/nextjs-auth-overview.json',
  datadogMonitors: 'dashboards/datadog/monitors.json',
  prometheusRules: 'dashboards/prometheus/prometheus-rules.yaml',
  jsExporterScrape: 'dashboards/prometheus/js-exporter-scrape.yaml',
  alertmanager: 'dashboards/prometheus/alertmanager.yaml',
  promtoolTests: 'dashboards/prometheus/tests',
} as const;

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

/**
 * A Prometheus scrape config for apps that expose metrics with the JS
 * `@opentelemetry/exporter-prometheus`: its histograms lack the `_seconds` unit suffix the
 * dashboards and rules expect, and these relabel rules add it at scrape time.
 */
export function jsExporterScrapeYaml(o: BuildOptions): string {
  const relabel = (Object.keys(METRICS) as MetricName[])
    .filter((m) => METRICS[m].kind === 'histogram' && prometheusMetricName(m) !== jsPrometheusExporterMetricName(m))
    .map((m) => ({
      source_labels: ['__name__'],
      regex: `${jsPrometheusExporterMetricName(m)}_(bucket|sum|count)`,
      target_label: '__name__',
      replacement: `${prometheusMetricName(m)}_\${1}`,
    }));
  const config = {
    scrape_configs: [
      {
        // The JS exporter does not turn service.name into `job`: name the scrape job after the service.
        job_name: 'my-nextjs-app',
        static_configs: [{ targets: ['localhost:9464'] }],
        metric_relabel_configs: relabel,
      },
    ],
  };
  return (
    GENERATED_HEADER(o, [
      'Scrape config for an app that uses the JS @opentelemetry/exporter-prometheus (default port 9464) instead of',
      'OTLP. That exporter writes histograms without the `_seconds` unit suffix; metric_relabel_configs below add it,',
      'so the dashboards and rules work unchanged. Set job_name to the service name: the JS exporter does not map',
      'service.name to `job` (it is only on target_info). Alternative: generate JS-exporter-named artefacts with',
      '`npx tsx scripts/build-dashboards.ts --naming=js-exporter --out=DIR`.',
    ]) + stringify(config, YAML_OPTIONS)
  );
}

/** Every generated file: repository-relative path → content. */
export function buildAll(overrides: Partial<BuildOptions> = {}): Record<string, string> {
  const o = resolveOptions(overrides);
  const out: Record<string, string> = {
    [PATHS.grafanaDashboard]: json(grafanaDashboard(o)),
    [PATHS.grafanaAlerts]: grafanaAlertRulesYaml(o),
    [PATHS.datadogDashboard]: json(datadogDashboard(o)),
    [PATHS.datadogMonitors]: json(datadogMonitors(o)),
    [PATHS.prometheusRules]: prometheusRulesYaml(o),
    [PATHS.jsExporterScrape]: jsExporterScrapeYaml(o),
    [PATHS.alertmanager]: alertmanagerYaml(o),
    [`${PATHS.promtoolTests}/${PANEL_TEST_FILE}`]: panelTestFile(o),
  };
  for (const [file, content] of Object.entries(scenarioFiles(o))) out[`${PATHS.promtoolTests}/${file}`] = content;
  return out;
}
