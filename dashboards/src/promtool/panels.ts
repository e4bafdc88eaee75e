/**
 * Every Grafana panel query, evaluated by promtool against Collector-shaped input series, with the
 * numbers the panel must show. Dashboard variables are substituted as Grafana would: `$job` → the
 * service, `$__rate_interval` → 4m (4 × a 1m scrape/export interval), `$__range` → 30m.
 *
 * Each query is wrapped in `round(…, 1e-9)`: promtool compares floats exactly, the panels are read
 * to far fewer digits, and the expected values below are computed with exact arithmetic.
 */
import {
  ERROR_CODES,
  ERROR_TYPES,
  HANDLER_KINDS,
  HANDLER_OUTCOMES,
  AFFECTED_OUTCOMES,
  INSTRUMENTATION_STAGES,
  INVALID_COOKIE_REASONS,
  METRICS,
  REFRESH_FAILURE_KINDS,
  MIDDLEWARE_OUTCOMES,
  ROUTE_TYPES,
  REFRESH_OUTCOMES,
  REUSE_KINDS,
  SESSION_READ_OUTCOMES,
  TOKEN_REQUEST_OUTCOMES,
  UNPERSISTED_REASONS,
  USER_AGENT_CLASSES,
  type AttributeName,
} from '../../../src/core/telemetry/catalog.js';
import { GRAFANA_VARS, grafanaPanels, jobVariableQuery } from '../grafana-dashboard.js';
import type { BuildOptions } from '../options.js';
import type { PanelKey } from '../panels.js';
import { BUCKET_LABEL, JOB, PromNames, label, value } from '../promql.js';
import { GENERATED_HEADER } from '../rules-render.js';
import { minutes, renderTestFile, sampleLabels, type ExprTest } from './render.js';
import { bucketQuantile, cumulativeBuckets, leValue, piecewise, replicasOf, seriesFactory, spread, type Attrs, type Labels, type Series } from './series.js';

export const PANEL_TEST_FILE = 'panels.yaml';
export const SUBSTITUTIONS = {
  job: 'shop',
  rateIntervalMinutes: 4,
  rangeMinutes: 30,
  evalMinute: 60,
} as const;

/** Grafana's variable interpolation for the test: `$job`, `$__rate_interval`, `$__range`. */
export function substitute(expr: string): string {
  return expr
    .replaceAll(`$${GRAFANA_VARS.job}`, SUBSTITUTIONS.job)
    .replaceAll(GRAFANA_VARS.rateInterval, `${SUBSTITUTIONS.rateIntervalMinutes}m`)
    .replaceAll(GRAFANA_VARS.range, `${SUBSTITUTIONS.rangeMinutes}m`);
}

