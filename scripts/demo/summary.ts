/**
 * The demo's verdict, computed only from the OTLP the app exported: what an on-call engineer
 * would see in a dashboard built on this plugin's metrics.
 */
import { ATTRIBUTES, METRICS, USER_AGENT_CLASSES, type UserAgentClass } from '../../src/core/telemetry/catalog.js';
import { aggregateSeries, histogramTotals, type ReceivedMetricPoint } from '../../testkit/otlp-receiver.js';

const CLASS = ATTRIBUTES.userAgentClass.key;
const OUTCOME = ATTRIBUTES.outcome.key;
const CODE = ATTRIBUTES.errorCode.key;
const RUNTIME = ATTRIBUTES.runtime.key;
const REASON = ATTRIBUTES.unpersistedReason.key;
const INVALID = ATTRIBUTES.invalidReason.key;
const KIND = ATTRIBUTES.failureKind.key;
const AFFECTED = ATTRIBUTES.affectedOutcome.key;

export type Counts = Record<string, number>;

export interface ClassSummary {
  userAgentClass: UserAgentClass;
  middlewareRuns: Counts;
  sessionReads: Counts;
  tokenRequests: Counts;
  refreshes: Counts;
  /** `auth.error.code` totals over token requests, session reads and refreshes. */
  errorCodes: Counts;
  invalidReasons: Counts;
  unpersisted: Counts;
  /** Runtimes that reported refreshes (edge middleware vs Node render). */
  refreshRuntimes: Counts;
}

export interface Percentiles {
  count: number;
  p50?: number;
  p90?: number;
  p99?: number;
}

export interface DemoSummary {
  classes: ClassSummary[];
  sessionAge: Percentiles;
  realUsers: {
    refreshes: number;
    failures: number;
    failureRatio: number | undefined;
    failureCodes: Counts;
    /** Failed refreshes by `auth.refresh.failure_kind`: terminal (the token is dead) or transient (the IdP failed). */
    failureKinds: Counts;
    /** Distinct sessions affected (each once per outcome and hour, per instance) by `auth.affected.outcome`. */
    affected: Counts;
  };
  noise: { authErrors: number; realUserAuthErrors: number; share: number | undefined; perMinute: number };
  instrumentationErrors: number;
}

function add(counts: Counts, key: string | undefined, n: number): void {
  if (key === undefined || n === 0) return;
  counts[key] = (counts[key] ?? 0) + n;
}

function countBy(points: ReceivedMetricPoint[], metric: string, cls: string, key: string): Counts {
  const out: Counts = {};
  for (const s of aggregateSeries(points, metric, { [CLASS]: cls })) add(out, s.attributes[key] as string | undefined, s.value ?? 0);
  return out;
}

/** Bucket-interpolated quantile, as PromQL's `histogram_quantile` computes it. */
export function histogramQuantile(q: number, bounds: readonly number[], counts: readonly number[]): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += counts[i]!;
    if (cumulative >= rank && counts[i]! > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - before) / counts[i]!);
    }
  }
  return bounds[bounds.length - 1];
}

