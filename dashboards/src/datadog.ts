/**
 * Datadog dashboard and monitors. OTLP names reach Datadog unchanged (dots kept, no suffixes),
 * attributes become tags of the same key and `service.name` becomes the `service` tag. Datadog
 * lower-cases tag values, so values are written lower-case here.
 */
import { METRICS, SESSION_COOKIE_NEAR_LIMIT_BYTES } from '../../src/core/telemetry/catalog.js';
import { DATADOG_ENV_TAG, DATADOG_SERVICE_TAG, datadogMetricName, datadogTag } from '../../src/core/telemetry/naming.js';
import { ALERT_NAMES, THRESHOLDS, num, runbookAnchor, type Severity } from './alerts.js';
import type { BuildOptions } from './options.js';
import { DASHBOARD_TITLE, PANELS, ROWS, type PanelKey } from './panels.js';
import { V, type CounterMetric, type HistogramMetric } from './promql.js';

type Tag = readonly [key: string, value: string, negate?: boolean];
const tag = (attribute: Parameters<typeof datadogTag>[0], v: string, negate = false): Tag => [datadogTag(attribute), v, negate];

const SERVICE = DATADOG_SERVICE_TAG;
const ENV = DATADOG_ENV_TAG;
const TEMPLATE = [`$${SERVICE}`, `$${ENV}`];

function scope(tags: readonly Tag[], templated: boolean, raw: readonly string[] = []): string {
  const parts = [...(templated ? TEMPLATE : []), ...tags.map(([k, v, negate]) => `${negate ? '!' : ''}${k}:${v.toLowerCase()}`), ...raw];
  return `{${parts.length ? parts.join(',') : '*'}}`;
}

const browser = tag('userAgentClass', V.browser);
const notBrowser = tag('userAgentClass', V.browser, true);
const failure = tag('outcome', V.refreshFailure);
const success = tag('outcome', V.refreshSuccess);

/** `sum:metric{scope} by {groups}.as_count()` */
function countQuery(metric: CounterMetric, tags: readonly Tag[], groups: readonly string[] = [], templated = true, raw: readonly string[] = []): string {
  const by = groups.length ? ` by {${groups.join(',')}}` : '';
  return `sum:${datadogMetricName(metric)}${scope(tags, templated, raw)}${by}.as_count()`;
}

/** `(key:a OR key:b)`: a tag filter matching any of the values. */
const anyOf = (key: string, values: readonly string[]): string => `(${values.map((v) => `${key}:${v.toLowerCase()}`).join(' OR ')})`;

function distQuery(agg: string, metric: HistogramMetric, tags: readonly Tag[]): string {
  return `${agg}:${datadogMetricName(metric)}${scope(tags, true)}`;
}

// ---- dashboard ----------------------------------------------------------------------------------

type Json = Record<string, unknown>;
interface Q {
  name: string;
  query: string;
  aggregator?: 'avg' | 'min' | 'max' | 'sum' | 'last' | 'area' | 'l2norm' | 'percentile';
}

const metricQueries = (qs: readonly Q[]) =>
  qs.map((q) => ({ data_source: 'metrics', name: q.name, query: q.query, ...(q.aggregator ? { aggregator: q.aggregator } : {}) }));

function timeseriesWidget(key: PanelKey, qs: Q[], formulas: Json[], displayType: 'line' | 'bars' | 'area', extra: Json = {}): Json {
  return {
    definition: {
      type: 'timeseries',
      title: PANELS[key].title,
      title_size: '16',
      title_align: 'left',
      show_legend: true,
      legend_layout: 'auto',
      requests: [{ queries: metricQueries(qs), formulas, response_format: 'timeseries', display_type: displayType }],
      ...extra,
    },
  };
}

function queryValueWidget(key: PanelKey, qs: Q[], formula: Json, precision = 2): Json {
  return {
    definition: {
      type: 'query_value',
      title: PANELS[key].title,
      title_size: '16',
      title_align: 'left',
      autoscale: true,
      precision,
      requests: [{ queries: metricQueries(qs), formulas: [formula], response_format: 'scalar' }],
    },
  };
}

