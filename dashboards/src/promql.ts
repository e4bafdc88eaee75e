/**
 * PromQL building blocks. Every metric and label name comes from the telemetry catalog through
 * `src/core/telemetry/naming.ts`; nothing here spells one out.
 */
import {
  AFFECTED_OUTCOMES,
  ERROR_CODES,
  ERROR_TYPES,
  HANDLER_OUTCOMES,
  METRICS,
  MIDDLEWARE_OUTCOMES,
  REFRESH_FAILURE_KINDS,
  REFRESH_OUTCOMES,
  REUSE_KINDS,
  SESSION_READ_OUTCOMES,
  TOKEN_REQUEST_OUTCOMES,
  UNPERSISTED_REASONS,
  USER_AGENT_CLASSES,
  type AttributeName,
  type MetricName,
} from '../../src/core/telemetry/catalog.js';
import {
  PROMETHEUS_INSTANCE_LABEL,
  PROMETHEUS_SERVICE_LABEL,
  jsPrometheusExporterMetricName,
  prometheusLabel,
  prometheusMetricName,
} from '../../src/core/telemetry/naming.js';
import type { PrometheusNaming } from './options.js';

export type CounterMetric = {
  [K in MetricName]: (typeof METRICS)[K]['kind'] extends 'counter' ? K : never;
}[MetricName];
export type HistogramMetric = Exclude<MetricName, CounterMetric>;

/** Prometheus' own histogram conventions (not telemetry names): bucket bound label and series suffixes. */
export const BUCKET_LABEL = 'le';
const HISTOGRAM_SUFFIX = { bucket: '_bucket', sum: '_sum', count: '_count' } as const;

/** The label `service.name` becomes. */
export const JOB = PROMETHEUS_SERVICE_LABEL;

/** The label `service.instance.id` becomes: one per process, so every query sums it away. */
export const INSTANCE = PROMETHEUS_INSTANCE_LABEL;

/** Prometheus label of a catalog attribute. */
export const label = (attribute: AttributeName): string => prometheusLabel(attribute);

/** Picks a value that the catalog declares; a typo is a compile error, and a runtime one too. */
export function value<const T extends readonly string[]>(set: T, v: T[number]): string {
  if (!set.includes(v)) throw new Error(`${v} is not in the catalog value set`);
  return v;
}

export const V = {
  browser: value(USER_AGENT_CLASSES, 'browser'),
  refreshSuccess: value(REFRESH_OUTCOMES, 'success'),
  refreshFailure: value(REFRESH_OUTCOMES, 'failure'),
  tokenError: value(TOKEN_REQUEST_OUTCOMES, 'error'),
  middlewareError: value(MIDDLEWARE_OUTCOMES, 'error'),
  handlerError: value(HANDLER_OUTCOMES, 'error'),
  sessionFound: value(SESSION_READ_OUTCOMES, 'found'),
  sessionInvalid: value(SESSION_READ_OUTCOMES, 'invalid'),
  race: value(REUSE_KINDS, 'race'),
  lostRotation: value(REUSE_KINDS, 'lost_rotation'),
  affectedRefreshFailure: value(AFFECTED_OUTCOMES, 'refresh_failure'),
  terminal: value(REFRESH_FAILURE_KINDS, 'terminal'),
  tokenReused: value(UNPERSISTED_REASONS, 'token_reused'),
  sessionExpired: value(ERROR_CODES, 'session_expired'),
  /** The "no session" codes of nextjs-auth0 v3 and v4. */
  missingSessionCodes: [value(ERROR_CODES, 'ERR_MISSING_SESSION'), value(ERROR_CODES, 'missing_session')],
  /** HTTP 5xx statuses recorded in `error.type`. */
  http5xx: ERROR_TYPES.filter((t) => /^5\d\d$/.test(t)),
} as const;

export type MatchOp = '=' | '!=' | '=~' | '!~';
export type Matcher = readonly [label: string, op: MatchOp, value: string];

export const eq = (l: string, v: string): Matcher => [l, '=', v];
export const ne = (l: string, v: string): Matcher => [l, '!=', v];
export const re = (l: string, values: readonly string[] | string): Matcher => [
  l,
  '=~',
  typeof values === 'string' ? values : values.map(escapeRegex).join('|'),
];

function escapeRegex(v: string): string {
  // `selector` JSON-quotes the value, which doubles the backslash as a PromQL string literal needs.
  return v.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);
}

export function selector(name: string, matchers: readonly Matcher[]): string {
  if (matchers.length === 0) return name;
  return `${name}{${matchers.map(([l, op, v]) => `${l}${op}${JSON.stringify(v)}`).join(', ')}}`;
}

export const sumBy = (labels: readonly string[], expr: string): string => (labels.length === 0 ? `sum(${expr})` : `sum by (${labels.join(', ')}) (${expr})`);

/** Metric names under one naming convention. */
export class PromNames {
  constructor(readonly naming: PrometheusNaming) {}

  private base(metric: MetricName): string {
    return this.naming === 'otlp' ? prometheusMetricName(metric) : jsPrometheusExporterMetricName(metric);
  }

  counter(metric: CounterMetric): string {
    return this.base(metric);
  }

  histogram(metric: HistogramMetric, part: keyof typeof HISTOGRAM_SUFFIX): string {
    return this.base(metric) + HISTOGRAM_SUFFIX[part];
  }

  /** Every series name the plugin produces (counters, histogram buckets/sums/counts). */
  all(): string[] {
    const out: string[] = [];
    for (const key of Object.keys(METRICS) as MetricName[]) {
      if (METRICS[key].kind === 'counter') out.push(this.counter(key as CounterMetric));
      else for (const part of ['bucket', 'sum', 'count'] as const) out.push(this.histogram(key as HistogramMetric, part));
    }
    return out;
  }
}

/** The name of a counter without `_total`, for recording-rule names (`level:metric:operations`). */
export function recordingBase(metric: CounterMetric): string {
  return prometheusMetricName(metric).replace(/_total$/, '');
}

/** Seconds in a Prometheus duration such as `5m`, `1h`, `4m16s`. */
export function durationSeconds(d: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  const re = /(\d+)(ms|s|m|h|d|w|y)/g;
  let consumed = 0;
  for (let m = re.exec(d); m !== null; m = re.exec(d)) {
    total += Number(m[1]) * units[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== d.length || consumed === 0) throw new Error(`bad duration ${d}`);
  return total;
}
