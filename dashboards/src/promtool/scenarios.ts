/**
 * Alert scenarios, run with `promtool test rules`. Each check lists the alerts that must be firing at
 * that minute; every other alert must be silent. Each check also evaluates every Grafana-managed
 * rule's inline expression and requires it to return exactly what the recorded Prometheus
 * expression returns.
 *
 * Each group describes a job's traffic once and is deployed on a fleet: one instance (a file per
 * topic), and three replicas, one restarting and one going away inside the alert windows
 * (three-replicas.yaml). The checks are the same, so the rules must page at the same minutes
 * whether a job's counters come from one process or several; the `$value`s are computed from the
 * series as exported, the way Prometheus computes rate() over resets and series that stop.
 */
import {
  ERROR_CODES,
  ERROR_TYPES,
  INVALID_COOKIE_REASONS,
  METRICS,
  MIDDLEWARE_OUTCOMES,
  SESSION_COOKIE_NEAR_LIMIT_BYTES,
  REFRESH_OUTCOMES,
  SESSION_READ_OUTCOMES,
  TOKEN_REQUEST_OUTCOMES,
  UNPERSISTED_REASONS,
  USER_AGENT_CLASSES,
} from '../../../src/core/telemetry/catalog.js';
import { ALERT_NAMES, allAlerts, inlineRef, prometheusDescription, recordedRef, runbookAnchor } from '../alerts.js';
import type { BuildOptions } from '../options.js';
import { BUCKET_LABEL, JOB, PromNames, label, value } from '../promql.js';
import { GENERATED_HEADER } from '../rules-render.js';
import { minutes, renderTemplate, renderTestFile, type AlertTest, type ExprTest, type TestGroup } from './render.js';
import {
  piecewise,
  replicasOf,
  seriesFactory,
  spread,
  stepped,
  stepwise,
  type Attrs,
  type Labels,
  type Origin,
  type Series,
  type SeriesFactory,
  type Shape,
} from './series.js';

type AlertName = (typeof ALERT_NAMES)[keyof typeof ALERT_NAMES];

