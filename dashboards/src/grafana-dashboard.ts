/**
 * The Grafana dashboard (classic JSON model), built with the Grafana Foundation SDK.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { BuildOptions } from './options.js';
import { DASHBOARD_TITLE, DASHBOARD_UID, PANELS, ROWS, type PanelKey } from './panels.js';
import { METRICS, type MetricName } from '../../src/core/telemetry/catalog.js';
import { BUCKET_LABEL, JOB, PromNames, V, eq, label, ne, re, selector, sumBy, type CounterMetric, type Matcher } from './promql.js';

/** Grafana template variables the queries use. */
export const GRAFANA_VARS = {
  datasource: 'datasource',
  job: JOB,
  rateInterval: '$__rate_interval',
  range: '$__range',
} as const;

/** `schemaVersion` 41 loads in Grafana 11.6 and is migrated forward by Grafana 12. */
export const SCHEMA_VERSION = 41;

export interface GrafanaQuery {
  readonly refId: string;
  readonly expr: string;
  readonly legend: string;
  /** Instant query (stat and table panels). */
  readonly instant?: boolean;
  readonly format?: 'time_series' | 'heatmap' | 'table';
}

export interface GrafanaPanelSpec {
  readonly type: 'stat' | 'timeseries' | 'heatmap' | 'table';
  readonly unit: string;
  readonly queries: readonly GrafanaQuery[];
  readonly stacked?: boolean;
  /** Draw a dashed threshold line at this value (time series) / colour below it (stat). */
  readonly sloLine?: number;
  readonly width: number;
}

const DS_REF = { type: 'prometheus', uid: `\${${GRAFANA_VARS.datasource}}` };

