/**
 * Input series for `promtool test rules`, shaped like the OpenTelemetry Collector's (and Prometheus'
 * OTLP receiver's) output: catalog names translated, `job`/`instance` from the resource, the scope
 * label, and bounded attribute labels.
 */
import { ATTRIBUTES, INSTRUMENTATION_SCOPE, METRICS, OTHER, type AttributeName } from '../../../src/core/telemetry/catalog.js';
import { PROMETHEUS_INSTANCE_LABEL, PROMETHEUS_SCOPE_NAME_LABEL } from '../../../src/core/telemetry/naming.js';
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

  /** Per-second `rate()` over [t - window, t] (minutes). */
  rate(t: number, window: number): number {
    return this.increase(t, window) / (window * 60);
  }

  /**
   * `increase()` as Prometheus 2.x computes it (extrapolatedRate) from the samples in the closed
   * range [t - window, t]: a drop is a counter reset, and where the samples stop short of the range
   * end (a series that went away) the result is extrapolated by half a sample interval. Samples are
   * one a minute from minute 0 to `this.minutes`, so for a range full of samples this is exactly
   * at(t) - at(t - window).
   */
  increase(t: number, window: number): number {
    const from = Math.max(t - window, 0);
    const to = Math.min(t, this.minutes);
    // Fewer than two samples: Prometheus returns nothing for the series, which adds nothing to a sum.
    if (to - from < 1) return 0;
    let delta = this.at(to) - this.at(from);
    for (let m = from + 1; m <= to; m++) if (this.at(m) < this.at(m - 1)) delta += this.at(m - 1);
    const sampled = to - from;
    let toStart = from - (t - window);
    // A counter is not extrapolated below zero.
    if (delta > 0 && this.at(from) >= 0) toStart = Math.min(toStart, sampled * (this.at(from) / delta));
    const edge = (gap: number) => (gap < 1.1 ? gap : 0.5);
    return delta * ((sampled + edge(toStart) + edge(t - to)) / sampled);
  }
}

const fmt = (n: number) => String(Number(n.toPrecision(12)));

/** A counter's values by minute, its last sample's minute, and its promtool `values:` text. */
export interface Shape {
  readonly at: (minute: number) => number;
  readonly minutes: number;
  readonly notation: string;
}

/** A piecewise-linear counter starting at 0; written in promtool's `a+bxn` notation. */
export function piecewise(segments: readonly Segment[]): Shape {
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
export function stepped(minutes: number, at: (m: number) => number): Shape {
  const values = Array.from({ length: minutes + 1 }, (_, m) => fmt(at(m)));
  return { at, minutes, notation: values.join(' ') };
}

/** A replica of a job: its Prometheus `instance`, and what happens to it during the scenario. */
export interface Replica {
  readonly instance: string;
  /** The process restarts at this minute: it serves nothing that minute and its counters start again from 0. */
  readonly restartAt?: number;
  /** Its last export (scaled in, or replaced under a new instance id): the series goes stale after it. */
  readonly lastAt?: number;
}

/** Three replicas of a job: a steady one, one that restarts at `restartAt`, one whose last export is at `lastAt`. */
export function replicasOf(job: string, events: { restartAt?: number; lastAt?: number } = {}): Replica[] {
  const pod = (suffix: string) => `${job}-7f9c4d-${suffix}`;
  return [{ instance: pod('x2k8p') }, { instance: pod('m4q7z'), restartAt: events.restartAt }, { instance: pod('r9w2j'), lastAt: events.lastAt }];
}

/**
 * One job's series as several replicas export it: every minute's increase is shared equally by the
 * replicas up that minute, so the job's traffic is that of `series`. Shares may be fractions;
 * Prometheus reads counters as floats.
 */
export function spread(series: Series, replicas: readonly Replica[]): Series[] {
  const up = (r: Replica, m: number) => m !== r.restartAt && m <= (r.lastAt ?? Infinity);
  const share = (r: Replica, m: number) => {
    const n = replicas.filter((x) => up(x, m)).length;
    if (n === 0) throw new Error(`${series.series}: no replica up at minute ${m}`);
    return up(r, m) ? 1 / n : 0;
  };
  return replicas.map((r) => {
    const last = Math.min(series.minutes, r.lastAt ?? Infinity);
    const steps: (number | null)[] = [];
    for (let m = 1; m <= last; m++) steps.push(m === r.restartAt ? null : (series.at(m) - series.at(m - 1)) * share(r, m));
    const shape = stepwise(steps, { start: series.at(0) * share(r, 0), stale: last < series.minutes });
    return new Series(series.name, { ...series.labels, [PROMETHEUS_INSTANCE_LABEL]: r.instance }, shape.at, shape.minutes, shape.notation);
  });
}

/**
 * A counter from its increase in each minute after minute 0 (`null`: the process restarts and the
 * counter is 0 again), written as runs of equal increases in promtool's `a+bxn` notation; `at`
 * reads the values back from that text. Numbers are written in full (shares of a job's traffic are
 * often thirds) so that replicas add up to the job. `stale` ends the series with a staleness marker,
 * as Prometheus writes when a scraped target goes away.
 */
export function stepwise(steps: readonly (number | null)[], { start = 0, stale = false }: { start?: number; stale?: boolean } = {}): Shape {
  const same = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
  const value = (r: { value: number; step: number }, j: number) => r.value + r.step * j;
  const runs = [{ value: start, step: 0, count: 0 }];
  for (const step of steps) {
    const run = runs[runs.length - 1]!;
    if (step !== null && (run.count === 0 || same(step, run.step))) {
      if (run.count === 0) run.step = step;
      run.count++;
    } else {
      runs.push({ value: step === null ? 0 : value(run, run.count) + step, step: 0, count: 0 });
    }
  }
  const values = runs.flatMap((r) => Array.from({ length: r.count + 1 }, (_, j) => value(r, j)));
  const text = runs.map((r) => (r.count === 0 ? `${r.value}` : `${r.value}+${r.step}x${r.count}`)).join(' ');
  return {
    at: (m) => values[Math.min(Math.max(m, 0), values.length - 1)]!,
    minutes: steps.length,
    notation: stale ? `${text} stale` : text,
  };
}

/** Where a series comes from: Prometheus' `job` (`service.name`) and `instance` (`service.instance.id`). */
export interface Origin {
  readonly job?: string;
  readonly instance?: string;
}

export interface SeriesFactory {
  counter(metric: CounterMetric, attrs: Attrs, shape: Shape, origin?: string | Origin): Series;
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
        out.push(new Series(names.histogram(metric, 'bucket'), { ...labels, [BUCKET_LABEL]: leValue(bound) }, shape.at, minutes, shape.notation));
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