/** Widgets by panel key. Exported for the tests. */
export function datadogWidgets(o: BuildOptions): Record<PanelKey, Json> {
  const R: CounterMetric = 'tokenRefreshes';
  const code = datadogTag('errorCode');
  const cls = datadogTag('userAgentClass');
  const outcome = datadogTag('outcome');
  const route = datadogTag('route');
  const withMissing = (tags: readonly Tag[], groups: string[] = []) => countQuery('tokenRequests', tags, groups, true, [anyOf(code, V.missingSessionCodes)]);
  const sloPct = num(o.slo * 100);

  return {
    realUserSuccess: queryValueWidget(
      'realUserSuccess',
      [
        { name: 'ok', query: countQuery(R, [browser, success]), aggregator: 'sum' },
        { name: 'all', query: countQuery(R, [browser]), aggregator: 'sum' },
      ],
      {
        formula: '100 * ok / all',
        number_format: { unit: { type: 'canonical_unit', unit_name: 'percent' } },
        conditional_formats: [
          { comparator: '<', value: Number(sloPct), palette: 'white_on_red' },
          { comparator: '>=', value: Number(sloPct), palette: 'white_on_green' },
        ],
      },
    ),
    failuresRealVsNoise: {
      definition: {
        type: 'query_table',
        title: PANELS.failuresRealVsNoise.title,
        title_size: '16',
        title_align: 'left',
        requests: [
          {
            queries: metricQueries([{ name: 'failed', query: countQuery(R, [failure], [cls]), aggregator: 'sum' }]),
            formulas: [{ formula: 'failed', alias: 'failed refreshes' }],
            response_format: 'scalar',
            sort: { count: 10, order_by: [{ type: 'formula', index: 0, order: 'desc' }] },
          },
        ],
      },
    },
    realUsersAffected: {
      definition: {
        type: 'query_table',
        title: PANELS.realUsersAffected.title,
        title_size: '16',
        title_align: 'left',
        requests: [
          {
            queries: metricQueries([
              { name: 'affected', query: countQuery('sessionsAffected', [browser], [datadogTag('affectedOutcome')]), aggregator: 'sum' },
            ]),
            formulas: [{ formula: 'affected', alias: 'sessions affected' }],
            response_format: 'scalar',
            sort: { count: 10, order_by: [{ type: 'formula', index: 0, order: 'desc' }] },
          },
        ],
      },
    },
    missingSessionRealShare: queryValueWidget(
      'missingSessionRealShare',
      [
        { name: 'real', query: withMissing([browser]), aggregator: 'sum' },
        { name: 'all', query: withMissing([]), aggregator: 'sum' },
      ],
      { formula: '100 * real / all', number_format: { unit: { type: 'canonical_unit', unit_name: 'percent' } } },
    ),
    successRatioVsSlo: timeseriesWidget(
      'successRatioVsSlo',
      [
        { name: 'ok', query: countQuery(R, [browser, success], [SERVICE]) },
        { name: 'all', query: countQuery(R, [browser], [SERVICE]) },
      ],
      [{ formula: '100 * ok / all', alias: 'success %' }],
      'line',
      { markers: [{ value: `y = ${sloPct}`, display_type: 'error dashed', label: `SLO ${sloPct} %` }], yaxis: { max: '100' } },
    ),
    realUserFailuresByCode: timeseriesWidget(
      'realUserFailuresByCode',
      [{ name: 'failed', query: countQuery(R, [browser, failure], [code]) }],
      [{ formula: 'failed' }],
      'bars',
    ),
    realUserFailuresByKind: timeseriesWidget(
      'realUserFailuresByKind',
      [{ name: 'failed', query: countQuery(R, [browser, failure], [datadogTag('failureKind')]) }],
      [{ formula: 'failed' }],
      'bars',
    ),
    involuntaryLogouts: timeseriesWidget(
      'involuntaryLogouts',
      [
        { name: 'terminal', query: countQuery(R, [browser, failure, tag('failureKind', V.terminal)]) },
        { name: 'lost', query: countQuery('refreshUnpersisted', [browser, tag('unpersistedReason', V.tokenReused)]) },
        { name: 'cookie', query: countQuery('sessionReads', [browser, tag('outcome', V.sessionInvalid)], [datadogTag('invalidReason')]) },
        { name: 'expired', query: countQuery('tokenRequests', [browser, tag('outcome', V.tokenError), tag('errorCode', V.sessionExpired)]) },
      ],
      [
        { formula: 'terminal', alias: 'terminal refresh failure' },
        { formula: 'lost', alias: 'lost rotation' },
        { formula: 'cookie', alias: 'unreadable cookie' },
        { formula: 'expired', alias: 'session expired' },
      ],
      'line',
    ),
    failuresByClass: timeseriesWidget('failuresByClass', [{ name: 'failed', query: countQuery(R, [failure], [cls]) }], [{ formula: 'failed' }], 'bars'),
    refreshLatency: timeseriesWidget(
      'refreshLatency',
      (['p50', 'p95', 'p99'] as const).map((p) => ({ name: p, query: distQuery(p, 'tokenRefreshDuration', []) })),
      ['p50', 'p95', 'p99'].map((p) => ({ formula: p, alias: p })),
      'line',
    ),
    unpersisted: timeseriesWidget(
      'unpersisted',
      [{ name: 'unpersisted', query: countQuery('refreshUnpersisted', [], [datadogTag('unpersistedReason'), cls]) }],
      [{ formula: 'unpersisted' }],
      'bars',
    ),
    refreshRaces: timeseriesWidget(
      'refreshRaces',
      [{ name: 'races', query: countQuery('refreshReuses', [tag('reuseKind', V.race)], [code, cls]) }],
      [{ formula: 'races' }],
      'bars',
    ),
    lostRotations: timeseriesWidget(
      'lostRotations',
      [{ name: 'lost', query: countQuery('refreshReuses', [tag('reuseKind', V.lostRotation)], [code, cls]) }],
      [{ formula: 'lost' }],
      'bars',
    ),
    middlewareRuns: timeseriesWidget(
      'middlewareRuns',
      [{ name: 'runs', query: countQuery('middlewareRuns', [], [outcome, cls]) }],
      [{ formula: 'runs' }],
      'bars',
    ),
    middlewareLatency: timeseriesWidget(
      'middlewareLatency',
      (['p50', 'p95', 'p99'] as const).map((p) => ({ name: p, query: distQuery(p, 'middlewareDuration', []) })),
      ['p50', 'p95', 'p99'].map((p) => ({ formula: p, alias: p })),
      'line',
    ),
    missingSessionByClass: timeseriesWidget('missingSessionByClass', [{ name: 'missing', query: withMissing([], [cls]) }], [{ formula: 'missing' }], 'bars'),
    invalidCookies: timeseriesWidget(
      'invalidCookies',
      [
        {
          name: 'invalid',
          query: countQuery('sessionReads', [tag('outcome', V.sessionInvalid)], [datadogTag('invalidReason'), cls]),
        },
      ],
      [{ formula: 'invalid' }],
      'bars',
    ),
    requestErrors: timeseriesWidget(
      'requestErrors',
      [{ name: 'errors', query: countQuery('requestErrors', [], [datadogTag('routeType'), datadogTag('errorCode')]) }],
      [{ formula: 'errors' }],
      'bars',
    ),
    sessionCookieSize: timeseriesWidget(
      'sessionCookieSize',
      (['p50', 'p95', 'p99'] as const).map((p) => ({ name: p, query: distQuery(p, 'sessionCookieSize', [browser]) })),
      ['p50', 'p95', 'p99'].map((p) => ({ formula: p, alias: p })),
      'line',
      {
        markers: [
          { value: 'y = 4096', display_type: 'warning dashed', label: 'one cookie (4 KiB)' },
          { value: 'y = 8192', display_type: 'error dashed', label: 'proxy header limit (8 KiB)' },
        ],
      },
    ),
    sessionCookieChunks: timeseriesWidget(
      'sessionCookieChunks',
      (['p50', 'p99', 'max'] as const).map((p) => ({ name: p, query: distQuery(p, 'sessionCookieChunks', [browser]) })),
      ['p50', 'p99', 'max'].map((p) => ({ formula: p, alias: p })),
      'line',
    ),
    sessionAge: {
      definition: {
        type: 'heatmap',
        title: PANELS.sessionAge.title,
        title_size: '16',
        title_align: 'left',
        show_legend: false,
        requests: [{ q: distQuery('avg', 'sessionAge', [browser]) }],
        yaxis: { scale: 'log', include_zero: false },
      },
    },
    tokenTimeToExpiry: timeseriesWidget(
      'tokenTimeToExpiry',
      (['p5', 'p50', 'p95'] as const).map((p) => ({ name: p, query: distQuery(p, 'tokenRemainingLifetime', [browser]) })),
      ['p5', 'p50', 'p95'].map((p) => ({ formula: p, alias: p })),
      'line',
    ),
    handlerRuns: timeseriesWidget(
      'handlerRuns',
      [{ name: 'runs', query: countQuery('handlerRequests', [], [datadogTag('handlerKind'), outcome]) }],
      [{ formula: 'runs' }],
      'bars',
    ),
    handlerErrors: timeseriesWidget(
      'handlerErrors',
      [
        {
          name: 'errors',
          query: countQuery('handlerRequests', [browser, tag('outcome', V.handlerError)], [datadogTag('handlerKind'), code, datadogTag('errorType')]),
        },
      ],
      [{ formula: 'errors' }],
      'bars',
    ),
    perRoute: {
      definition: {
        type: 'query_table',
        title: PANELS.perRoute.title,
        title_size: '16',
        title_align: 'left',
        requests: [
          {
            queries: metricQueries([
              { name: 'attempts', query: countQuery(R, [browser], [route]), aggregator: 'sum' },
              { name: 'failures', query: countQuery(R, [browser, failure], [route]), aggregator: 'sum' },
              {
                name: 'mw_errors',
                query: countQuery('middlewareRuns', [browser, tag('outcome', V.middlewareError)], [route]),
                aggregator: 'sum',
              },
              { name: 'missing', query: withMissing([browser], [route]), aggregator: 'sum' },
            ]),
            formulas: [
              { formula: 'attempts', alias: 'refresh attempts' },
              { formula: 'failures', alias: 'refresh failures' },
              { formula: 'mw_errors', alias: 'middleware errors' },
              { formula: 'missing', alias: 'missing session' },
            ],
            response_format: 'scalar',
            sort: { count: 50, order_by: [{ type: 'formula', index: 1, order: 'desc' }] },
          },
        ],
      },
    },
    instrumentationErrors: timeseriesWidget(
      'instrumentationErrors',
      [{ name: 'errors', query: countQuery('instrumentationErrors', [], [datadogTag('stage')]) }],
      [{ formula: 'errors' }],
      'bars',
    ),
  };
}