/** The queries of every panel. Exported so the tests can evaluate each one with promtool. */
export function grafanaPanels(o: BuildOptions): Record<PanelKey, GrafanaPanelSpec> {
  const P = new PromNames(o.naming);
  const job: Matcher = re(JOB, `$${GRAFANA_VARS.job}`);
  const classL = label('userAgentClass');
  const outcomeL = label('outcome');
  const codeL = label('errorCode');
  const routeL = label('route');
  const browser = eq(classL, V.browser);
  const notBrowser = ne(classL, V.browser);
  const R = P.counter('tokenRefreshes');
  const T = P.counter('tokenRequests');
  const M = P.counter('middlewareRuns');
  const S = P.counter('sessionReads');
  const U = P.counter('refreshUnpersisted');
  const reuses = P.counter('refreshReuses');
  const reuseL = label('reuseKind');
  const H = P.counter('handlerRequests');
  const kindL = label('handlerKind');
  const failure = eq(outcomeL, V.refreshFailure);
  const success = eq(outcomeL, V.refreshSuccess);
  const missingSession = re(codeL, V.missingSessionCodes);
  const RI = GRAFANA_VARS.rateInterval;
  const RANGE = GRAFANA_VARS.range;

  const rate = (name: string, m: Matcher[], w: string = RI) => `rate(${selector(name, [job, ...m])}[${w}])`;
  const increase = (name: string, m: Matcher[], w: string = RANGE) => `increase(${selector(name, [job, ...m])}[${w}])`;
  const quantile = (q: number, bucket: string, m: Matcher[]) => `histogram_quantile(${q}, ${sumBy([BUCKET_LABEL], rate(bucket, m))})`;
  const ts = (refId: string, expr: string, legend: string): GrafanaQuery => ({ refId, expr, legend });
  const instant = (refId: string, expr: string, legend: string, format: GrafanaQuery['format'] = 'time_series'): GrafanaQuery => ({
    refId,
    expr,
    legend,
    instant: true,
    format,
  });
  const byRoute = (expr: string) => sumBy([routeL], expr);
  const hasRoute = ne(routeL, '');

  return {
    realUserSuccess: {
      type: 'stat',
      unit: 'percentunit',
      sloLine: o.slo,
      width: 6,
      queries: [instant('A', `${sumBy([], increase(R, [browser, success]))}\n/\n${sumBy([], increase(R, [browser]))}`, 'real users')],
    },
    failuresRealVsNoise: {
      type: 'stat',
      unit: 'short',
      width: 6,
      queries: [
        instant('A', sumBy([], increase(R, [browser, failure])), 'real users'),
        instant('B', sumBy([], increase(R, [notBrowser, failure])), 'bots, monitors, prefetches, CLIs'),
      ],
    },
    realUsersAffected: {
      type: 'stat',
      unit: 'short',
      width: 6,
      queries: [instant('A', sumBy([label('affectedOutcome')], increase(P.counter('sessionsAffected'), [browser])), `{{${label('affectedOutcome')}}}`)],
    },
    missingSessionRealShare: {
      type: 'stat',
      unit: 'percentunit',
      width: 6,
      queries: [instant('A', `${sumBy([], increase(T, [browser, missingSession]))}\n/\n${sumBy([], increase(T, [missingSession]))}`, 'from real browsers')],
    },
    successRatioVsSlo: {
      type: 'timeseries',
      unit: 'percentunit',
      sloLine: o.slo,
      width: 12,
      queries: [ts('A', `${sumBy([JOB], rate(R, [browser, success]))}\n/\n${sumBy([JOB], rate(R, [browser]))}`, `{{${JOB}}}`)],
    },
    realUserFailuresByCode: {
      type: 'timeseries',
      unit: 'reqps',
      width: 12,
      queries: [ts('A', sumBy([codeL], rate(R, [browser, failure])), `{{${codeL}}}`)],
    },
    realUserFailuresByKind: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 12,
      queries: [ts('A', sumBy([label('failureKind')], rate(R, [browser, failure])), `{{${label('failureKind')}}}`)],
    },
    involuntaryLogouts: {
      type: 'timeseries',
      unit: 'reqps',
      width: 12,
      queries: [
        ts('A', sumBy([], rate(R, [browser, failure, eq(label('failureKind'), V.terminal)])), 'terminal refresh failure'),
        ts('B', sumBy([], rate(U, [browser, eq(label('unpersistedReason'), V.tokenReused)])), 'lost rotation'),
        ts('C', sumBy([label('invalidReason')], rate(S, [browser, eq(outcomeL, V.sessionInvalid)])), `unreadable cookie ({{${label('invalidReason')}}})`),
        ts('D', sumBy([], rate(T, [browser, eq(outcomeL, V.tokenError), eq(codeL, V.sessionExpired)])), 'session expired'),
      ],
    },
    failuresByClass: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 12,
      queries: [ts('A', sumBy([classL], rate(R, [failure])), `{{${classL}}}`)],
    },
    refreshLatency: {
      type: 'timeseries',
      unit: 's',
      width: 12,
      queries: [0.5, 0.95, 0.99].map((q, i) =>
        ts(String.fromCharCode(65 + i), quantile(q, P.histogram('tokenRefreshDuration', 'bucket'), []), `p${Math.round(q * 100)}`),
      ),
    },
    unpersisted: {
      type: 'timeseries',
      unit: 'reqps',
      width: 12,
      queries: [ts('A', sumBy([label('unpersistedReason'), classL], rate(U, [])), `{{${label('unpersistedReason')}}} ({{${classL}}})`)],
    },
    refreshRaces: {
      type: 'timeseries',
      unit: 'reqps',
      width: 12,
      queries: [ts('A', sumBy([codeL, classL], rate(reuses, [eq(reuseL, V.race)])), `{{${codeL}}} ({{${classL}}})`)],
    },
    lostRotations: {
      type: 'timeseries',
      unit: 'reqps',
      width: 12,
      queries: [ts('A', sumBy([codeL, classL], rate(reuses, [eq(reuseL, V.lostRotation)])), `{{${codeL}}} ({{${classL}}})`)],
    },
    middlewareRuns: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 12,
      queries: [ts('A', sumBy([outcomeL, classL], rate(M, [])), `{{${outcomeL}}} / {{${classL}}}`)],
    },
    middlewareLatency: {
      type: 'timeseries',
      unit: 's',
      width: 12,
      queries: [0.5, 0.95, 0.99].map((q, i) =>
        ts(String.fromCharCode(65 + i), quantile(q, P.histogram('middlewareDuration', 'bucket'), []), `p${Math.round(q * 100)}`),
      ),
    },
    missingSessionByClass: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 12,
      queries: [ts('A', sumBy([classL], rate(T, [missingSession])), `{{${classL}}}`)],
    },
    invalidCookies: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 8,
      queries: [ts('A', sumBy([label('invalidReason'), classL], rate(S, [eq(outcomeL, V.sessionInvalid)])), `{{${label('invalidReason')}}} ({{${classL}}})`)],
    },
    requestErrors: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 12,
      queries: [ts('A', sumBy([label('routeType'), codeL], rate(P.counter('requestErrors'), [])), `{{${label('routeType')}}}: {{${codeL}}}`)],
    },
    sessionAge: {
      type: 'heatmap',
      unit: 's',
      width: 8,
      queries: [
        {
          refId: 'A',
          expr: sumBy([BUCKET_LABEL], `increase(${selector(P.histogram('sessionAge', 'bucket'), [job, browser])}[${RI}])`),
          legend: `{{${BUCKET_LABEL}}}`,
          format: 'heatmap',
        },
      ],
    },
    tokenTimeToExpiry: {
      type: 'timeseries',
      unit: 's',
      width: 8,
      queries: [0.05, 0.5, 0.95].map((q, i) =>
        ts(String.fromCharCode(65 + i), quantile(q, P.histogram('tokenRemainingLifetime', 'bucket'), [browser]), `p${Math.round(q * 100)}`),
      ),
    },
    sessionCookieSize: {
      type: 'timeseries',
      unit: 'bytes',
      width: 12,
      queries: [0.5, 0.95, 0.99].map((q, i) =>
        ts(String.fromCharCode(65 + i), quantile(q, P.histogram('sessionCookieSize', 'bucket'), [browser]), `p${Math.round(q * 100)}`),
      ),
    },
    sessionCookieChunks: {
      type: 'timeseries',
      unit: 'short',
      width: 12,
      queries: [0.5, 0.99].map((q, i) =>
        ts(String.fromCharCode(65 + i), quantile(q, P.histogram('sessionCookieChunks', 'bucket'), [browser]), `p${Math.round(q * 100)}`),
      ),
    },
    handlerRuns: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 12,
      queries: [ts('A', sumBy([kindL, outcomeL], rate(H, [])), `{{${kindL}}}: {{${outcomeL}}}`)],
    },
    handlerErrors: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 12,
      queries: [
        ts(
          'A',
          // error.type as well: nextjs-auth0 v4 answers callback failures with a 5xx response, which carries no code.
          sumBy([kindL, codeL, label('errorType')], rate(H, [browser, eq(outcomeL, V.handlerError)])),
          `{{${kindL}}}: {{${codeL}}} {{${label('errorType')}}}`,
        ),
      ],
    },
    perRoute: {
      type: 'table',
      unit: 'short',
      width: 24,
      queries: [
        instant('A', byRoute(increase(R, [browser, hasRoute])), 'refresh attempts', 'table'),
        instant('B', byRoute(increase(R, [browser, hasRoute, failure])), 'refresh failures', 'table'),
        instant('C', byRoute(increase(M, [browser, hasRoute, eq(outcomeL, V.middlewareError)])), 'middleware errors', 'table'),
        instant('D', byRoute(increase(T, [browser, hasRoute, missingSession])), 'missing session', 'table'),
      ],
    },
    instrumentationErrors: {
      type: 'timeseries',
      unit: 'reqps',
      stacked: true,
      width: 24,
      queries: [ts('A', sumBy([label('stage')], rate(P.counter('instrumentationErrors'), [])), `{{${label('stage')}}}`)],
    },
  };
}