export interface Firing {
  readonly labels: Labels;
  /** The alert's `$value` at that minute, for its annotations. */
  readonly value: number;
  /** What the description's query returns (distinct affected sessions), when the group has such series. */
  readonly queried?: number;
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
export const THREE_REPLICAS_FILE = 'three-replicas.yaml';

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

/** When, in a group's timeline, one replica restarts and another exports for the last time. */
export interface FleetEvents {
  readonly restartAt: number;
  readonly lastAt: number;
}

/** How a job's series reach Prometheus: the series each job-level series becomes, and a group-name prefix. */
export type Fleet = (events: FleetEvents) => { readonly prefix: string; readonly deploy: (s: Series) => Series[] };

export const ONE_INSTANCE: Fleet = () => ({ prefix: '', deploy: (s) => [s] });

export const THREE_REPLICAS: Fleet = (e) => ({
  prefix: `Three replicas, one restarting at minute ${e.restartAt}, one gone after minute ${e.lastAt}: `,
  deploy: (s) => spread(s, replicasOf(s.labels[JOB]!, e)),
});

/** What every group builder needs. */
interface Ctx {
  readonly o: BuildOptions;
  readonly S: SeriesFactory;
  readonly lin: (...segs: [minutes: number, perMinute: number][]) => Shape;
  readonly job: Labels;
}

/** A job's series summed as the rules sum them: what the alert's `$value` is computed from. */
const increaseOf = (ss: readonly Series[], t: number, w: number) => ss.reduce((sum, s) => sum + s.increase(t, w), 0);
const rateOf = (ss: readonly Series[], t: number, w: number) => ss.reduce((sum, s) => sum + s.rate(t, w), 0);
const ratioOf = (part: readonly Series[], rest: readonly Series[], t: number, w: number) =>
  increaseOf(part, t, w) / (increaseOf(part, t, w) + increaseOf(rest, t, w));

function fleetGroup(fleet: Fleet, events: FleetEvents, name: string, build: (deploy: (s: Series) => Series[]) => Omit<ScenarioGroup, 'name'>): ScenarioGroup {
  const f = fleet(events);
  return { name: f.prefix + name, ...build(f.deploy) };
}

function stormGroup({ S, lin, job }: Ctx, fleet: Fleet): ScenarioGroup {
  const DAY = 1440;
  const base = DAY + 60; // a full day of history so the 1-day noise average is real
  const storm = 120;
  const name = 'Datadog Synthetics and crawlers storm a protected route for 2 h after a day of baseline; real users are fine';
  return fleetGroup(fleet, { restartAt: base + 30, lastAt: base + 90 }, name, (d) => {
    const s = {
      browserOk: d(S.counter('tokenRefreshes', { userAgentClass: cls.browser, outcome: outcome.success, route: ROUTE }, lin([base + storm, 60]))),
      browserFail: d(
        S.counter(
          'tokenRefreshes',
          { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
          lin([base + storm, 0.06]),
        ),
      ),
      monitorFail: d(
        S.counter(
          'tokenRefreshes',
          { userAgentClass: cls.monitor, syntheticType: 'test', outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp },
          lin([base, 0], [storm, 30]),
        ),
      ),
      botFail: d(
        S.counter(
          'tokenRefreshes',
          { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp },
          lin([base, 0], [storm, 12]),
        ),
      ),
      monitorMissing: d(
        S.counter(
          'tokenRequests',
          { userAgentClass: cls.monitor, syntheticType: 'test', outcome: outcome.tokenError, errorCode: code.missingSession, errorType: errType.accessToken },
          lin([base, 6], [storm, 600]),
        ),
      ),
      botMissing: d(
        S.counter(
          'tokenRequests',
          { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.tokenError, errorCode: code.missingSession, errorType: errType.accessToken },
          lin([base, 3], [storm, 120]),
        ),
      ),
      browserTokens: d(S.counter('tokenRequests', { userAgentClass: cls.browser, outcome: outcome.cached, route: ROUTE }, lin([base + storm, 600]))),
      browserMw: d(S.counter('middlewareRuns', { userAgentClass: cls.browser, outcome: outcome.pass, route: ROUTE }, lin([base + storm, 600]))),
      monitorMw: d(S.counter('middlewareRuns', { userAgentClass: cls.monitor, syntheticType: 'test', outcome: outcome.pass }, lin([base, 6], [storm, 600]))),
      botMwErrors: d(
        S.counter(
          'middlewareRuns',
          { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.mwError, errorCode: code.jweInvalid, errorType: errType.jweInvalid },
          lin([base, 0], [storm, 60]),
        ),
      ),
    };
    const noiseRate1h = (t: number) => rateOf([...s.monitorMissing, ...s.botMissing, ...s.monitorFail, ...s.botFail], t, 60);
    return {
      series: Object.values(s).flat(),
      checks: [
        { at: base }, // a day of baseline noise: nothing
        { at: base + 10 }, // storm pending for the info alert; no page
        { at: base + 60, firing: { [ALERT_NAMES.noise]: [{ labels: job, value: noiseRate1h(base + 60) }] } },
        { at: base + storm, firing: { [ALERT_NAMES.noise]: [{ labels: job, value: noiseRate1h(base + storm) }] } },
      ],
    };
  });
}

/** Browser-class refreshes of a job: successes and failures (invalid_grant). */
function refreshes({ S }: Ctx, ok: Shape, failed: Shape, origin?: Origin) {
  return {
    ok: S.counter('tokenRefreshes', { userAgentClass: cls.browser, outcome: outcome.success, route: ROUTE }, ok, origin),
    fail: S.counter(
      'tokenRefreshes',
      { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
      failed,
      origin,
    ),
  };
}

function burnGroups(ctx: Ctx, fleet: Fleet) {
  const { S, lin, job, o } = ctx;
  const burn = (labels: Labels, v: number) => ({ [ALERT_NAMES.burn]: [{ labels, value: v }] });
  const fresh = fleetGroup(
    fleet,
    { restartAt: 8, lastAt: 14 },
    'Real users fail 10 % of refreshes for 20 min (series start with the failures): the 6h/30m pair pages',
    (d) => {
      const r = refreshes(ctx, lin([20, 54]), lin([20, 6]));
      const [ok, fail] = [d(r.ok), d(r.fail)];
      return {
        series: [...ok, ...fail],
        checks: [
          { at: 1 },
          { at: 3 }, // condition true since minute 2 (traffic guard reached), pending for 2m
          { at: 20, firing: burn(job, ratioOf(fail, ok, 20, 360)) },
        ],
      };
    },
  );
  const outage = fleetGroup(
    fleet,
    { restartAt: 366, lastAt: 376 },
    'Hard outage after 6 h of healthy traffic: 50 % failures page through the 1h/5m pair within 20 min; 4 new sessions affected a minute',
    (d) => {
      const r = refreshes(ctx, lin([360, 60], [25, 30]), lin([360, 0], [25, 30]));
      const [ok, fail] = [d(r.ok), d(r.fail)];
      const affected = d(
        S.counter('sessionsAffected', { userAgentClass: cls.browser, affectedOutcome: 'refresh_failure', failureKind: 'terminal' }, lin([360, 0], [25, 4])),
      );
      const paged = { labels: job, value: ratioOf(fail, ok, 385, 60), queried: increaseOf(affected, 385, 60) };
      return {
        series: [...ok, ...fail, ...affected],
        checks: [
          { at: 360 },
          { at: 370 }, // 1h ratio 8.3 %: below 14.4 x 1 %
          { at: 385, firing: { [ALERT_NAMES.burn]: [paged] } },
        ],
      };
    },
  );
  const slow = fleetGroup(
    fleet,
    { restartAt: 366, lastAt: 374 },
    'Budget arithmetic: 10 % for 20 min after 6 h of healthy traffic stays below both pairs (1h 3.3 %, 6h 0.6 %)',
    (d) => {
      const r = refreshes(ctx, lin([360, 60], [20, 54]), lin([360, 0], [20, 6]));
      return { series: [...d(r.ok), ...d(r.fail)], checks: [{ at: 380 }] };
    },
  );
  const guard = fleetGroup(
    fleet,
    { restartAt: 20, lastAt: 30 },
    `180 real-user refreshes an hour, a third failing: the traffic guard (${o.minRefreshesPerHour}/h) counts the job, so it pages from minute 36`,
    (d) => {
      const r = refreshes(ctx, lin([60, 2]), lin([60, 1]));
      const [ok, fail] = [d(r.ok), d(r.fail)];
      return { series: [...ok, ...fail], checks: [{ at: 25 }, { at: 45, firing: burn(job, ratioOf(fail, ok, 45, 60)) }] };
    },
  );
  const low = fleetGroup(
    fleet,
    { restartAt: 50, lastAt: 100 },
    'One real-user refresh every 5 minutes, every one failing (12/h, guard is ' + o.minRefreshesPerHour + '/h)',
    (d) => ({
      series: d(
        S.counter(
          'tokenRefreshes',
          { userAgentClass: cls.browser, outcome: outcome.failure, errorCode: code.invalidGrant, errorType: errType.idp, route: ROUTE },
          stepped(180, (m) => Math.floor(m / 5)),
        ),
      ),
      checks: [{ at: 30 }, { at: 60 }, { at: 120 }, { at: 180 }],
    }),
  );
  return { fresh, outage, slow, guard, low };
}

function middlewareGroups({ S, lin, job }: Ctx, fleet: Fleet) {
  const browserRuns = (attrs: Attrs, shape: Shape) => S.counter('middlewareRuns', { userAgentClass: cls.browser, route: ROUTE, ...attrs }, shape);
  const page = (errors: readonly Series[], rest: readonly Series[], t: number) => ({
    [ALERT_NAMES.middleware]: [{ labels: job, value: rateOf(errors, t, 5) / (rateOf(errors, t, 5) + rateOf(rest, t, 5)) }],
  });
  const jwt = fleetGroup(
    fleet,
    { restartAt: 26, lastAt: 23 },
    'Stale session cookies crash middleware with JWTExpired from minute 20; crawlers with garbage cookies all along',
    (d) => {
      const pass = d(browserRuns({ outcome: outcome.pass }, lin([60, 600])));
      const errors = d(browserRuns({ outcome: outcome.mwError, errorCode: code.jwtExpired, errorType: errType.jwtExpired }, lin([20, 0], [40, 20])));
      const bots = d(
        S.counter(
          'middlewareRuns',
          { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.mwError, errorCode: code.jweInvalid, errorType: errType.jweInvalid },
          lin([60, 300]),
        ),
      );
      return { series: [...pass, ...errors, ...bots], checks: [{ at: 15 }, { at: 30, firing: page(errors, pass, 30) }] };
    },
  );
  const s503 = fleetGroup(fleet, { restartAt: 26, lastAt: 23 }, 'Middleware answers 503 without throwing', (d) => {
    const pass = d(browserRuns({ outcome: outcome.pass }, lin([30, 600])));
    const errors = d(browserRuns({ outcome: outcome.pass, errorType: errType.s503 }, lin([30, 12])));
    return { series: [...pass, ...errors], checks: [{ at: 30, firing: page(errors, pass, 30) }] };
  });
  const volume = fleetGroup(
    fleet,
    { restartAt: 26, lastAt: 23 },
    'A few JWTExpired from minute 10: 7.5 in 5 minutes among 600 runs, just above the minimum of 5 errors',
    (d) => {
      const pass = d(browserRuns({ outcome: outcome.pass }, lin([30, 120])));
      const errors = d(browserRuns({ outcome: outcome.mwError, errorCode: code.jwtExpired, errorType: errType.jwtExpired }, lin([10, 0], [20, 1.5])));
      return { series: [...pass, ...errors], checks: [{ at: 8 }, { at: 30, firing: page(errors, pass, 30) }] };
    },
  );
  return { jwt, s503, volume };
}

function sessionGroups({ S, lin, job }: Ctx, fleet: Fleet) {
  const readOnly = value(UNPERSISTED_REASONS, 'read_only_context');
  const unpersisted = fleetGroup(
    fleet,
    { restartAt: 30, lastAt: 38 },
    'A real user refreshes in a Server Component every minute; a monitor without a response object too',
    (d) => {
      const browser = d(S.counter('refreshUnpersisted', { userAgentClass: cls.browser, unpersistedReason: readOnly, route: ROUTE }, lin([60, 1])));
      const monitor = d(
        S.counter(
          'refreshUnpersisted',
          { userAgentClass: cls.monitor, syntheticType: 'test', unpersistedReason: value(UNPERSISTED_REASONS, 'no_response') },
          lin([60, 5]),
        ),
      );
      const labels = { ...job, [label('unpersistedReason')]: readOnly };
      return {
        series: [...browser, ...monitor],
        checks: [{ at: 5 }, { at: 45, firing: { [ALERT_NAMES.unpersisted]: [{ labels, value: increaseOf(browser, 45, 30) }] } }],
      };
    },
  );
  const undecryptable = value(INVALID_COOKIE_REASONS, 'undecryptable');
  const invalidCookies = fleetGroup(
    fleet,
    { restartAt: 50, lastAt: 55 },
    'The cookie secret rotates at minute 30: one in six real-user cookies cannot be decrypted; bots send malformed cookies all along',
    (d) => {
      const found = d(S.counter('sessionReads', { userAgentClass: cls.browser, outcome: outcome.found }, lin([30, 600], [30, 500])));
      const invalid = d(
        S.counter(
          'sessionReads',
          { userAgentClass: cls.browser, outcome: outcome.invalid, invalidReason: undecryptable, errorCode: value(ERROR_CODES, 'ERR_JWE_DECRYPTION_FAILED') },
          lin([30, 0], [30, 100]),
        ),
      );
      const bots = d(
        S.counter(
          'sessionReads',
          { userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.invalid, invalidReason: value(INVALID_COOKIE_REASONS, 'malformed') },
          lin([60, 50]),
        ),
      );
      const labels = { ...job, [label('invalidReason')]: undecryptable };
      return {
        series: [...found, ...invalid, ...bots],
        checks: [{ at: 25 }, { at: 60, firing: { [ALERT_NAMES.invalidCookies]: [{ labels, value: ratioOf(invalid, found, 60, 15) }] } }],
      };
    },
  );
  return { unpersisted, invalidCookies };
}

/**
 * Failures that move between replicas, so that no replica's own series crosses both windows of a
 * burn pair and only the job's sum does: a bad client secret reaches replica C first, which fails
 * every refresh for 29 minutes and is taken out (its series stop); then B restarts with the same
 * secret and fails every refresh. C has no samples in the short windows; B's hour is mostly
 * healthy. The job serves 60 refreshes a minute, shared by the replicas up each minute.
 */
function movingFailuresGroup(ctx: Ctx): ScenarioGroup {
  const { lin, job } = ctx;
  const [a, b, c] = replicasOf(JOB_UNDER_TEST, { restartAt: 395, lastAt: 369 }).map((r) => r.instance);
  const steps = (...segs: [minutes: number, perMinute: number | null][]) => stepwise(segs.flatMap(([n, v]) => Array<number | null>(n).fill(v)));
  const stale = (shape: Shape): Shape => ({ ...shape, notation: `${shape.notation} stale` });
  // Three up: 20 a minute each; after C: 30 each; while B restarts (minute 395) A serves all 60.
  const A = refreshes(ctx, lin([369, 20], [25, 30], [1, 60], [5, 30]), lin([400, 0]), { instance: a });
  const B = refreshes(ctx, steps([369, 20], [25, 30], [1, null], [5, 0]), steps([394, 0], [1, null], [5, 30]), { instance: b });
  const C = refreshes(ctx, stale(lin([340, 20], [29, 0])), stale(lin([340, 0], [29, 20])), { instance: c });
  const [ok, fail] = [
    [A.ok, B.ok, C.ok],
    [B.fail, C.fail],
  ];
  const burn = (t: number) => ({ [ALERT_NAMES.burn]: [{ labels: job, value: ratioOf(fail, ok, t, 60) }] });
  return {
    name: 'Failures move between replicas (C fails from minute 341 and is gone after 369; B restarts at 395 and fails): only the job crosses both windows',
    series: [A.ok, B.ok, C.ok, B.fail, C.fail],
    checks: [
      { at: 350 }, // C's failures are 5 % of the job's hour
      { at: 370, firing: burn(370) },
      { at: 380 }, // no failure in the last 5 minutes: resolved
      { at: 400, firing: burn(400) },
    ],
  };
}

/**
 * Session cookie sizes per minute, by bucket of auth.session.cookie.size (non-cumulative, the last
 * entry the overflow above 32 KiB). The bucket bounds are 512 … 32768 bytes; index 7 is ≤ 6144.
 */
const COOKIE_BUCKET = Object.fromEntries(METRICS.sessionCookieSize.buckets.map((b, i) => [b, i])) as Record<number, number>;
const cookieSizes = (counts: Record<number, number>): number[] => {
  const perBucket = new Array<number>(METRICS.sessionCookieSize.buckets.length + 1).fill(0);
  for (const [bound, n] of Object.entries(counts)) perBucket[bound === 'Infinity' ? perBucket.length - 1 : COOKIE_BUCKET[Number(bound)]!] = n;
  return perBucket;
};

function cookieSizeGroups({ S, job }: Ctx, fleet: Fleet) {
  const reads = (attrs: Attrs, counts: Record<number, number>, minutes: number) => S.histogram('sessionCookieSize', attrs, cookieSizes(counts), minutes);
  /** The alert's `$value`: the share of a job's real-user reads above the limit, as the rule computes it from the series. */
  const shareAbove = (all: readonly Series[], t: number) => {
    const count = all.filter((x) => x.name.endsWith('_count'));
    const under = all.filter((x) => x.labels[BUCKET_LABEL] === String(SESSION_COOKIE_NEAR_LIMIT_BYTES));
    return (rateOf(count, t, 30) - rateOf(under, t, 30)) / rateOf(count, t, 30);
  };
  const growing = fleetGroup(
    fleet,
    { restartAt: 20, lastAt: 25 },
    'After a new audience was added, 3 % of real users carry 7 KiB session cookies (two chunks); the rest stay small',
    (d) => {
      const browser = reads({ userAgentClass: cls.browser, outcome: outcome.found }, { 2048: 300, 3072: 60, 4096: 20, 7168: 12 }, 60).flatMap(d);
      return {
        series: browser,
        checks: [{ at: 10 }, { at: 30, firing: { [ALERT_NAMES.cookieSize]: [{ labels: job, value: shareAbove(browser, 30) }] } }],
      };
    },
  );
  const control = fleetGroup(
    fleet,
    { restartAt: 20, lastAt: 25 },
    'Negative control: chunked 5 KiB cookies of real users (above one cookie, below the limit) and crawlers replaying 30 KiB cookies',
    (d) => {
      const browser = reads({ userAgentClass: cls.browser, outcome: outcome.found }, { 2048: 300, 5120: 80 }, 60).flatMap(d);
      const bots = reads({ userAgentClass: cls.bot, syntheticType: 'bot', outcome: outcome.invalid }, { 32768: 40 }, 60).flatMap(d);
      return { series: [...browser, ...bots], checks: [{ at: 30 }, { at: 60 }] };
    },
  );
  return { cookieGrowing: growing, cookieControl: control };
}

/** Every group whose series go through a fleet: one file per topic for one instance, all of them for three replicas. */
function jobGroups(ctx: Ctx, fleet: Fleet) {
  return {
    storm: stormGroup(ctx, fleet),
    ...burnGroups(ctx, fleet),
    ...middlewareGroups(ctx, fleet),
    ...sessionGroups(ctx, fleet),
    ...cookieSizeGroups(ctx, fleet),
  };
}

export function scenarios(o: BuildOptions): Scenario[] {
  const lin = (...segs: [minutes: number, perMinute: number][]) => piecewise(segs.map(([m, p]) => ({ minutes: m, perMinute: p })));
  const ctx: Ctx = { o, S: seriesFactory(new PromNames(o.naming), JOB_UNDER_TEST), lin, job: { [JOB]: JOB_UNDER_TEST } };
  const one = jobGroups(ctx, ONE_INSTANCE);
  const three = jobGroups(ctx, THREE_REPLICAS);
  return [
    { file: 'bot-storm.yaml', title: 'Bot and monitor failure storm: no page, only the info alert', groups: [one.storm] },
    { file: 'real-user-burn.yaml', title: 'Real-user refresh failures page', groups: [one.fresh, one.outage, one.slow, one.guard] },
    { file: 'low-traffic.yaml', title: 'Low traffic, all failing: silent (traffic guard)', groups: [one.low] },
    { file: 'middleware-errors.yaml', title: 'Middleware exceptions and 5xx for real users page; bots do not', groups: [one.jwt, one.s503, one.volume] },
    { file: 'unpersisted.yaml', title: 'Refreshes in Server Components that are never saved: warning', groups: [one.unpersisted] },
    { file: 'invalid-cookies.yaml', title: 'Unreadable session cookies after a secret rotation: warning', groups: [one.invalidCookies] },
    {
      file: 'session-cookie-size.yaml',
      title: "Real users' session cookies near the 8 KiB header limit: warning; chunked cookies below it and bots' huge cookies: silent",
      groups: [one.cookieGrowing, one.cookieControl],
    },
    {
      file: THREE_REPLICAS_FILE,
      title: 'Every scenario above served by three replicas of the job, one restarting and one going away: the same alerts page at the same minutes',
      groups: [...Object.values(three), movingFailuresGroup(ctx)],
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
                description: renderTemplate(prometheusDescription(a), f.labels, f.value, f.queried),
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
