/**
 * Input series for `promtool test rules`, shaped like the OpenTelemetry Collector's (and Prometheus'
 * OTLP receiver's) output: catalog names translated, `job`/`instance` from the resource, the scope
 * label, and bounded attribute labels.
 */
import { ATTRIBUTES, INSTRUMENTATION_SCOPE, METRICS, OTHER, type AttributeName } from '../../../src/core/catalog.js';
import { PROMETHEUS_INSTANCE_LABEL, PROMETHEUS_SCOPE_NAME_LABEL } from '../../../src/core/naming.js';
import { BUCKET_LABEL, JOB, PromNames, label, type CounterMetric, type HistogramMetric } from '../promql.js';

export type Labels = Record<string, string>;
export type Attrs = Partial<Record<AttributeName, string>>;

/** A counter's increase per minute over a stretch of minutes. */
export interface Segment {
  readonly minutes: number;
  readonly perMinute: number;
}

export class Series {
  constructor(
    readonly name: string,
    readonly labels: Labels,
    /** Cumulative value at minute `m` (samples every minute from 0). */
    readonly at: (minute: number) => number,
    readonly minutes: number,
    private readonly notation: string,
  ) {}

  /** promtool `series:` text. Labels sorted, values JSON-quoted. */
  get series(): string {
    const entries = Object.entries(this.labels).sort(([a], [b]) => a.localeCompare(b));
    return `${this.name}{${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
  }

  get values(): string {
    return this.notation;
  }

  /** Per-second rate over [t - window, t] (minutes), as PromQL computes it for window-aligned samples. */
  rate(t: number, window: number): number {
    return (this.at(t) - this.at(t - window)) / (window * 60);
  }

  increase(t: number, window: number): number {
    return this.at(t) - this.at(t - window);
  }
}

const fmt = (n: number) => String(Number(n.toPrecision(12)));

/** A piecewise-linear counter starting at 0; written in promtool's `a+bxn` notation. */
export function piecewise(segments: readonly Segment[]): { at: (m: number) => number; minutes: number; notation: string } {
  const minutes = segments.reduce((n, s) => n + s.minutes, 0);
  const at = (m: number): number => {
    if (m <= 0) return 0;
    let v = 0;
    let left = m;
    for (const s of segments) {
      const step = Math.min(left, s.minutes);
      v += step * s.perMinute;
      left -= step;
      if (left <= 0) break;
    }
    return v;
  };
  const parts: string[] = [];
  let done = 0;
  segments.forEach((s, i) => {
    if (i === 0) parts.push(`0+${fmt(s.perMinute)}x${s.minutes}`);
    else parts.push(`${fmt(at(done + 1))}+${fmt(s.perMinute)}x${s.minutes - 1}`);
    done += s.minutes;
  });
  return { at, minutes, notation: parts.join(' ') };
}

/** A counter that only ever moves in whole steps (a real OTel counter exported every minute). */
export function stepped(minutes: number, at: (m: number) => number): { at: (m: number) => number; minutes: number; notation: string } {
  const values = Array.from({ length: minutes + 1 }, (_, m) => fmt(at(m)));
  return { at, minutes, notation: values.join(' ') };
}

/** Where a series comes from: Prometheus' `job` (`service.name`) and `instance` (`service.instance.id`). */
export interface Origin {
  readonly job?: string;
  readonly instance?: string;
}

export interface SeriesFactory {
  counter(metric: CounterMetric, attrs: Attrs, shape: ReturnType<typeof piecewise>, origin?: string | Origin): Series;
  /**
   * Histogram series (`_bucket` per bound and `+Inf`, `_sum`, `_count`) from per-minute observation
   * counts per bucket (non-cumulative; the last entry is the `+Inf` overflow).
   */
  histogram(metric: HistogramMetric, attrs: Attrs, perBucketPerMinute: readonly number[], minutes: number, origin?: string | Origin): Series[];
}

export function seriesFactory(names: PromNames, defaultJob: string): SeriesFactory {
  const labelsOf = (attrs: Attrs, origin: string | Origin = {}): Labels => {
    const { job = defaultJob, instance = `${job}-7f9c4d-x2k8p` } = typeof origin === 'string' ? { job: origin } : origin;
    const out: Labels = {
      [JOB]: job,
      [PROMETHEUS_INSTANCE_LABEL]: instance,
      [PROMETHEUS_SCOPE_NAME_LABEL]: INSTRUMENTATION_SCOPE,
    };
    const withDefaults: Attrs = { sdk: 'nextjs-auth0-v3', runtime: 'edge', ...attrs };
    for (const [k, v] of Object.entries(withDefaults)) {
      if (v === undefined) continue;
      // Fixture values must be ones the plugin can emit.
      const allowed = (ATTRIBUTES[k as AttributeName] as { values?: readonly string[] }).values;
      if (allowed && !allowed.includes(v) && v !== OTHER) throw new Error(`${k}=${v} is not in the catalog value set`);
      out[label(k as AttributeName)] = v;
    }
    return out;
  };
  return {
    counter(metric, attrs, shape, origin) {
      return new Series(names.counter(metric), labelsOf(attrs, origin), shape.at, shape.minutes, shape.notation);
    },
    histogram(metric, attrs, perBucket, minutes, origin) {
      const bounds = METRICS[metric].buckets;
      if (!bounds || perBucket.length !== bounds.length + 1) {
        throw new Error(`${metric}: need ${(bounds?.length ?? 0) + 1} bucket counts`);
      }
      const labels = labelsOf(attrs, origin);
      const out: Series[] = [];
      let cumulative = 0;
      [...bounds, Infinity].forEach((bound, i) => {
        cumulative += perBucket[i]!;
        const shape = piecewise([{ minutes, perMinute: cumulative }]);
        out.push(
          new Series(
            names.histogram(metric, 'bucket'),
            { ...labels, [BUCKET_LABEL]: leValue(bound) },
            shape.at,
            minutes,
            shape.notation,
          ),
        );
      });
      const count = piecewise([{ minutes, perMinute: cumulative }]);
      out.push(new Series(names.histogram(metric, 'count'), labels, count.at, minutes, count.notation));
      const sumPerMinute = bounds.reduce((s, b, i) => s + perBucket[i]! * b, 0);
      const sum = piecewise([{ minutes, perMinute: sumPerMinute }]);
      out.push(new Series(names.histogram(metric, 'sum'), labels, sum.at, minutes, sum.notation));
      return out;
    },
  };
}

/** Bucket bounds as the Collector writes them (`strconv.FormatFloat(b, 'f', -1, 64)`). */
export function leValue(bound: number): string {
  return bound === Infinity ? '+Inf' : String(bound);
}

/**
 * The φ-quantile Prometheus' histogram_quantile() reports for these cumulative bucket counts
 * (linear interpolation inside the bucket; the lowest bucket starts at 0 unless its bound is ≤ 0).
 */
export function bucketQuantile(q: number, cumulative: readonly { le: number; count: number }[]): number {
  const total = cumulative[cumulative.length - 1]!.count;
  const rank = q * total;
  const i = cumulative.findIndex((b) => b.count >= rank);
  if (i === cumulative.length - 1) return cumulative[cumulative.length - 2]!.le;
  const b = cumulative[i]!;
  if (i === 0 && b.le <= 0) return b.le;
  const start = i === 0 ? 0 : cumulative[i - 1]!.le;
  const below = i === 0 ? 0 : cumulative[i - 1]!.count;
  return start + (b.le - start) * ((rank - below) / (b.count - below));
}

export function cumulativeBuckets(bounds: readonly number[], perBucket: readonly number[]) {
  let c = 0;
  return [...bounds, Infinity].map((le, i) => ({ le, count: (c += perBucket[i]!) }));
}