export function datadogDashboard(o: BuildOptions): Json {
  const widgets = datadogWidgets(o);
  return {
    title: DASHBOARD_TITLE,
    description:
      'nextjs-auth-otel: token refreshes, sessions and middleware, real users (browser class) separated from bots, uptime ' +
      `monitors and prefetches. Runbook: ${o.runbookUrl}. Generated by scripts/build-dashboards.ts.`,
    layout_type: 'ordered',
    reflow_type: 'auto',
    template_variables: [
      { name: SERVICE, prefix: SERVICE, available_values: [], default: '*' },
      { name: ENV, prefix: ENV, available_values: [], default: '*' },
    ],
    widgets: ROWS.map((row) => ({
      definition: {
        type: 'group',
        title: row.title,
        layout_type: 'ordered',
        show_title: true,
        widgets: row.panels.map((key) => widgets[key]),
      },
    })),
    notify_list: [],
  };
}

// ---- monitors -----------------------------------------------------------------------------------

const PRIORITY: Record<Severity, number> = { critical: 1, warning: 3, info: 5 };
const GROUPS = [SERVICE, ENV];
const MONITOR_TAG = 'nextjs-auth-otel';

/** Placeholder a composite query uses for another monitor's id; see docs/dashboards.md for the import. */
export const monitorRef = (ref: string): string => `\${${ref}}`;