/** The `job` variable's query: every service that emits any of the plugin's series. */
export function jobVariableQuery(o: BuildOptions): string {
  const P = new PromNames(o.naming);
  const counters = (Object.keys(METRICS) as MetricName[]).filter((m): m is CounterMetric => METRICS[m].kind === 'counter');
  return `label_values({__name__=~"${counters.map((m) => P.counter(m)).join('|')}"}, ${JOB})`;
}

function target(q: GrafanaQuery): prometheus.DataqueryBuilder {
  const b = new prometheus.DataqueryBuilder()
    .refId(q.refId)
    .datasource(DS_REF)
    .expr(q.expr)
    .legendFormat(q.legend)
    .editorMode(prometheus.QueryEditorMode.Code)
    .format(
      q.format === 'heatmap'
        ? prometheus.PromQueryFormat.Heatmap
        : q.format === 'table'
          ? prometheus.PromQueryFormat.Table
          : prometheus.PromQueryFormat.TimeSeries,
    );
  return q.instant ? b.instant() : b.range();
}

function thresholds(slo: number | undefined): dashboard.ThresholdsConfigBuilder {
  const steps: dashboard.Threshold[] =
    slo === undefined
      ? [{ value: null, color: 'green' }]
      : [
          { value: null, color: 'red' },
          { value: slo, color: 'green' },
        ];
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
}