const C = {
  browser: value(USER_AGENT_CLASSES, 'browser'),
  bot: value(USER_AGENT_CLASSES, 'bot'),
  monitor: value(USER_AGENT_CLASSES, 'monitor'),
  prefetch: value(USER_AGENT_CLASSES, 'prefetch'),
  success: value(REFRESH_OUTCOMES, 'success'),
  failure: value(REFRESH_OUTCOMES, 'failure'),
  cached: value(TOKEN_REQUEST_OUTCOMES, 'cached'),
  tokenError: value(TOKEN_REQUEST_OUTCOMES, 'error'),
  pass: value(MIDDLEWARE_OUTCOMES, 'pass'),
  redirect: value(MIDDLEWARE_OUTCOMES, 'redirect'),
  mwError: value(MIDDLEWARE_OUTCOMES, 'error'),
  found: value(SESSION_READ_OUTCOMES, 'found'),
  invalid: value(SESSION_READ_OUTCOMES, 'invalid'),
  missing: value(SESSION_READ_OUTCOMES, 'missing'),
  invalidGrant: value(ERROR_CODES, 'invalid_grant'),
  serverError: value(ERROR_CODES, 'server_error'),
  errMissingSession: value(ERROR_CODES, 'ERR_MISSING_SESSION'),
  missingSession: value(ERROR_CODES, 'missing_session'),
  jwtExpired: value(ERROR_TYPES, 'JWTExpired'),
  terminal: value(REFRESH_FAILURE_KINDS, 'terminal'),
  affectedRefresh: value(AFFECTED_OUTCOMES, 'refresh_failure'),
  affectedLost: value(AFFECTED_OUTCOMES, 'lost_rotation'),
  affectedCookie: value(AFFECTED_OUTCOMES, 'invalid_cookie'),
  transient: value(REFRESH_FAILURE_KINDS, 'transient'),
  expired: value(INVALID_COOKIE_REASONS, 'expired'),
  undecryptable: value(INVALID_COOKIE_REASONS, 'undecryptable'),
  malformed: value(INVALID_COOKIE_REASONS, 'malformed'),
  readOnly: value(UNPERSISTED_REASONS, 'read_only_context'),
  cookieDropped: value(UNPERSISTED_REASONS, 'cookie_dropped'),
  tokenReused: value(UNPERSISTED_REASONS, 'token_reused'),
  race: value(REUSE_KINDS, 'race'),
  lostRotation: value(REUSE_KINDS, 'lost_rotation'),
  render: value(ROUTE_TYPES, 'render'),
  proxy: value(ROUTE_TYPES, 'proxy'),
  jwtExpiredCode: value(ERROR_CODES, 'ERR_JWT_EXPIRED'),
  failedToRefresh: value(ERROR_CODES, 'failed_to_refresh_token'),
  sessionExpired: value(ERROR_CODES, 'session_expired'),
  login: value(HANDLER_KINDS, 'login'),
  callback: value(HANDLER_KINDS, 'callback'),
  logout: value(HANDLER_KINDS, 'logout'),
  profile: value(HANDLER_KINDS, 'profile'),
  accessToken: value(HANDLER_KINDS, 'access-token'),
  handlerSuccess: value(HANDLER_OUTCOMES, 'success'),
  handlerRedirect: value(HANDLER_OUTCOMES, 'redirect'),
  handlerError: value(HANDLER_OUTCOMES, 'error'),
  http500: value(ERROR_TYPES, '500'),
  exportStage: value(INSTRUMENTATION_STAGES, 'export'),
  hookStage: value(INSTRUMENTATION_STAGES, 'hook'),
};
const DASH = '/dashboard';
const ORDERS = '/orders';

