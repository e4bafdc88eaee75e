/**
 * Generator options. The committed files under `dashboards/` are built with DEFAULT_OPTIONS;
 * `scripts/build-dashboards.ts --slo=0.995 --out=DIR` (or NEXTJS_AUTH_OTEL_SLO=0.995) writes a
 * customised set elsewhere. The `drop*` and `perInstance` switches exist only for the negative-control tests.
 */

/**
 * `otlp`: names as the OpenTelemetry Collector and Prometheus' OTLP receiver write them
 * (`auth_token_refresh_duration_seconds_bucket`). `js-exporter`: names as the JS
 * `@opentelemetry/exporter-prometheus` writes them (no `_seconds` unit suffix).
 */
export type PrometheusNaming = 'otlp' | 'js-exporter';

export interface BuildOptions {
  /** Refresh success objective for real users (browser class), 0 < slo < 1. Default 0.99. */
  readonly slo: number;
  /** Traffic guard: minimum real-user refresh attempts in the last hour before the burn alert may fire. */
  readonly minRefreshesPerHour: number;
  readonly naming: PrometheusNaming;
  /** The uid of the Prometheus data source Grafana-managed alert rules query. */
  readonly grafanaDatasourceUid: string;
  /** Base URL of docs/runbook.md; each alert links `${runbookUrl}#<alert anchor>`. */
  readonly runbookUrl: string;
  /** Negative control: drop the `auth_user_agent_class="browser"` filter from the SLO rules. */
  readonly dropClassFilter: boolean;
  /** Negative control: drop the minimum-traffic guard from the burn-rate alert. */
  readonly dropTrafficGuard: boolean;
  /** Negative control: the alert rules sum per instance (`by (job, instance)`) instead of across a job's instances. */
  readonly perInstance: boolean;
}

export const DEFAULT_OPTIONS: BuildOptions = {
  slo: 0.99,
  minRefreshesPerHour: 100,
  naming: 'otlp',
  grafanaDatasourceUid: 'prometheus',
  runbookUrl: 'https://github.com/nextjs-auth-otel/nextjs-auth-otel/blob/main/docs/runbook.md',
  dropClassFilter: false,
  dropTrafficGuard: false,
  perInstance: false,
};

export function resolveOptions(overrides: Partial<BuildOptions> = {}): BuildOptions {
  const options = { ...DEFAULT_OPTIONS, ...overrides };
  if (!(options.slo > 0 && options.slo < 1)) throw new Error(`slo must be in (0, 1), got ${options.slo}`);
  if (!(options.minRefreshesPerHour >= 0)) throw new Error('minRefreshesPerHour must be >= 0');
  return options;
}

/** Options read from the environment, for the build script. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): Partial<BuildOptions> {
  const out: { -readonly [K in keyof BuildOptions]?: BuildOptions[K] } = {};
  if (env.NEXTJS_AUTH_OTEL_SLO) out.slo = Number(env.NEXTJS_AUTH_OTEL_SLO);
  if (env.NEXTJS_AUTH_OTEL_MIN_REFRESHES_PER_HOUR) out.minRefreshesPerHour = Number(env.NEXTJS_AUTH_OTEL_MIN_REFRESHES_PER_HOUR);
  if (env.NEXTJS_AUTH_OTEL_PROMETHEUS_NAMING) out.naming = env.NEXTJS_AUTH_OTEL_PROMETHEUS_NAMING as PrometheusNaming;
  if (env.NEXTJS_AUTH_OTEL_GRAFANA_DATASOURCE_UID) out.grafanaDatasourceUid = env.NEXTJS_AUTH_OTEL_GRAFANA_DATASOURCE_UID;
  if (env.NEXTJS_AUTH_OTEL_RUNBOOK_URL) out.runbookUrl = env.NEXTJS_AUTH_OTEL_RUNBOOK_URL;
  return out;
}