export function summarize(points: ReceivedMetricPoint[], durationSeconds: number): DemoSummary {
  const classes: ClassSummary[] = [];
  for (const cls of USER_AGENT_CLASSES) {
    const errorCodes: Counts = {};
    for (const metric of [METRICS.tokenRequests.name, METRICS.sessionReads.name, METRICS.tokenRefreshes.name]) {
      for (const [code, n] of Object.entries(countBy(points, metric, cls, CODE))) add(errorCodes, code, n);
    }
    const summary: ClassSummary = {
      userAgentClass: cls,
      middlewareRuns: countBy(points, METRICS.middlewareRuns.name, cls, OUTCOME),
      sessionReads: countBy(points, METRICS.sessionReads.name, cls, OUTCOME),
      tokenRequests: countBy(points, METRICS.tokenRequests.name, cls, OUTCOME),
      refreshes: countBy(points, METRICS.tokenRefreshes.name, cls, OUTCOME),
      errorCodes,
      invalidReasons: countBy(points, METRICS.sessionReads.name, cls, INVALID),
      unpersisted: countBy(points, METRICS.refreshUnpersisted.name, cls, REASON),
      refreshRuntimes: countBy(points, METRICS.tokenRefreshes.name, cls, RUNTIME),
    };
    const seen = [summary.middlewareRuns, summary.sessionReads, summary.tokenRequests, summary.refreshes, summary.unpersisted];
    if (seen.some((c) => Object.keys(c).length > 0)) classes.push(summary);
  }

  const age = histogramTotals(points, METRICS.sessionAge.name, { [CLASS]: 'browser' });
  const sessionAge: Percentiles = { count: age.count };
  if (age.count > 0) {
    sessionAge.p50 = histogramQuantile(0.5, age.explicitBounds, age.bucketCounts);
    sessionAge.p90 = histogramQuantile(0.9, age.explicitBounds, age.bucketCounts);
    sessionAge.p99 = histogramQuantile(0.99, age.explicitBounds, age.bucketCounts);
  }

  const browser = classes.find((c) => c.userAgentClass === 'browser');
  const refreshes = sum(browser?.refreshes);
  const failures = browser?.refreshes.failure ?? 0;
  const failureCodes: Counts = {};
  for (const s of aggregateSeries(points, METRICS.tokenRefreshes.name, { [CLASS]: 'browser', [OUTCOME]: 'failure' })) {
    add(failureCodes, (s.attributes[CODE] as string | undefined) ?? 'none', s.value ?? 0);
  }

  const failureKinds = countBy(points, METRICS.tokenRefreshes.name, 'browser', KIND);
  const affected = countBy(points, METRICS.sessionsAffected.name, 'browser', AFFECTED);

  // An "auth error" is what lands in the logs: a failed token request or refresh, an unreadable session.
  const authErrors = (c: ClassSummary | undefined) => (c?.tokenRequests.error ?? 0) + (c?.sessionReads.invalid ?? 0) + (c?.sessionReads.error ?? 0);
  const total = classes.reduce((n, c) => n + authErrors(c), 0);
  const real = authErrors(browser);
  const noiseErrors = total - real;

  return {
    classes,
    sessionAge,
    realUsers: { refreshes, failures, failureRatio: refreshes > 0 ? failures / refreshes : undefined, failureCodes, failureKinds, affected },
    noise: {
      authErrors: noiseErrors,
      realUserAuthErrors: real,
      share: total > 0 ? noiseErrors / total : undefined,
      perMinute: durationSeconds > 0 ? (noiseErrors / durationSeconds) * 60 : 0,
    },
    instrumentationErrors: aggregateSeries(points, METRICS.instrumentationErrors.name).reduce((n, s) => n + (s.value ?? 0), 0),
  };
}

function sum(counts: Counts | undefined): number {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}

const fmtCounts = (counts: Counts): string =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

const pct = (ratio: number | undefined): string => (ratio === undefined ? 'n/a' : `${(ratio * 100).toFixed(1)} %`);

export function renderSummary(s: DemoSummary): string {
  const lines: string[] = [];
  lines.push('Per user-agent class (from the metrics received over OTLP):');
  for (const c of s.classes) {
    lines.push(`  ${c.userAgentClass}`);
    lines.push(`    middleware runs   ${fmtCounts(c.middlewareRuns)}`);
    lines.push(
      `    session reads     ${fmtCounts(c.sessionReads)}${Object.keys(c.invalidReasons).length ? `   (invalid: ${fmtCounts(c.invalidReasons)})` : ''}`,
    );
    lines.push(`    token requests    ${fmtCounts(c.tokenRequests)}`);
    if (Object.keys(c.refreshes).length) lines.push(`    refreshes         ${fmtCounts(c.refreshes)}   (runtime: ${fmtCounts(c.refreshRuntimes)})`);
    if (Object.keys(c.unpersisted).length) lines.push(`    unpersisted       ${fmtCounts(c.unpersisted)}`);
    if (Object.keys(c.errorCodes).length) lines.push(`    error codes       ${fmtCounts(c.errorCodes)}`);
  }
  lines.push('');
  lines.push(
    `Session age (browser, ${s.sessionAge.count} reads that found a session): ` +
      `p50 ${formatDuration(s.sessionAge.p50)}, p90 ${formatDuration(s.sessionAge.p90)}, p99 ${formatDuration(s.sessionAge.p99)}`,
  );
  lines.push('');
  const { realUsers } = s;
  lines.push(
    `Real users: ${realUsers.refreshes} token refreshes, ${realUsers.failures} failed = ${pct(realUsers.failureRatio)}` +
      (realUsers.failures
        ? ` (${fmtCounts(realUsers.failureCodes)}; terminal ${realUsers.failureKinds.terminal ?? 0}, transient ${realUsers.failureKinds.transient ?? 0})`
        : ''),
  );
  lines.push(
    `            users affected: ${realUsers.affected.refresh_failure ?? 0} with a failed refresh` +
      (Object.keys(realUsers.affected).length ? ` (${fmtCounts(realUsers.affected)})` : '') +
      ': distinct sessions, each once per hour and instance',
  );
  lines.push(
    `Noise:      ${s.noise.authErrors} auth errors from monitors, bots, CLIs and prefetches (${s.noise.perMinute.toFixed(1)}/min) = ` +
      `${pct(s.noise.share)} of all auth errors; real users caused ${s.noise.realUserAuthErrors}.`,
  );
  if (s.instrumentationErrors > 0) lines.push(`Instrumentation errors swallowed: ${s.instrumentationErrors}`);
  return lines.join('\n');
}