/** Observations per minute per bucket (non-cumulative, last = +Inf overflow). */
const REFRESH_DURATION_BROWSER = [0, 0, 0, 4, 16, 16, 2, 2, 0, 0, 0, 0];
const REFRESH_DURATION_MONITOR = [0, 0, 0, 0, 10, 8, 2, 0, 0, 0, 0, 0];
const SESSION_AGE_BROWSER = [2, 3, 5, 8, 10, 6, 4, 3, 2, 2, 1, 1, 1, 1, 1, 0];
const SESSION_AGE_MONITOR = [30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const TOKEN_LIFETIME_BROWSER = [0, 0, 1, 1, 2, 4, 4, 8, 10, 10, 20, 0, 0, 0];
const MIDDLEWARE_DURATION_BROWSER = [0, 40, 200, 240, 90, 16, 8, 4, 2, 0, 0, 0, 0, 0];
const MIDDLEWARE_DURATION_MONITOR = [0, 60, 50, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** Session cookie sizes: most real users' sessions fit in one cookie, some are chunked, a few near 8 KiB; a bot replays a huge one. */
const COOKIE_SIZE_BROWSER = [0, 40, 200, 160, 60, 20, 10, 6, 3, 1, 0, 0, 0, 0];
const COOKIE_SIZE_BOT = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0];
const COOKIE_CHUNKS_BROWSER = [460, 34, 6, 0, 0, 0, 0];
const COOKIE_CHUNKS_BOT = [0, 0, 0, 0, 0, 20, 0];

export function panelTestFile(o: BuildOptions, ruleFile = '../prometheus-rules.yaml'): string {
  const names = new PromNames(o.naming);
  const S = seriesFactory(names, SUBSTITUTIONS.job);
  const T = SUBSTITUTIONS.evalMinute;
  const RI = SUBSTITUTIONS.rateIntervalMinutes;
  const RANGE = SUBSTITUTIONS.rangeMinutes;
  const lin = (perMinute: number) => piecewise([{ minutes: T, perMinute }]);
  const series: Series[] = [];
  const counter = (metric: Parameters<typeof S.counter>[0], attrs: Attrs, perMinute: number, job?: string) => {
    series.push(S.counter(metric, attrs, lin(perMinute), job));
  };

  // Refreshes: real users 380 ok + 20 failed per minute on two routes; monitors and bots fail.
  counter('tokenRefreshes', { userAgentClass: C.browser, outcome: C.success, route: DASH }, 228);
  counter('tokenRefreshes', { userAgentClass: C.browser, outcome: C.success, route: ORDERS }, 152);
  counter(
    'tokenRefreshes',
    { userAgentClass: C.browser, outcome: C.failure, errorCode: C.invalidGrant, errorType: 'IdentityProviderError', failureKind: C.terminal, route: DASH },
    12,
  );
  counter(
    'tokenRefreshes',
    { userAgentClass: C.browser, outcome: C.failure, errorCode: C.serverError, errorType: 'IdentityProviderError', failureKind: C.transient, route: ORDERS },
    8,
  );
  counter(
    'tokenRefreshes',
    {
      userAgentClass: C.monitor,
      syntheticType: 'test',
      outcome: C.failure,
      errorCode: C.invalidGrant,
      errorType: 'IdentityProviderError',
      failureKind: C.terminal,
    },
    40,
  );
  counter(
    'tokenRefreshes',
    { userAgentClass: C.bot, syntheticType: 'bot', outcome: C.failure, errorCode: C.invalidGrant, errorType: 'IdentityProviderError', failureKind: C.terminal },
    20,
  );
  // Another service on the same Prometheus: the `$job` filter must keep it out.
  counter('tokenRefreshes', { userAgentClass: C.browser, outcome: C.failure, errorCode: C.invalidGrant, route: DASH }, 100, 'blog');
  // Token requests: ERR_MISSING_SESSION from monitors, bots and prefetches without a session; a few logged-out browsers.
  counter('tokenRequests', { userAgentClass: C.browser, outcome: C.cached, route: DASH }, 600);
  counter('tokenRequests', { userAgentClass: C.browser, outcome: C.tokenError, errorCode: C.errMissingSession, errorType: 'AccessTokenError', route: DASH }, 2);
  counter(
    'tokenRequests',
    {
      sdk: 'nextjs-auth0-v4',
      runtime: 'nodejs',
      userAgentClass: C.browser,
      outcome: C.tokenError,
      errorCode: C.missingSession,
      errorType: 'AccessTokenError',
      route: DASH,
    },
    2,
  );
  counter(
    'tokenRequests',
    { userAgentClass: C.monitor, syntheticType: 'test', outcome: C.tokenError, errorCode: C.errMissingSession, errorType: 'AccessTokenError' },
    120,
  );
  counter(
    'tokenRequests',
    { userAgentClass: C.bot, syntheticType: 'bot', outcome: C.tokenError, errorCode: C.errMissingSession, errorType: 'AccessTokenError' },
    60,
  );
  counter('tokenRequests', { userAgentClass: C.prefetch, outcome: C.tokenError, errorCode: C.errMissingSession, errorType: 'AccessTokenError' }, 16);
  // Sessions past their absolute duration (nextjs-auth0 v4): real users sent back to login; a monitor's stale session too.
  counter(
    'tokenRequests',
    { sdk: 'nextjs-auth0-v4', runtime: 'nodejs', userAgentClass: C.browser, outcome: C.tokenError, errorCode: C.sessionExpired, errorType: 'AccessTokenError' },
    3,
  );
  counter(
    'tokenRequests',
    {
      sdk: 'nextjs-auth0-v4',
      runtime: 'nodejs',
      userAgentClass: C.monitor,
      syntheticType: 'test',
      outcome: C.tokenError,
      errorCode: C.sessionExpired,
      errorType: 'AccessTokenError',
    },
    2,
  );
  // Middleware.
  counter('middlewareRuns', { userAgentClass: C.browser, outcome: C.pass, route: DASH }, 600);
  counter('middlewareRuns', { userAgentClass: C.browser, outcome: C.redirect, route: DASH }, 20);
  counter('middlewareRuns', { userAgentClass: C.browser, outcome: C.mwError, errorType: C.jwtExpired, route: DASH }, 2);
  counter('middlewareRuns', { userAgentClass: C.monitor, syntheticType: 'test', outcome: C.pass }, 120);
  counter('middlewareRuns', { userAgentClass: C.bot, syntheticType: 'bot', outcome: C.redirect }, 60);
  counter('middlewareRuns', { userAgentClass: C.prefetch, outcome: C.pass }, 16);
  // Session reads.
  counter('sessionReads', { userAgentClass: C.browser, outcome: C.found }, 600);
  counter('sessionReads', { userAgentClass: C.browser, outcome: C.invalid, invalidReason: C.expired }, 6);
  counter('sessionReads', { userAgentClass: C.browser, outcome: C.invalid, invalidReason: C.undecryptable }, 3);
  counter('sessionReads', { userAgentClass: C.bot, syntheticType: 'bot', outcome: C.invalid, invalidReason: C.malformed }, 10);
  counter('sessionReads', { userAgentClass: C.monitor, syntheticType: 'test', outcome: C.missing }, 120);
  // Distinct sessions affected (each once per hour): real users by outcome and kind; bots with broken cookies.
  counter('sessionsAffected', { userAgentClass: C.browser, affectedOutcome: C.affectedRefresh, failureKind: C.terminal }, 0.4);
  counter('sessionsAffected', { userAgentClass: C.browser, affectedOutcome: C.affectedRefresh, failureKind: C.transient }, 0.6);
  counter('sessionsAffected', { userAgentClass: C.browser, affectedOutcome: C.affectedLost }, 0.2);
  counter('sessionsAffected', { userAgentClass: C.browser, affectedOutcome: C.affectedCookie }, 0.3);
  counter('sessionsAffected', { userAgentClass: C.bot, syntheticType: 'bot', affectedOutcome: C.affectedCookie }, 5);
  // Unpersisted refreshes.
  counter('refreshUnpersisted', { userAgentClass: C.browser, unpersistedReason: C.readOnly }, 9);
  counter('refreshUnpersisted', { userAgentClass: C.browser, unpersistedReason: C.cookieDropped }, 3);
  counter('refreshUnpersisted', { userAgentClass: C.browser, unpersistedReason: C.tokenReused }, 1);
  // Reuses of an exchanged refresh token: races (two tabs) and the one lost rotation above.
  counter('refreshReuses', { userAgentClass: C.browser, reuseKind: C.race, errorCode: C.invalidGrant }, 4);
  counter('refreshReuses', { userAgentClass: C.bot, reuseKind: C.race, errorCode: C.invalidGrant }, 2);
  counter('refreshReuses', { userAgentClass: C.browser, reuseKind: C.lostRotation, errorCode: C.invalidGrant }, 1);
  // Auth errors that escaped to onRequestError: a Server Component refresh failing, a JWTExpired 500 in proxy.
  counter(
    'requestErrors',
    {
      sdk: 'nextjs-auth0-v4',
      runtime: 'nodejs',
      userAgentClass: C.browser,
      outcome: C.tokenError,
      errorCode: C.failedToRefresh,
      errorType: 'AccessTokenError',
      routeType: C.render,
    },
    4,
  );
  counter(
    'requestErrors',
    {
      sdk: 'nextjs-auth0-v4',
      runtime: 'nodejs',
      userAgentClass: C.browser,
      outcome: C.tokenError,
      errorCode: C.jwtExpiredCode,
      errorType: C.jwtExpired,
      routeType: C.proxy,
    },
    2,
  );
  counter(
    'requestErrors',
    {
      sdk: 'nextjs-auth0-v4',
      runtime: 'nodejs',
      userAgentClass: C.monitor,
      syntheticType: 'test',
      outcome: C.tokenError,
      errorCode: C.jwtExpiredCode,
      errorType: C.jwtExpired,
      routeType: C.proxy,
    },
    1,
  );
  // Auth route handlers (nextjs-auth0 v4): a working login flow; callbacks failing for a few real
  // users and for a bot replaying a stale callback URL (v4 answers both with a code-less 500);
  // logged-out visitors on access-token (401 with its JSON code) and on profile (401, no code at all).
  const v4 = { sdk: 'nextjs-auth0-v4', runtime: 'nodejs' } as const;
  counter('handlerRequests', { ...v4, userAgentClass: C.browser, handlerKind: C.login, outcome: C.handlerRedirect }, 30);
  counter('handlerRequests', { ...v4, userAgentClass: C.browser, handlerKind: C.callback, outcome: C.handlerRedirect }, 24);
  counter('handlerRequests', { ...v4, userAgentClass: C.browser, handlerKind: C.callback, outcome: C.handlerError, errorType: C.http500 }, 2);
  counter('handlerRequests', { ...v4, userAgentClass: C.bot, syntheticType: 'bot', handlerKind: C.callback, outcome: C.handlerError, errorType: C.http500 }, 6);
  counter('handlerRequests', { ...v4, userAgentClass: C.browser, handlerKind: C.logout, outcome: C.handlerRedirect }, 5);
  counter('handlerRequests', { ...v4, userAgentClass: C.browser, handlerKind: C.profile, outcome: C.handlerSuccess }, 60);
  counter('handlerRequests', { ...v4, userAgentClass: C.browser, handlerKind: C.profile, outcome: C.handlerError }, 1);
  counter('handlerRequests', { ...v4, userAgentClass: C.browser, handlerKind: C.accessToken, outcome: C.handlerError, errorCode: C.missingSession }, 3);
  // Swallowed telemetry failures carry only the stage, not the SDK/runtime defaults of the other series.
  counter('instrumentationErrors', { sdk: undefined, runtime: undefined, stage: C.exportStage }, 4);
  counter('instrumentationErrors', { sdk: undefined, runtime: undefined, stage: C.hookStage }, 1);
  // Histograms.
  series.push(...S.histogram('tokenRefreshDuration', { userAgentClass: C.browser, outcome: C.success }, REFRESH_DURATION_BROWSER, T));
  series.push(...S.histogram('tokenRefreshDuration', { userAgentClass: C.monitor, syntheticType: 'test', outcome: C.failure }, REFRESH_DURATION_MONITOR, T));
  series.push(...S.histogram('sessionAge', { userAgentClass: C.browser, outcome: C.found }, SESSION_AGE_BROWSER, T));
  series.push(...S.histogram('sessionAge', { userAgentClass: C.monitor, syntheticType: 'test', outcome: C.found }, SESSION_AGE_MONITOR, T));
  series.push(...S.histogram('tokenRemainingLifetime', { userAgentClass: C.browser, outcome: C.cached }, TOKEN_LIFETIME_BROWSER, T));
  series.push(...S.histogram('middlewareDuration', { userAgentClass: C.browser, outcome: C.pass }, MIDDLEWARE_DURATION_BROWSER, T));
  series.push(...S.histogram('middlewareDuration', { userAgentClass: C.monitor, syntheticType: 'test', outcome: C.pass }, MIDDLEWARE_DURATION_MONITOR, T));
  series.push(...S.histogram('sessionCookieSize', { userAgentClass: C.browser, outcome: C.found }, COOKIE_SIZE_BROWSER, T));
  series.push(...S.histogram('sessionCookieSize', { userAgentClass: C.bot, syntheticType: 'bot', outcome: C.invalid }, COOKIE_SIZE_BOT, T));
  series.push(...S.histogram('sessionCookieChunks', { userAgentClass: C.browser, outcome: C.found }, COOKIE_CHUNKS_BROWSER, T));
  series.push(...S.histogram('sessionCookieChunks', { userAgentClass: C.bot, syntheticType: 'bot', outcome: C.invalid }, COOKIE_CHUNKS_BOT, T));

  // ---- what each panel must show -------------------------------------------------------------
  const perSec = (perMinute: number) => perMinute / 60;
  const overRange = (perMinute: number) => perMinute * RANGE;
  const L = (attrs: Partial<Record<AttributeName, string>>): Labels =>
    Object.fromEntries(Object.entries(attrs).map(([k, v]) => [label(k as AttributeName), v!]));
  const one = (v: number) => [{ labels: {}, value: v }];
  const sumBuckets = (...sets: number[][]) => sets[0]!.map((_, i) => sets.reduce((s, set) => s + set[i]!, 0));
  const quantiles = (
    metric: 'tokenRefreshDuration' | 'tokenRemainingLifetime' | 'middlewareDuration' | 'sessionCookieSize' | 'sessionCookieChunks',
    perBucket: number[],
    qs: number[],
  ) => {
    const cum = cumulativeBuckets(METRICS[metric].buckets, perBucket);
    return qs.map((q) => one(bucketQuantile(q, cum)));
  };
  const durations = quantiles('tokenRefreshDuration', sumBuckets(REFRESH_DURATION_BROWSER, REFRESH_DURATION_MONITOR), [0.5, 0.95, 0.99]);
  const middlewareDurations = quantiles('middlewareDuration', sumBuckets(MIDDLEWARE_DURATION_BROWSER, MIDDLEWARE_DURATION_MONITOR), [0.5, 0.95, 0.99]);
  const lifetimes = quantiles('tokenRemainingLifetime', TOKEN_LIFETIME_BROWSER, [0.05, 0.5, 0.95]);
  const cookieSizes = quantiles('sessionCookieSize', COOKIE_SIZE_BROWSER, [0.5, 0.95, 0.99]);
  const cookieChunks = quantiles('sessionCookieChunks', COOKIE_CHUNKS_BROWSER, [0.5, 0.99]);
  const sessionAgeBuckets = cumulativeBuckets(METRICS.sessionAge.buckets, SESSION_AGE_BROWSER).map((b) => ({
    labels: { [BUCKET_LABEL]: leValue(b.le) },
    value: b.count * RI,
  }));

  const expected: Record<PanelKey, { labels: Labels; value: number }[][]> = {
    realUserSuccess: [one(overRange(380) / overRange(400))],
    failuresRealVsNoise: [one(overRange(20)), one(overRange(40 + 20))],
    realUsersAffected: [
      [
        { labels: L({ affectedOutcome: C.affectedRefresh }), value: overRange(1) },
        { labels: L({ affectedOutcome: C.affectedLost }), value: overRange(0.2) },
        { labels: L({ affectedOutcome: C.affectedCookie }), value: overRange(0.3) },
      ],
    ],
    missingSessionRealShare: [one(overRange(4) / overRange(4 + 120 + 60 + 16))],
    successRatioVsSlo: [[{ labels: { [JOB]: SUBSTITUTIONS.job }, value: 380 / 400 }]],
    realUserFailuresByCode: [
      [
        { labels: L({ errorCode: C.invalidGrant }), value: perSec(12) },
        { labels: L({ errorCode: C.serverError }), value: perSec(8) },
      ],
    ],
    realUserFailuresByKind: [
      [
        { labels: L({ failureKind: C.terminal }), value: perSec(12) },
        { labels: L({ failureKind: C.transient }), value: perSec(8) },
      ],
    ],
    involuntaryLogouts: [
      one(perSec(12)),
      one(perSec(1)),
      [
        { labels: L({ invalidReason: C.expired }), value: perSec(6) },
        { labels: L({ invalidReason: C.undecryptable }), value: perSec(3) },
      ],
      one(perSec(3)),
    ],
    failuresByClass: [
      [
        { labels: L({ userAgentClass: C.browser }), value: perSec(20) },
        { labels: L({ userAgentClass: C.monitor }), value: perSec(40) },
        { labels: L({ userAgentClass: C.bot }), value: perSec(20) },
      ],
    ],
    refreshLatency: durations,
    unpersisted: [
      [
        { labels: L({ unpersistedReason: C.readOnly, userAgentClass: C.browser }), value: perSec(9) },
        { labels: L({ unpersistedReason: C.cookieDropped, userAgentClass: C.browser }), value: perSec(3) },
        { labels: L({ unpersistedReason: C.tokenReused, userAgentClass: C.browser }), value: perSec(1) },
      ],
    ],
    refreshRaces: [
      [
        { labels: L({ errorCode: C.invalidGrant, userAgentClass: C.browser }), value: perSec(4) },
        { labels: L({ errorCode: C.invalidGrant, userAgentClass: C.bot }), value: perSec(2) },
      ],
    ],
    lostRotations: [[{ labels: L({ errorCode: C.invalidGrant, userAgentClass: C.browser }), value: perSec(1) }]],
    middlewareRuns: [
      [
        { labels: L({ outcome: C.pass, userAgentClass: C.browser }), value: perSec(600) },
        { labels: L({ outcome: C.redirect, userAgentClass: C.browser }), value: perSec(20) },
        { labels: L({ outcome: C.mwError, userAgentClass: C.browser }), value: perSec(2) },
        { labels: L({ outcome: C.pass, userAgentClass: C.monitor }), value: perSec(120) },
        { labels: L({ outcome: C.redirect, userAgentClass: C.bot }), value: perSec(60) },
        { labels: L({ outcome: C.pass, userAgentClass: C.prefetch }), value: perSec(16) },
      ],
    ],
    middlewareLatency: middlewareDurations,
    missingSessionByClass: [
      [
        { labels: L({ userAgentClass: C.browser }), value: perSec(4) },
        { labels: L({ userAgentClass: C.monitor }), value: perSec(120) },
        { labels: L({ userAgentClass: C.bot }), value: perSec(60) },
        { labels: L({ userAgentClass: C.prefetch }), value: perSec(16) },
      ],
    ],
    invalidCookies: [
      [
        { labels: L({ invalidReason: C.expired, userAgentClass: C.browser }), value: perSec(6) },
        { labels: L({ invalidReason: C.undecryptable, userAgentClass: C.browser }), value: perSec(3) },
        { labels: L({ invalidReason: C.malformed, userAgentClass: C.bot }), value: perSec(10) },
      ],
    ],
    requestErrors: [
      [
        { labels: L({ routeType: C.render, errorCode: C.failedToRefresh }), value: perSec(4) },
        { labels: L({ routeType: C.proxy, errorCode: C.jwtExpiredCode }), value: perSec(3) },
      ],
    ],
    handlerRuns: [
      [
        { labels: L({ handlerKind: C.login, outcome: C.handlerRedirect }), value: perSec(30) },
        { labels: L({ handlerKind: C.callback, outcome: C.handlerRedirect }), value: perSec(24) },
        { labels: L({ handlerKind: C.callback, outcome: C.handlerError }), value: perSec(2 + 6) },
        { labels: L({ handlerKind: C.logout, outcome: C.handlerRedirect }), value: perSec(5) },
        { labels: L({ handlerKind: C.profile, outcome: C.handlerSuccess }), value: perSec(60) },
        { labels: L({ handlerKind: C.profile, outcome: C.handlerError }), value: perSec(1) },
        { labels: L({ handlerKind: C.accessToken, outcome: C.handlerError }), value: perSec(3) },
      ],
    ],
    handlerErrors: [
      [
        { labels: L({ handlerKind: C.callback, errorType: C.http500 }), value: perSec(2) },
        { labels: L({ handlerKind: C.profile }), value: perSec(1) },
        { labels: L({ handlerKind: C.accessToken, errorCode: C.missingSession }), value: perSec(3) },
      ],
    ],
    instrumentationErrors: [
      [
        { labels: L({ stage: C.exportStage }), value: perSec(4) },
        { labels: L({ stage: C.hookStage }), value: perSec(1) },
      ],
    ],
    sessionAge: [sessionAgeBuckets],
    tokenTimeToExpiry: lifetimes,
    sessionCookieSize: cookieSizes,
    sessionCookieChunks: cookieChunks,
    perRoute: [
      [
        { labels: L({ route: DASH }), value: overRange(228 + 12) },
        { labels: L({ route: ORDERS }), value: overRange(152 + 8) },
      ],
      [
        { labels: L({ route: DASH }), value: overRange(12) },
        { labels: L({ route: ORDERS }), value: overRange(8) },
      ],
      [{ labels: L({ route: DASH }), value: overRange(2) }],
      [{ labels: L({ route: DASH }), value: overRange(4) }],
    ],
  };

  const round = (v: number) => Math.floor(v * (1 / 1e-9) + 0.5) / (1 / 1e-9);
  const panelTests: ExprTest[] = [];
  const panels = grafanaPanels(o);
  for (const key of Object.keys(panels) as PanelKey[]) {
    const exp = expected[key];
    panels[key].queries.forEach((q, i) => {
      const samples = exp[i];
      if (!samples) throw new Error(`no expected samples for ${key} query ${q.refId}`);
      panelTests.push({
        expr: `round(${substitute(q.expr)}, 1e-9)`,
        eval_time: minutes(T),
        exp_samples: samples.map((s) => ({ labels: sampleLabels(s.labels), value: round(s.value) })),
      });
    });
    if (exp.length !== panels[key].queries.length) throw new Error(`${key}: ${exp.length} expectations for ${panels[key].queries.length} queries`);
  }
  // The `job` variable: Grafana's label_values({__name__=~…}, job) lists both services.
  const variable = /^label_values\((.*), (\w+)\)$/.exec(jobVariableQuery(o));
  if (!variable) throw new Error('unexpected job variable query');
  const listed = new Set(/"([^"]*)"/.exec(variable[1]!)![1]!.split('|'));
  const perJob = (job: string) => series.filter((s) => s.labels[JOB] === job && listed.has(s.name)).length;
  const variableTest: ExprTest = {
    expr: `count by (${variable[2]}) (${variable[1]})`,
    eval_time: minutes(T),
    exp_samples: ['shop', 'blog'].map((job) => ({ labels: sampleLabels({ [JOB]: job }), value: perJob(job) })),
  };

  // The same traffic from three replicas per service: one restarts inside every window, one went away
  // before the longest. Each replica's counters are summed by the panels, so the numbers are unchanged.
  const events = { restartAt: T - 2, lastAt: T - RANGE - 5 };
  const replicated = series.flatMap((s) => spread(s, replicasOf(s.labels[JOB]!, events)));
  return renderTestFile(
    ruleFile,
    [
      {
        name: 'Every Grafana panel query against Collector-shaped series',
        interval: '1m',
        input_series: series,
        promql_expr_test: [...panelTests, variableTest],
      },
      {
        name: `The same traffic from three replicas (one restarting at minute ${events.restartAt}, one gone after minute ${events.lastAt}): every panel shows the same numbers`,
        interval: '1m',
        input_series: replicated,
        promql_expr_test: panelTests,
      },
    ],
    GENERATED_HEADER(o, [
      'Every query of dashboards/grafana/nextjs-auth-overview.json with $job=shop, $__rate_interval=4m, $__range=30m,',
      'evaluated at minute 60 and asserted to the numbers the panel shows (rounded to 1e-9), on series from one',
      'instance per service and again on the same traffic from three replicas.',
    ]),
  );
}
