/**
 * The alert rules, once. `prometheus-rules.yaml` (canonical) is rendered from these definitions with
 * recording rules; the Grafana-managed rules get the same expressions with every recording rule
 * expanded inline, so they also work where the recording rules are not loaded.
 */
import { SESSION_COOKIE_NEAR_LIMIT_BYTES } from '../../src/core/telemetry/catalog.js';
import {
  BUCKET_LABEL,
  INSTANCE,
  JOB,
  durationSeconds as seconds,
  PromNames,
  V,
  eq,
  label,
  ne,
  re,
  recordingBase,
  selector,
  sumBy,
  type Matcher,
} from './promql.js';
import type { BuildOptions } from './options.js';

export type Severity = 'critical' | 'warning' | 'info';

/** Renders a reference to a recording rule: by name, or expanded inline. */
export type Ref = (rule: RecordDef) => string;

export interface RecordDef {
  readonly record: string;
  readonly expr: (ref: Ref) => string;
  /** What to write when the rule is expanded inline, if not `(expr)`. */
  readonly inline?: string;
}

export interface AlertDef {
  readonly alert: string;
  readonly severity: Severity;
  readonly for: string;
  /** Prometheus template syntax (`{{ $labels.job }}`, `{{ $value | humanizePercentage }}`). */
  readonly summary: string;
  readonly description: string;
  /**
   * A sentence appended to the description: `prometheus` may query (`{{ with printf … | query }}`),
   * `elsewhere` is what Grafana-managed rules say instead (their templates cannot query).
   */
  readonly queried?: { readonly prometheus: string; readonly elsewhere: string };
  readonly expr: (ref: Ref) => string;
  /** The longest range the expression reads, for Grafana's relativeTimeRange. */
  readonly lookbackSeconds: number;
}

export interface RuleGroupDef {
  readonly name: string;
  readonly interval: string;
  readonly records: readonly RecordDef[];
  readonly alerts: readonly AlertDef[];
}

export const recordedRef: Ref = (r) => r.record;
export const inlineRef: Ref = (r) => r.inline ?? `(${r.expr(inlineRef)})`;

/** Alert thresholds. Change them here and regenerate; the promtool scenarios pin their behaviour. */
export const THRESHOLDS = {
  /** Google SRE workbook multiwindow, multi-burn-rate pairs (page). */
  burnRates: [
    { long: '1h', short: '5m', factor: 14.4 },
    { long: '6h', short: '30m', factor: 6 },
  ],
  burnFor: '2m',
  middlewareErrorRatio: 0.01,
  middlewareMinErrorsPer5m: 5,
  middlewareFor: '5m',
  unpersistedMinPer30m: 10,
  unpersistedFor: '10m',
  invalidCookieRatio: 0.05,
  invalidCookieMinPer15m: 20,
  invalidCookieFor: '15m',
  /** Share of real-user session reads whose cookie is above SESSION_COOKIE_NEAR_LIMIT_BYTES, and how many in 30 minutes at least. */
  cookieNearLimitRatio: 0.01,
  cookieNearLimitMinPer30m: 10,
  cookieNearLimitFor: '15m',
  noiseGrowthFactor: 3,
  noiseMinPerHour: 100,
  noiseFor: '15m',
} as const;

export const ALERT_NAMES = {
  burn: 'AuthRealUserRefreshFailureBurn',
  unpersisted: 'AuthUnpersistedRefreshes',
  middleware: 'AuthMiddlewareErrors',
  invalidCookies: 'AuthInvalidSessionCookies',
  cookieSize: 'AuthSessionCookiesNearLimit',
  noise: 'AuthSyntheticNoiseGrowth',
} as const;

/** GitHub's heading anchor for `## <AlertName>` in docs/runbook.md. */
export const runbookAnchor = (alert: string): string => alert.toLowerCase();

const indent = (s: string, n = 2): string =>
  s
    .split('\n')
    .map((line) => ' '.repeat(n) + line)
    .join('\n');

/** A number as PromQL source, without binary floating-point noise (1 - 0.99 → 0.01). */
export const num = (n: number): string => String(Number(n.toPrecision(12)));

