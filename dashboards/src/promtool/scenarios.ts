/**
 * Alert scenarios, run with `promtool test rules`. Each check lists the alerts that must be firing at
 * that minute; every other alert must be silent. Each check also evaluates every Grafana-managed
 * rule's inline expression and requires it to return exactly what the recorded Prometheus
 * expression returns.
 */
import {
  ERROR_CODES,
  ERROR_TYPES,
  INVALID_COOKIE_REASONS,
  MIDDLEWARE_OUTCOMES,
  REFRESH_OUTCOMES,
  SESSION_READ_OUTCOMES,
  TOKEN_REQUEST_OUTCOMES,
  UNPERSISTED_REASONS,
  USER_AGENT_CLASSES,
} from '../../../src/core/catalog.js';
import { ALERT_NAMES, allAlerts, inlineRef, recordedRef, runbookAnchor } from '../alerts.js';
import type { BuildOptions } from '../options.js';
import { JOB, PromNames, label, value } from '../promql.js';
import { GENERATED_HEADER } from '../rules-render.js';
import { minutes, renderTemplate, renderTestFile, type AlertTest, type ExprTest, type TestGroup } from './render.js';
import { piecewise, seriesFactory, stepped, type Labels, type Series } from './series.js';

type AlertName = (typeof ALERT_NAMES)[keyof typeof ALERT_NAMES];

export interface Firing {
  readonly labels: Labels;
  /** The alert's `$value` at that minute, for its annotations. */
  readonly value: number;
}

export interface Check {
  readonly at: number;
  readonly firing?: Partial<Record<AlertName, readonly Firing[]>>;
}

export interface ScenarioGroup {
  readonly name: string;
  readonly series: readonly Series[];
  readonly checks: readonly Check[];
}

export interface Scenario {
  /** File name under dashboards/prometheus/tests/. */
  readonly file: string;
  readonly title: string;
  readonly groups: readonly ScenarioGroup[];
}

export const JOB_UNDER_TEST = 'shop';

const cls = {
  browser: value(USER_AGENT_CLASSES, 'browser'),
  bot: value(USER_AGENT_CLASSES, 'bot'),
  monitor: value(USER_AGENT_CLASSES, 'monitor'),
};
const outcome = {
  success: value(REFRESH_OUTCOMES, 'success'),
  failure: value(REFRESH_OUTCOMES, 'failure'),
  cached: value(TOKEN_REQUEST_OUTCOMES, 'cached'),
  tokenError: value(TOKEN_REQUEST_OUTCOMES, 'error'),
  pass: value(MIDDLEWARE_OUTCOMES, 'pass'),
  mwError: value(MIDDLEWARE_OUTCOMES, 'error'),
  found: value(SESSION_READ_OUTCOMES, 'found'),
  invalid: value(SESSION_READ_OUTCOMES, 'invalid'),
};
const code = {
  invalidGrant: value(ERROR_CODES, 'invalid_grant'),
  missingSession: value(ERROR_CODES, 'ERR_MISSING_SESSION'),
  jwtExpired: value(ERROR_CODES, 'ERR_JWT_EXPIRED'),
  jweInvalid: value(ERROR_CODES, 'ERR_JWE_INVALID'),
};
const errType = {
  jwtExpired: value(ERROR_TYPES, 'JWTExpired'),
  jweInvalid: value(ERROR_TYPES, 'JWEInvalid'),
  idp: value(ERROR_TYPES, 'IdentityProviderError'),
  accessToken: value(ERROR_TYPES, 'AccessTokenError'),
  s503: value(ERROR_TYPES, '503'),
};
const ROUTE = '/dashboard';

