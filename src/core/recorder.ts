import {
  metrics,
  type Attributes,
  type BatchObservableResult,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Observable,
} from '@opentelemetry/api';
import { ATTRIBUTES, INSTRUMENTATION_SCOPE, METRICS, type AttributeName, type MetricName } from './catalog.js';
import { VERSION } from './version.js';

/** Attribute values for one recording, by catalog attribute name. Undefined values are left out. */
export type MetricFacts = Partial<Record<AttributeName, string>>;

type CounterName = { [K in MetricName]: (typeof METRICS)[K]['kind'] extends 'counter' ? K : never }[MetricName];
type HistogramName = Exclude<MetricName, CounterName>;

type CounterCell = { readonly attributes: Attributes; value: number };
type HistogramCell = { readonly metric: HistogramName; readonly attributes: Attributes; readonly values: number[] };

/** Buffered histogram values per attribute set before they are handed to the SDK in one go. */
const MAX_BUFFERED_VALUES = 1024;

const COUNTER_NAMES = (Object.keys(METRICS) as MetricName[]).filter((m) => METRICS[m].kind === 'counter') as CounterName[];
const HISTOGRAM_NAMES = (Object.keys(METRICS) as MetricName[]).filter((m) => METRICS[m].kind === 'histogram') as HistogramName[];

/** The attribute keys each metric may carry, in catalog order; resolved once. */
const METRIC_ATTRIBUTES = Object.fromEntries(
  (Object.keys(METRICS) as MetricName[]).map((m) => [m, METRICS[m].attributes as readonly AttributeName[]]),
) as Record<MetricName, readonly AttributeName[]>;

const SEPARATOR = '\u0001';

/**
 * Records the catalog's metrics cheaply. Counters are pre-aggregated in plain numbers and reported
 * through observable instruments at collection time, so the hot path is a map lookup and an
 * increment. Attribute objects are built once per distinct combination and frozen; since every
 * metric attribute has a bounded value set, so is the number of combinations.
 */
export class Recorder {
  private readonly cells = new Map<CounterName, Map<string, CounterCell>>(COUNTER_NAMES.map((m) => [m, new Map()]));
  private readonly histogramCells = new Map<string, HistogramCell>();
  private boundProvider: MeterProvider | undefined;
  private histograms: Partial<Record<HistogramName, Histogram>> = {};
  private unbind: (() => void) | undefined;

  /** Called on each recording: instruments follow the global MeterProvider even if it is set late. */
  private bind(): void {
    const provider = metrics.getMeterProvider();
    if (provider === this.boundProvider) return;
    this.unbind?.();
    this.boundProvider = provider;
    const meter = provider.getMeter(INSTRUMENTATION_SCOPE, VERSION);
    this.histograms = {};
    for (const name of HISTOGRAM_NAMES) {
      const spec = METRICS[name];
      this.histograms[name] = meter.createHistogram(spec.name, {
        unit: spec.unit,
        description: spec.description,
        advice: { explicitBucketBoundaries: [...spec.buckets] },
      });
    }
    this.unbind = this.observeCounters(meter);
  }

  private observeCounters(meter: Meter): () => void {
    const observables = new Map<CounterName, Observable>();
    for (const name of COUNTER_NAMES) {
      const spec = METRICS[name];
      observables.set(name, meter.createObservableCounter(spec.name, { unit: spec.unit, description: spec.description }));
    }
    const callback = (result: BatchObservableResult): void => {
      for (const [name, cells] of this.cells) {
        const observable = observables.get(name)!;
        for (const cell of cells.values()) result.observe(observable, cell.value, cell.attributes);
      }
      // The SDK runs observable callbacks before it collects synchronous instruments, so values
      // handed over here land in this very collection.
      this.drainHistograms();
    };
    const list = [...observables.values()];
    meter.addBatchObservableCallback(callback, list);
    return () => meter.removeBatchObservableCallback(callback, list);
  }

  /** Counts, and returns the frozen attribute set it counted under (reusable as span attributes). */
  add(metric: CounterName, facts: MetricFacts, increment = 1): Attributes {
    this.bind();
    const key = keyOf(metric, facts);
    const cells = this.cells.get(metric)!;
    const cell = cells.get(key);
    if (cell !== undefined) {
      cell.value += increment;
      return cell.attributes;
    }
    const attributes = attributesOf(metric, facts);
    cells.set(key, { attributes, value: increment });
    return attributes;
  }

  /**
   * Buffers the value: the SDK's `Histogram.record` hashes the attribute set on every call, which
   * is most of the cost of a naive recording. Buffers are drained at collection time (and when full).
   */
  record(metric: HistogramName, facts: MetricFacts, value: number): void {
    if (!Number.isFinite(value)) return;
    this.bind();
    const key = keyOf(metric, facts);
    let cell = this.histogramCells.get(key);
    if (cell === undefined) {
      cell = { metric, attributes: attributesOf(metric, facts), values: [] };
      this.histogramCells.set(key, cell);
    }
    cell.values.push(value);
    if (cell.values.length >= MAX_BUFFERED_VALUES) this.drainCell(cell);
  }

  private drainHistograms(): void {
    for (const cell of this.histogramCells.values()) if (cell.values.length > 0) this.drainCell(cell);
  }

  private drainCell(cell: HistogramCell): void {
    const histogram = this.histograms[cell.metric];
    const { values, attributes } = cell;
    if (histogram !== undefined) for (let i = 0; i < values.length; i++) histogram.record(values[i]!, attributes);
    values.length = 0;
  }

  /** Current pre-aggregated counter value for exact facts; for diagnostics and tests. */
  counterValue(metric: CounterName, facts: MetricFacts): number {
    return this.cells.get(metric)!.get(keyOf(metric, facts))?.value ?? 0;
  }

  /** Sum of a counter over every attribute combination matching the given facts. */
  counterTotal(metric: CounterName, filter: MetricFacts = {}): number {
    let total = 0;
    for (const cell of this.cells.get(metric)!.values()) {
      const matches = (Object.keys(filter) as AttributeName[]).every((a) => cell.attributes[ATTRIBUTES[a].key] === filter[a]);
      if (matches) total += cell.value;
    }
    return total;
  }
}

export type { CounterName, HistogramName };

function keyOf(metric: MetricName, facts: MetricFacts): string {
  let key: string = metric;
  for (const attribute of METRIC_ATTRIBUTES[metric]) key += SEPARATOR + (facts[attribute] ?? '');
  return key;
}

function attributesOf(metric: MetricName, facts: MetricFacts): Attributes {
  const attributes: Attributes = {};
  for (const attribute of METRIC_ATTRIBUTES[metric]) {
    const value = facts[attribute];
    if (value !== undefined) attributes[ATTRIBUTES[attribute].key] = value;
  }
  return Object.freeze(attributes);
}