export function ruleGroups(o: BuildOptions): RuleGroupDef[] {
  const P = new PromNames(o.naming);
  const classL = label('userAgentClass');
  const outcomeL = label('outcome');
  const refreshes = P.counter('tokenRefreshes');
  const refreshBase = recordingBase('tokenRefreshes');
  const realUsers: Matcher[] = o.dropClassFilter ? [] : [eq(classL, V.browser)];
  // Each instance exports its own counters: every rule sums them per job (the control keeps instances apart).
  const byJob = o.perInstance ? [JOB, INSTANCE] : [JOB];
  const onJob = `on(${byJob.join(', ')})`;

  // ---- refresh SLO ----------------------------------------------------------------------------
  const objective: RecordDef = {
    record: `${refreshBase}:slo_objective`,
    expr: () => `vector(${num(o.slo)})`,
    inline: num(o.slo),
  };
  const budget: RecordDef = {
    record: `${refreshBase}:slo_error_budget`,
    expr: (ref) => `1 - ${ref(objective)}`,
    inline: num(1 - o.slo),
  };
  const windows = [...new Set(THRESHOLDS.burnRates.flatMap((b) => [b.short, b.long]))].sort((a, b) => seconds(a) - seconds(b));
  const ratio = new Map<string, RecordDef>();
  for (const w of windows) {
    ratio.set(w, {
      record: `${JOB}:${refreshBase}:${V.browser}_failure_ratio_rate${w}`,
      expr: () =>
        [
          sumBy(byJob, `rate(${selector(refreshes, [...realUsers, eq(outcomeL, V.refreshFailure)])}[${w}])`),
          '/',
          sumBy(byJob, `rate(${selector(refreshes, realUsers)}[${w}])`),
        ].join('\n'),
    });
  }
  const attempts1h: RecordDef = {
    record: `${JOB}:${refreshBase}:${V.browser}_increase1h`,
    expr: () => sumBy(byJob, `increase(${selector(refreshes, realUsers)}[1h])`),
  };
  const burnAlert: AlertDef = {
    alert: ALERT_NAMES.burn,
    severity: 'critical',
    for: THRESHOLDS.burnFor,
    summary: 'Real users are failing token refreshes on {{ $labels.job }}',
    description:
      'Browser-class refresh-token exchanges on {{ $labels.job }} fail at {{ $value | humanizePercentage }} ' +
      `(long window), burning the ${num(o.slo * 100)} % refresh SLO's error budget fast ` +
      `(1h and 5m above ${THRESHOLDS.burnRates[0]!.factor}x, or 6h and 30m above ${THRESHOLDS.burnRates[1]!.factor}x). ` +
      'Bots, monitors and prefetches are excluded. Users whose refresh fails lose their access token and are sent back to login.',
    queried: {
      prometheus:
        `Distinct real-user sessions with a failed refresh in the last hour: {{ with printf "${affectedLastHour(P, realUsers)}" $labels.job | query }}` +
        '{{ . | first | value | humanize }}{{ else }}unknown{{ end }}.',
      elsewhere: 'The Real users affected panel counts the distinct sessions.',
    },
    lookbackSeconds: Math.max(...windows.map(seconds)),
    expr: (ref) => {
      const pairs = THRESHOLDS.burnRates.map(({ long, short, factor }) => {
        // Inline (Grafana) the budget is a number; recorded it is a label-less series matched with on().
        const b = ref(budget);
        const threshold = /^[0-9.e-]+$/.test(b) ? num(factor * Number(b)) : `on() group_left() (${factor} * ${b})`;
        const over = (w: string) => `${ref(ratio.get(w)!)} > ${threshold}`;
        return `(\n${indent(`(${over(long)})\nand\n(${over(short)})`)}\n)`;
      });
      const burning = pairs.join('\nor\n');
      if (o.dropTrafficGuard) return burning;
      return `(\n${indent(burning)}\n)\nand ${onJob}\n(${ref(attempts1h)} >= ${o.minRefreshesPerHour})`;
    },
  };

  // ---- middleware -----------------------------------------------------------------------------
  const runs = P.counter('middlewareRuns');
  const runsBase = recordingBase('middlewareRuns');
  const browser: Matcher[] = [eq(classL, V.browser)];
  const mwErrors: RecordDef = {
    record: `${JOB}:${runsBase}:${V.browser}_error_rate5m`,
    expr: () =>
      sumBy(
        byJob,
        [
          `rate(${selector(runs, [...browser, eq(outcomeL, V.middlewareError)])}[5m])`,
          'or',
          `rate(${selector(runs, [...browser, ne(outcomeL, V.middlewareError), re(label('errorType'), V.http5xx)])}[5m])`,
        ].join('\n'),
      ),
  };
  const mwRuns: RecordDef = {
    record: `${JOB}:${runsBase}:${V.browser}_rate5m`,
    expr: () => sumBy(byJob, `rate(${selector(runs, browser)}[5m])`),
  };
  const middlewareAlert: AlertDef = {
    alert: ALERT_NAMES.middleware,
    severity: 'critical',
    for: THRESHOLDS.middlewareFor,
    summary: 'Auth middleware throws or answers 5xx for real users on {{ $labels.job }}',
    description:
      '{{ $value | humanizePercentage }} of browser-class middleware runs on {{ $labels.job }} ended in an exception or an HTTP 5xx ' +
      '(e.g. JWTExpired on a stale session cookie). Affected users cannot load pages.',
    lookbackSeconds: 300,
    expr: (ref) =>
      `(${ref(mwErrors)} / ${ref(mwRuns)} > ${num(THRESHOLDS.middlewareErrorRatio)})\n` +
      `and\n(${ref(mwErrors)} * 300 >= ${THRESHOLDS.middlewareMinErrorsPer5m})`,
  };

  // ---- sessions -------------------------------------------------------------------------------
  const unpersisted = P.counter('refreshUnpersisted');
  const reasonL = label('unpersistedReason');
  const unpersistedAlert: AlertDef = {
    alert: ALERT_NAMES.unpersisted,
    severity: 'warning',
    for: THRESHOLDS.unpersistedFor,
    summary: 'Refreshed tokens are not being saved on {{ $labels.job }} ({{ $labels.' + reasonL + ' }})',
    description:
      '{{ $value | humanize }} real-user refreshes in 30 minutes on {{ $labels.job }} got new tokens that were never written to the ' +
      'session cookie (reason {{ $labels.' +
      reasonL +
      ' }}). With refresh-token rotation the next refresh reuses the old token and ' +
      'fails with invalid_grant, logging the user out.',
    lookbackSeconds: 1800,
    expr: () => `${sumBy([...byJob, reasonL], `increase(${selector(unpersisted, browser)}[30m])`)} >= ${THRESHOLDS.unpersistedMinPer30m}`,
  };

  const reads = P.counter('sessionReads');
  const invalidL = label('invalidReason');
  const invalidReads = selector(reads, [...browser, eq(outcomeL, V.sessionInvalid)]);
  const invalidAlert: AlertDef = {
    alert: ALERT_NAMES.invalidCookies,
    severity: 'warning',
    for: THRESHOLDS.invalidCookieFor,
    summary: 'Session cookies cannot be read on {{ $labels.job }} ({{ $labels.' + invalidL + ' }})',
    description:
      '{{ $value | humanizePercentage }} of real-user requests on {{ $labels.job }} that carried a session cookie could not read it ' +
      '(reason {{ $labels.' +
      invalidL +
      ' }}). The SDK treats them as logged out: a rotated secret, a cookie format change or expired cookies.',
    lookbackSeconds: 900,
    expr: () =>
      [
        '(',
        indent(sumBy([...byJob, invalidL], `rate(${invalidReads}[15m])`)),
        `  / ${onJob} group_left()`,
        indent(sumBy(byJob, `rate(${selector(reads, [...browser, re(outcomeL, [V.sessionFound, V.sessionInvalid])])}[15m])`)),
        `  > ${num(THRESHOLDS.invalidCookieRatio)}`,
        ')',
        'and',
        `(${sumBy([...byJob, invalidL], `increase(${invalidReads}[15m])`)} >= ${THRESHOLDS.invalidCookieMinPer15m})`,
      ].join('\n'),
  };

  const cookieCount = selector(P.histogram('sessionCookieSize', 'count'), browser);
  const cookieUnderLimit = selector(P.histogram('sessionCookieSize', 'bucket'), [...browser, eq(BUCKET_LABEL, String(SESSION_COOKIE_NEAR_LIMIT_BYTES))]);
  const overLimit = (fn: 'rate' | 'increase') =>
    `(${sumBy(byJob, `${fn}(${cookieCount}[30m])`)} - ${onJob} ${sumBy(byJob, `${fn}(${cookieUnderLimit}[30m])`)})`;
  const kib = SESSION_COOKIE_NEAR_LIMIT_BYTES / 1024;
  const cookieSizeAlert: AlertDef = {
    alert: ALERT_NAMES.cookieSize,
    severity: 'warning',
    for: THRESHOLDS.cookieNearLimitFor,
    summary: "Real users' session cookies approach the header size limit on {{ $labels.job }}",
    description:
      `{{ $value | humanizePercentage }} of real-user session reads on {{ $labels.job }} carried a session cookie above ${kib} KiB (all chunks ` +
      'together), close to the 8 KiB header limit of common proxies and load balancers. Past it, requests fail with 400 / 431 ' +
      '(Request Header Or Cookie Too Large) before the app runs, and logins stop working for those users.',
    lookbackSeconds: 1800,
    expr: () =>
      [
        `${overLimit('rate')}`,
        `  / ${onJob} ${sumBy(byJob, `rate(${cookieCount}[30m])`)}`,
        `  > ${num(THRESHOLDS.cookieNearLimitRatio)}`,
        'and',
        `${overLimit('increase')} >= ${THRESHOLDS.cookieNearLimitMinPer30m}`,
      ].join('\n'),
  };

  // ---- synthetic and bot noise (info, never pages) --------------------------------------------
  const requests = P.counter('tokenRequests');
  const requestsBase = recordingBase('tokenRequests');
  const notBrowser = ne(classL, V.browser);
  const noiseRecords = (w: string) => {
    const a: RecordDef = {
      record: `${JOB}:${requestsBase}:non_${V.browser}_error_rate${w}`,
      expr: () => sumBy(byJob, `rate(${selector(requests, [notBrowser, eq(outcomeL, V.tokenError)])}[${w}])`),
    };
    const b: RecordDef = {
      record: `${JOB}:${refreshBase}:non_${V.browser}_failure_rate${w}`,
      expr: () => sumBy(byJob, `rate(${selector(refreshes, [notBrowser, eq(outcomeL, V.refreshFailure)])}[${w}])`),
    };
    return [a, b] as const;
  };
  const [noiseReq1h, noiseRef1h] = noiseRecords('1h');
  const [noiseReq1d, noiseRef1d] = noiseRecords('1d');
  const both = (ref: Ref, a: RecordDef, b: RecordDef) => `(${ref(a)} + ${ref(b)} or ${ref(a)} or ${ref(b)})`;
  const noiseAlert: AlertDef = {
    alert: ALERT_NAMES.noise,
    severity: 'info',
    for: THRESHOLDS.noiseFor,
    summary: 'Bot and monitor auth errors are growing on {{ $labels.job }} (no user impact)',
    description:
      'Token-request errors and refresh failures from non-browser traffic (bots, uptime monitors, prefetches, CLIs) on ' +
      '{{ $labels.job }} run at {{ $value | humanize }}/s, more than ' +
      `${THRESHOLDS.noiseGrowthFactor}x their 1-day average. Typically ERR_MISSING_SESSION / missing_session from a synthetic ` +
      'check that hits a protected route without a session. Informational: exclude the probe from the middleware matcher.',
    lookbackSeconds: 86400,
    expr: (ref) =>
      `${both(ref, noiseReq1h, noiseRef1h)}\n  > ${THRESHOLDS.noiseGrowthFactor} * ${both(ref, noiseReq1d, noiseRef1d)}\n` +
      `and\n${both(ref, noiseReq1h, noiseRef1h)} * 3600 >= ${THRESHOLDS.noiseMinPerHour}`,
  };

  return [
    {
      name: 'nextjs-auth-otel.refresh-slo',
      interval: '1m',
      records: [objective, budget, ...ratio.values(), attempts1h],
      alerts: [burnAlert],
    },
    { name: 'nextjs-auth-otel.middleware', interval: '1m', records: [mwErrors, mwRuns], alerts: [middlewareAlert] },
    { name: 'nextjs-auth-otel.sessions', interval: '1m', records: [], alerts: [unpersistedAlert, invalidAlert, cookieSizeAlert] },
    {
      name: 'nextjs-auth-otel.noise',
      interval: '1m',
      records: [noiseReq1h, noiseRef1h, noiseReq1d, noiseRef1d],
      alerts: [noiseAlert],
    },
  ];
}

/** The description Prometheus renders: with the queried sentence, if the alert has one. */
export const prometheusDescription = (a: AlertDef): string => (a.queried ? `${a.description} ${a.queried.prometheus}` : a.description);

/** The PromQL of the distinct real-user sessions with a failed refresh over the last hour on one job (`%s`), for `printf`. */
function affectedLastHour(P: PromNames, browser: readonly Matcher[]): string {
  const matchers = [...browser, eq(label('affectedOutcome'), V.affectedRefreshFailure), eq(JOB, '%s')];
  // Single quotes: the query sits inside a Go template string literal.
  return sumBy([JOB], `increase(${selector(P.counter('sessionsAffected'), matchers)}[1h])`).replaceAll('"', "'");
}

export function allAlerts(o: BuildOptions): AlertDef[] {
  return ruleGroups(o).flatMap((g) => g.alerts);
}