export interface DatadogMonitor {
  name: string;
  type: 'query alert' | 'composite';
  query: string;
  message: string;
  tags: string[];
  priority: number;
  options: Json;
}

function monitorMessage(o: BuildOptions, alert: string, text: string): string {
  return `${text}\n\nRunbook: ${o.runbookUrl}#${runbookAnchor(alert)}`;
}

export function datadogMonitors(o: BuildOptions): DatadogMonitor[] {
  const R: CounterMetric = 'tokenRefreshes';
  const budget = 1 - o.slo;
  const groupText = `{{${SERVICE}.name}} ({{${ENV}.name}})`;
  const out: DatadogMonitor[] = [];

  const component = (ref: string, alert: string, what: string, query: string, critical: number): DatadogMonitor => ({
    name: `[nextjs-auth-otel] ${alert} / ${what}`,
    type: 'query alert',
    query,
    message: monitorMessage(o, alert, `Component of the composite monitor ${alert}; it does not notify on its own. ${what} on ${groupText}.`),
    tags: [MONITOR_TAG, `${MONITOR_TAG}-ref:${ref}`, 'component'],
    priority: 5,
    options: {
      thresholds: { critical },
      notify_no_data: false,
      require_full_window: false,
      include_tags: true,
      on_missing_data: 'default',
    },
  });

  // Burn rate: four windows + traffic guard, combined in a composite.
  const ratioQuery = (w: string) => `sum(last_${w}):${countQuery(R, [browser, failure], GROUPS, false)} / ${countQuery(R, [browser], GROUPS, false)}`;
  const refs: string[] = [];
  for (const { long, short, factor } of THRESHOLDS.burnRates) {
    for (const w of [long, short]) {
      const threshold = Number(num(factor * budget));
      const ref = `refresh-burn-${w}`;
      refs.push(ref);
      out.push(
        component(ref, ALERT_NAMES.burn, `browser refresh failure ratio over ${w} above ${factor}x budget`, `${ratioQuery(w)} > ${threshold}`, threshold),
      );
    }
  }
  out.push(
    component(
      'refresh-traffic-guard',
      ALERT_NAMES.burn,
      `at least ${o.minRefreshesPerHour} browser refreshes in the last hour`,
      `sum(last_1h):${countQuery(R, [browser], GROUPS, false)} >= ${o.minRefreshesPerHour}`,
      o.minRefreshesPerHour,
    ),
  );
  const [l1, s1, l2, s2] = refs.map(monitorRef);
  out.push({
    name: `[nextjs-auth-otel] ${ALERT_NAMES.burn}`,
    type: 'composite',
    query: `((${l1} && ${s1}) || (${l2} && ${s2})) && ${monitorRef('refresh-traffic-guard')}`,
    message: monitorMessage(
      o,
      ALERT_NAMES.burn,
      `Real users are failing token refreshes on ${groupText}: the browser-class refresh failure ratio burns the ` +
        `${num(o.slo * 100)} % SLO's error budget fast. Bots and monitors are excluded. Users whose refresh fails are sent back to login.`,
    ),
    tags: [MONITOR_TAG, 'severity:critical'],
    priority: PRIORITY.critical,
    options: { notify_no_data: false, include_tags: true },
  });

  // Middleware errors: ratio + volume, combined.
  const M: CounterMetric = 'middlewareRuns';
  const mwErrors =
    `${countQuery(M, [browser, tag('outcome', V.middlewareError)], GROUPS, false)} + ` +
    `${countQuery(M, [browser, tag('outcome', V.middlewareError, true), tag('errorType', '5*')], GROUPS, false)}`;
  out.push(
    component(
      'middleware-error-ratio',
      ALERT_NAMES.middleware,
      `browser middleware error ratio above ${THRESHOLDS.middlewareErrorRatio}`,
      `sum(last_5m):(${mwErrors}) / ${countQuery(M, [browser], GROUPS, false)} > ${THRESHOLDS.middlewareErrorRatio}`,
      THRESHOLDS.middlewareErrorRatio,
    ),
    component(
      'middleware-error-volume',
      ALERT_NAMES.middleware,
      `at least ${THRESHOLDS.middlewareMinErrorsPer5m} browser middleware errors in 5 minutes`,
      `sum(last_5m):${mwErrors} >= ${THRESHOLDS.middlewareMinErrorsPer5m}`,
      THRESHOLDS.middlewareMinErrorsPer5m,
    ),
  );
  out.push({
    name: `[nextjs-auth-otel] ${ALERT_NAMES.middleware}`,
    type: 'composite',
    query: `${monitorRef('middleware-error-ratio')} && ${monitorRef('middleware-error-volume')}`,
    message: monitorMessage(
      o,
      ALERT_NAMES.middleware,
      `Auth middleware throws or answers 5xx for real users on ${groupText} (e.g. JWTExpired on a stale session cookie).`,
    ),
    tags: [MONITOR_TAG, 'severity:critical'],
    priority: PRIORITY.critical,
    options: { notify_no_data: false, include_tags: true },
  });

  const single = (alert: string, severity: Severity, query: string, critical: number, text: string): DatadogMonitor => ({
    name: `[nextjs-auth-otel] ${alert}`,
    type: 'query alert',
    query,
    message: monitorMessage(o, alert, text),
    tags: [MONITOR_TAG, `severity:${severity}`],
    priority: PRIORITY[severity],
    options: {
      thresholds: { critical },
      notify_no_data: false,
      require_full_window: false,
      include_tags: true,
      on_missing_data: 'default',
    },
  });

  const reason = datadogTag('unpersistedReason');
  out.push(
    single(
      ALERT_NAMES.unpersisted,
      'warning',
      `sum(last_30m):${countQuery('refreshUnpersisted', [browser], [...GROUPS, reason], false)} >= ${THRESHOLDS.unpersistedMinPer30m}`,
      THRESHOLDS.unpersistedMinPer30m,
      `Refreshed tokens are not being saved to the session cookie on ${groupText} (reason {{${reason}.name}}). ` +
        'With refresh-token rotation the next refresh reuses the old token and fails with invalid_grant.',
    ),
  );
  const S: CounterMetric = 'sessionReads';
  const present = anyOf(datadogTag('outcome'), [V.sessionFound, V.sessionInvalid]);
  out.push(
    single(
      ALERT_NAMES.invalidCookies,
      'warning',
      `sum(last_15m):${countQuery(S, [browser, tag('outcome', V.sessionInvalid)], GROUPS, false)} / ` +
        `${countQuery(S, [browser], GROUPS, false, [present])} > ${THRESHOLDS.invalidCookieRatio}`,
      THRESHOLDS.invalidCookieRatio,
      `Session cookies sent by real users cannot be read on ${groupText}: a rotated secret, a cookie format change or expired cookies. ` +
        'The SDK treats these users as logged out.',
    ),
  );
  // p99 above the limit is the same condition as "more than 1 % of the reads above it".
  const percentile = `p${Math.round((1 - THRESHOLDS.cookieNearLimitRatio) * 100)}`;
  out.push(
    single(
      ALERT_NAMES.cookieSize,
      'warning',
      `avg(last_30m):${percentile}:${datadogMetricName('sessionCookieSize')}${scope([browser], false)} by {${GROUPS.join(',')}} > ${SESSION_COOKIE_NEAR_LIMIT_BYTES}`,
      SESSION_COOKIE_NEAR_LIMIT_BYTES,
      `More than ${num(THRESHOLDS.cookieNearLimitRatio * 100)} % of real users' session cookies on ${groupText} are above ` +
        `${SESSION_COOKIE_NEAR_LIMIT_BYTES / 1024} KiB (all chunks together), close to the 8 KiB header limit of common proxies: past it, ` +
        'requests fail with 400 / 431 before the app runs.',
    ),
  );
  const noise =
    `${countQuery('tokenRequests', [notBrowser, tag('outcome', V.tokenError)], GROUPS, false)} + ` + `${countQuery(R, [notBrowser, failure], GROUPS, false)}`;
  const growthPct = (THRESHOLDS.noiseGrowthFactor - 1) * 100;
  out.push(
    single(
      ALERT_NAMES.noise,
      'info',
      `pct_change(sum(last_1h),last_1d):${noise} > ${growthPct}`,
      growthPct,
      `Informational, never pages: auth errors from bots, uptime monitors, prefetches and CLIs on ${groupText} grew more than ` +
        `${THRESHOLDS.noiseGrowthFactor}x against the same hour yesterday. Usually ERR_MISSING_SESSION from a synthetic check on a ` +
        'protected route: exclude it from the middleware matcher.',
    ),
  );
  return out;
}

/** Every metric name the Datadog artefacts may reference. */
export const DATADOG_METRIC_NAMES = (Object.keys(METRICS) as (keyof typeof METRICS)[]).map(datadogMetricName);