export function scenarios(o: BuildOptions): Scenario[] {
  const S = seriesFactory(new PromNames(o.naming), JOB_UNDER_TEST);
  const job = { [JOB]: JOB_UNDER_TEST };
  const lin = (...segs: [minutes: number, perMinute: number][]) =>
    piecewise(segs.map(([m, p]) => ({ minutes: m, perMinute: p })));

  // ---- bot / monitor storm ----------------------------------------------------------------------
  const DAY = 1440;
  const base = DAY + 60; // a full day of history so the 1-day noise average is real
  const storm = 120;
  const stormSeries = {
    browserOk: S.counter('tokenRefreshes', { userAgentClass: cls.browser, outcome: outcome.success, route: ROUTE }, lin([base + storm, 60])),
    browserFail: S.counter(
      'tokenRefreshes',
      { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
      lin([base + storm, 0.06]),
    ),
    monitorFail: S.counter(
      'tokenRefreshes',
      { userAgentClass: cls.monitor, syntheticType: 'test', outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp },
      lin([base, 0], [storm, 30]),
    ),
    botFail: S.counter(
      'tokenRefreshes',
      { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp },
      lin([base, 0], [storm, 12]),
    ),
    monitorMissing: S.counter(
      'tokenRequests',
      { userAgentClass: cls.monitor, syntheticType: 'test', outcome: outcome.tokenError, errorCode: code.missingSession, errorType: errType.accessToken },
      lin([base, 6], [storm, 600]),
    ),
    botMissing: S.counter(
      'tokenRequests',
      { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.tokenError, errorCode: code.missingSession, errorType: errType.accessToken },
      lin([base, 3], [storm, 120]),
    ),
    browserTokens: S.counter('tokenRequests', { userAgentClass: cls.browser, outcome: outcome.cached, route: ROUTE }, lin([base + storm, 600])),
    browserMw: S.counter('middlewareRuns', { userAgentClass: cls.browser, outcome: outcome.pass, route: ROUTE }, lin([base + storm, 600])),
    monitorMw: S.counter('middlewareRuns', { userAgentClass: cls.monitor, syntheticType: 'test', outcome: outcome.pass }, lin([base, 6], [storm, 600])),
    botMwErrors: S.counter(
      'middlewareRuns',
      { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.mwError, errorCode: code.jweInvalid, errorType: errType.jweInvalid },
      lin([base, 0], [storm, 60]),
    ),
  };
  const noiseRate1h = (t: number) =>
    [stormSeries.monitorMissing, stormSeries.botMissing, stormSeries.monitorFail, stormSeries.botFail].reduce(
      (sum, s) => sum + s.rate(t, 60),
      0,
    );

  // ---- real users ------------------------------------------------------------------------------
  const freshOk = S.counter('tokenRefreshes', { userAgentClass: cls.browser, outcome: outcome.success, route: ROUTE }, lin([20, 54]));
  const freshFail = S.counter(
    'tokenRefreshes',
    { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
    lin([20, 6]),
  );
  const outageOk = S.counter('tokenRefreshes', { userAgentClass: cls.browser, outcome: outcome.success, route: ROUTE }, lin([360, 60], [25, 30]));
  const outageFail = S.counter(
    'tokenRefreshes',
    { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
    lin([360, 0], [25, 30]),
  );
  const outageRatio1h = (t: number) => outageFail.increase(t, 60) / (outageFail.increase(t, 60) + outageOk.increase(t, 60));
  const slowOk = S.counter('tokenRefreshes', { userAgentClass: cls.browser, outcome: outcome.success, route: ROUTE }, lin([360, 60], [20, 54]));
  const slowFail = S.counter(
    'tokenRefreshes',
    { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
    lin([360, 0], [20, 6]),
  );

  // ---- middleware ------------------------------------------------------------------------------
  const mwPass = S.counter('middlewareRuns', { userAgentClass: cls.browser, outcome: outcome.pass, route: ROUTE }, lin([60, 600]));
  const mwBrowserErrors = S.counter(
    'middlewareRuns',
    { userAgentClass: cls.browser, outcome: outcome.mwError, errorCode: code.jwtExpired, errorType: errType.jwtExpired, route: ROUTE },
    lin([20, 0], [40, 20]),
  );
  const mwBotErrors = S.counter(
    'middlewareRuns',
    { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.mwError, errorCode: code.jweInvalid, errorType: errType.jweInvalid },
    lin([60, 300]),
  );
  const mw503 = S.counter(
    'middlewareRuns',
    { userAgentClass: cls.browser, outcome: outcome.pass, errorType: errType.s503, route: ROUTE },
    lin([30, 12]),
  );
  const mwPass30 = S.counter('middlewareRuns', { userAgentClass: cls.browser, outcome: outcome.pass, route: ROUTE }, lin([30, 600]));

  // ---- sessions ---------------------------------------------------------------------------------
  const readOnly = value(UNPERSISTED_REASONS, 'read_only_context');
  const unpersistedBrowser = S.counter('refreshUnpersisted', { userAgentClass: cls.browser, unpersistedReason: readOnly, route: ROUTE }, lin([60, 1]));
  const unpersistedMonitor = S.counter(
    'refreshUnpersisted',
    { userAgentClass: cls.monitor, syntheticType: 'test', unpersistedReason: value(UNPERSISTED_REASONS, 'no_response') },
    lin([60, 5]),
  );
  const undecryptable = value(INVALID_COOKIE_REASONS, 'undecryptable');
  const found = S.counter('sessionReads', { userAgentClass: cls.browser, outcome: outcome.found }, lin([30, 600], [30, 500]));
  const invalid = S.counter(
    'sessionReads',
    { userAgentClass: cls.browser, outcome: outcome.invalid, invalidReason: undecryptable, errorCode: value(ERROR_CODES, 'ERR_JWE_DECRYPTION_FAILED') },
    lin([30, 0], [30, 100]),
  );
  const botMalformed = S.counter(
    'sessionReads',
    { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.invalid, invalidReason: value(INVALID_COOKIE_REASONS, 'malformed') },
    lin([60, 50]),
  );
  const invalidRatio15m = (t: number) => invalid.increase(t, 15) / (invalid.increase(t, 15) + found.increase(t, 15));

  return [
    {
      file: 'bot-storm.yaml',
      title: 'Bot and monitor failure storm: no page, only the info alert',
      groups: [
        {
          name: 'Datadog Synthetics and crawlers storm a protected route for 2 h after a day of baseline; real users are fine',
          series: Object.values(stormSeries),
          checks: [
            { at: base }, // a day of baseline noise: nothing
            { at: base + 10 }, // storm pending for the info alert; no page
            { at: base + 60, firing: { [ALERT_NAMES.noise]: [{ labels: job, value: noiseRate1h(base + 60) }] } },
            { at: base + storm, firing: { [ALERT_NAMES.noise]: [{ labels: job, value: noiseRate1h(base + storm) }] } },
          ],
        },
      ],
    },
    {
      file: 'real-user-burn.yaml',
      title: 'Real-user refresh failures page',
      groups: [
        {
          name: 'Real users fail 10 % of refreshes for 20 min (series start with the failures): the 6h/30m pair pages',
          series: [freshOk, freshFail],
          checks: [
            { at: 1 },
            { at: 3 }, // condition true since minute 2 (traffic guard reached), pending for 2m
            { at: 20, firing: { [ALERT_NAMES.burn]: [{ labels: job, value: 0.1 }] } },
          ],
        },
        {
          name: 'Hard outage after 6 h of healthy traffic: 50 % failures page through the 1h/5m pair within 20 min',
          series: [outageOk, outageFail],
          checks: [
            { at: 360 },
            { at: 370 }, // 1h ratio 8.3 %: below 14.4 x 1 %
            { at: 385, firing: { [ALERT_NAMES.burn]: [{ labels: job, value: outageRatio1h(385) }] } },
          ],
        },
        {
          name: 'Budget arithmetic: 10 % for 20 min after 6 h of healthy traffic stays below both pairs (1h 3.3 %, 6h 0.6 %)',
          series: [slowOk, slowFail],
          checks: [{ at: 380 }],
        },
      ],
    },
    {
      file: 'low-traffic.yaml',
      title: 'Low traffic, all failing: silent (traffic guard)',
      groups: [
        {
          name: 'One real-user refresh every 5 minutes, every one failing (12/h, guard is ' + o.minRefreshesPerHour + '/h)',
          series: [
            S.counter(
              'tokenRefreshes',
              { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
              stepped(180, (m) => Math.floor(m / 5)),
            ),
          ],
          checks: [{ at: 30 }, { at: 60 }, { at: 120 }, { at: 180 }],
        },
      ],
    },
    {
      file: 'middleware-errors.yaml',
      title: 'Middleware exceptions and 5xx for real users page; bots do not',
      groups: [
        {
          name: 'Stale session cookies crash middleware with JWTExpired (seed 002) from minute 20; crawlers with garbage cookies all along',
          series: [mwPass, mwBrowserErrors, mwBotErrors],
          checks: [
            { at: 15 },
            {
              at: 30,
              firing: {
                [ALERT_NAMES.middleware]: [
                  { labels: job, value: mwBrowserErrors.rate(30, 5) / (mwBrowserErrors.rate(30, 5) + mwPass.rate(30, 5)) },
                ],
              },
            },
          ],
        },
        {
          name: 'Middleware answers 503 without throwing',
          series: [mwPass30, mw503],
          checks: [
            {
              at: 30,
              firing: { [ALERT_NAMES.middleware]: [{ labels: job, value: mw503.rate(30, 5) / (mw503.rate(30, 5) + mwPass30.rate(30, 5)) }] },
            },
          ],
        },
      ],
    },
    {
      file: 'unpersisted.yaml',
      title: 'Refreshes in Server Components that are never saved: warning',
      groups: [
        {
          name: 'A real user refreshes in a Server Component every minute; a monitor without a response object too',
          series: [unpersistedBrowser, unpersistedMonitor],
          checks: [
            { at: 5 },
            {
              at: 45,
              firing: {
                [ALERT_NAMES.unpersisted]: [
                  { labels: { ...job, [label('unpersistedReason')]: readOnly }, value: unpersistedBrowser.increase(45, 30) },
                ],
              },
            },
          ],
        },
      ],
    },
    {
      file: 'invalid-cookies.yaml',
      title: 'Unreadable session cookies after a secret rotation: warning',
      groups: [
        {
          name: 'The cookie secret rotates at minute 30: one in six real-user cookies cannot be decrypted; bots send malformed cookies all along',
          series: [found, invalid, botMalformed],
          checks: [
            { at: 25 },
            {
              at: 60,
              firing: {
                [ALERT_NAMES.invalidCookies]: [
                  { labels: { ...job, [label('invalidReason')]: undecryptable }, value: invalidRatio15m(60) },
                ],
              },
            },
          ],
        },
      ],
    },
  ];
}

/** The promtool files of every scenario: file name → YAML. */
export function scenarioFiles(
  o: BuildOptions,
  { ruleFile = '../prometheus-rules.yaml', grafanaEquivalence = false }: { ruleFile?: string; grafanaEquivalence?: boolean } = {},
): Record<string, string> {
  const alerts = allAlerts(o);
  const out: Record<string, string> = {};
  for (const sc of scenarios(o)) {
    const groups: TestGroup[] = sc.groups.map((g) => {
      const alertTests: AlertTest[] = [];
      const exprTests: ExprTest[] = [];
      for (const check of g.checks) {
        for (const a of alerts) {
          const firing = check.firing?.[a.alert as AlertName] ?? [];
          alertTests.push({
            eval_time: minutes(check.at),
            alertname: a.alert,
            exp_alerts: firing.map((f) => ({
              exp_labels: { ...f.labels, severity: a.severity },
              exp_annotations: {
                summary: renderTemplate(a.summary, f.labels, f.value),
                description: renderTemplate(a.description, f.labels, f.value),
                runbook_url: `${o.runbookUrl}#${runbookAnchor(a.alert)}`,
              },
            })),
          });
          if (!grafanaEquivalence) continue;
          // The Grafana rule (recording rules inlined) must return what the Prometheus rule returns.
          const recorded = `(${a.expr(recordedRef)})`;
          const inline = `(${a.expr(inlineRef)})`;
          exprTests.push({
            expr: `(${inline} unless ${recorded}) or (${recorded} unless ${inline}) or (abs(${inline} - ${recorded}) > 1e-9)`,
            eval_time: minutes(check.at),
            exp_samples: [],
          });
        }
      }
      return { name: g.name, interval: '1m', input_series: [...g.series], alert_rule_test: alertTests, promql_expr_test: exprTests };
    });
    out[sc.file] = renderTestFile(ruleFile, groups, GENERATED_HEADER(o, [sc.title, 'Run: promtool test rules <this file>']));
  }
  return out;
}