function panel(key: PanelKey, spec: GrafanaPanelSpec, id: number): { build(): dashboard.Panel } {
  const gridPos = { x: 0, y: 0, w: spec.width, h: spec.type === 'stat' ? 5 : 9 };
  switch (spec.type) {
    case 'stat': {
      const b = new stat.PanelBuilder()
        .colorMode(common.BigValueColorMode.Value)
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .textMode(common.BigValueTextMode.ValueAndName);
      return withCommon(b, key, spec, id, gridPos).thresholds(thresholds(spec.sloLine));
    }
    case 'timeseries': {
      const b = new timeseries.PanelBuilder()
        .fillOpacity(spec.stacked ? 40 : 10)
        .lineWidth(1)
        .legend(
          new common.VizLegendOptionsBuilder()
            .displayMode(common.LegendDisplayMode.Table)
            .placement(common.LegendPlacement.Bottom)
            .showLegend(true)
            .calcs(['mean', 'max', 'lastNotNull']),
        )
        .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
        .stacking(new common.StackingConfigBuilder().mode(spec.stacked ? common.StackingMode.Normal : common.StackingMode.None));
      withCommon(b, key, spec, id, gridPos).thresholds(thresholds(spec.sloLine));
      if (spec.sloLine !== undefined) {
        b.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed)).max(1);
      }
      return b;
    }
    case 'heatmap': {
      const b = new heatmap.PanelBuilder()
        .calculate(false)
        .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme('Oranges').steps(64))
        .rowsFrame(new heatmap.RowsHeatmapOptionsBuilder().layout(common.HeatmapCellLayout.Le))
        .yAxis(new heatmap.YAxisConfigBuilder().unit(spec.unit))
        .cellValues(new heatmap.CellValuesBuilder().unit('short'))
        .showLegend()
        .tooltip(new heatmap.HeatmapTooltipBuilder().mode(common.TooltipDisplayMode.Single).yHistogram(true));
      return withCommon(b, key, spec, id, gridPos);
    }
    case 'table': {
      const b = new table.PanelBuilder()
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation({
          id: 'organize',
          options: {
            excludeByName: { Time: true },
            renameByName: Object.fromEntries(spec.queries.map((q) => [`Value #${q.refId}`, q.legend])),
          },
        })
        .sortBy([new common.TableSortByFieldStateBuilder().displayName(spec.queries[1]?.legend ?? spec.queries[0]!.legend).desc(true)]);
      return withCommon(b, key, spec, id, gridPos);
    }
  }
}

type AnyPanelBuilder = stat.PanelBuilder | timeseries.PanelBuilder | heatmap.PanelBuilder | table.PanelBuilder;

function withCommon<B extends AnyPanelBuilder>(b: B, key: PanelKey, spec: GrafanaPanelSpec, id: number, gridPos: dashboard.GridPos): B {
  b.id(id).title(PANELS[key].title).description(PANELS[key].description).datasource(DS_REF).gridPos(gridPos).unit(spec.unit);
  for (const q of spec.queries) b.withTarget(target(q));
  return b;
}

export function grafanaDashboard(o: BuildOptions): dashboard.Dashboard {
  const specs = grafanaPanels(o);
  const b = new dashboard.DashboardBuilder(DASHBOARD_TITLE)
    .uid(DASHBOARD_UID)
    .description(
      'nextjs-auth-otel: token refreshes, sessions and middleware, with real users (browser class) separated from bots, ' +
        'uptime monitors and prefetches. Generated from the telemetry catalog by scripts/build-dashboards.ts.',
    )
    .tags(['nextjs-auth-otel', 'auth', 'opentelemetry'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .timezone('browser')
    .withVariable(new dashboard.DatasourceVariableBuilder(GRAFANA_VARS.datasource).label('Data source').type('prometheus'))
    .withVariable(
      new dashboard.QueryVariableBuilder(GRAFANA_VARS.job)
        .label('Service')
        .description('service.name of the instrumented app (Prometheus job)')
        .datasource(DS_REF)
        .query(jobVariableQuery(o))
        .definition(jobVariableQuery(o))
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    )
    .link(new dashboard.DashboardLinkBuilder('Runbook').type(dashboard.DashboardLinkType.Link).url(o.runbookUrl).targetBlank(true).icon('doc'));
  let id = 1;
  for (const row of ROWS) {
    const r = new dashboard.RowBuilder(row.title).id(id++);
    for (const key of row.panels) r.withPanel(panel(key, specs[key], id++));
    // withPanel() collapses the row (Grafana keeps nested panels only in collapsed rows); the rows
    // are shown expanded, so their panels are moved to the top level below.
    b.withRow(r.collapsed(false));
  }
  const built = b.build();
  built.schemaVersion = SCHEMA_VERSION;
  // Classic JSON model: an expanded row is followed by its panels at the top level; only collapsed
  // rows carry their panels inside.
  built.panels = (built.panels ?? []).flatMap((p) =>
    p.type === 'row' && !(p as dashboard.RowPanel).collapsed ? [{ ...p, panels: [] } as dashboard.RowPanel, ...((p as dashboard.RowPanel).panels ?? [])] : [p],
  );
  return built;
}
