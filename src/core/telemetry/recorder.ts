import { metrics, type Attributes, type BatchObservableResult, type Histogram, type Meter, type MeterProvider, type Observable } from '@opentelemetry/api';
import { ATTRIBUTES, INSTRUMENTATION_SCOPE, METRICS, type AttributeName, type MetricName } from './catalog.js';
import { VERSION } from './version.js';

/** Attribute values for one recording, by catalog attribute name. Undefined values are left out. */
export type MetricFacts = Partial<Record<AttributeName, string>>;

type CounterName = { [K in MetricName]: (typeof METRICS)[K]['kind'] extends 'counter' ? K : never }[MetricName];
type HistogramName = Exclude<MetricName, CounterName>;

type CounterCell = { readonly attributes: Attributes; value: number };
type HistogramCell = {
  readonly attributes: Attributes;
  /** Values recorded under this attribute set so far; for diagnostics and tests. */
  count: number;
};

const COUNTER_NAMES = (Object.keys(METRICS) as MetricName[]).filter((m) => METRICS[m].kind === 'counter') as CounterName[];
const HISTOGRAM_NAMES = (Object.keys(METRICS) as MetricName[]).filter((m) => METRICS[m].kind === 'histogram') as HistogramName[];

/** The attribute keys each metric may carry, in catalog order; resolved once. */
const METRIC_ATTRIBUTES = Object.fromEntries(
  (Object.keys(METRICS) as MetricName[]).map((m) => [m, METRICS[m].attributes as readonly AttributeName[]]),
) as Record<MetricName, readonly AttributeName[]>;

/**
 * Records the catalog's metrics. Counters are pre-aggregated in plain numbers and reported through
 * observable instruments at collection time; histogram values go to the SDK's histograms.
 * Attribute objects are built once per distinct combination and frozen (docs/why-it-is-fast.md).
 */
export class Recorder {
  private readonly counters = cellsOf(COUNTER_NAMES, (attributes): CounterCell => ({ attributes, value: 0 }));
  private readonly histogramCells = cellsOf(HISTOGRAM_NAMES, (attributes): HistogramCell => ({ attributes, count: 0 }));
  private boundProvider: MeterProvider | undefined;
  private histograms: Partial<Record<HistogramName, Histogram>> = {};
  private unbind: (() => void) | undefined;

  /** @param onDropped told of each value the SDK histogram refused, and why. */
  constructor(private readonly onDropped: (count: number, error: unknown) => void = () => {}) {}

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
      for (const name of COUNTER_NAMES) {
        const observable = observables.get(name)!;
        for (const cell of this.counters[name].all) result.observe(observable, cell.value, cell.attributes);
      }
    };
    const list = [...observables.values()];
    meter.addBatchObservableCallback(callback, list);
    return () => meter.removeBatchObservableCallback(callback, list);
  }

  /** Counts, and returns the frozen attribute set it counted under (reusable as span attributes). */
  add(metric: CounterName, facts: MetricFacts, increment = 1): Attributes {
    this.bind();
    const cell = this.counters[metric].at(facts);
    cell.value += increment;
    return cell.attributes;
  }

  /** Records the value in the SDK's histogram, under the attribute set built once for these facts. */
  record(metric: HistogramName, facts: MetricFacts, value: number): void {
    if (!Number.isFinite(value)) return;
    this.bind();
    const cell = this.histogramCells[metric].at(facts);
    cell.count++;
    try {
      this.histograms[metric]?.record(value, cell.attributes);
    } catch (error) {
      this.onDropped(1, error);
    }
  }

  /** How many values each histogram attribute set has recorded; for diagnostics and tests. */
  *histogramCounts(): Generator<{ metric: HistogramName; attributes: Attributes; count: number }> {
    for (const name of HISTOGRAM_NAMES) {
      for (const cell of this.histogramCells[name].all) yield { metric: name, attributes: cell.attributes, count: cell.count };
    }
  }

  /** Current pre-aggregated counter value for exact facts; for diagnostics and tests. */
  counterValue(metric: CounterName, facts: MetricFacts): number {
    return this.counters[metric].find(facts)?.value ?? 0;
  }

  /** Sum of a counter over every attribute combination matching the given facts. */
  counterTotal(metric: CounterName, filter: MetricFacts = {}): number {
    let total = 0;
    for (const cell of this.counters[metric].all) {
      const matches = (Object.keys(filter) as AttributeName[]).every((a) => cell.attributes[ATTRIBUTES[a].key] === filter[a]);
      if (matches) total += cell.value;
    }
    return total;
  }
}

export type { CounterName, HistogramName };

/** A metric's cells, one per distinct attribute set, found by the attribute values joined into one key. */
class Cells<C extends { readonly attributes: Attributes }> {
  readonly all: C[] = [];
  private readonly byKey = new Map<string, C>();

  constructor(
    private readonly metric: MetricName,
    private readonly create: (attributes: Attributes) => C,
  ) {}

  find(facts: MetricFacts): C | undefined {
    return this.byKey.get(keyOf(this.metric, facts));
  }

  /** The cell for these facts, created on first use. */
  at(facts: MetricFacts): C {
    const key = keyOf(this.metric, facts);
    let cell = this.byKey.get(key);
    if (cell === undefined) {
      cell = this.create(attributesOf(this.metric, facts));
      this.byKey.set(key, cell);
      this.all.push(cell);
    }
    return cell;
  }
}

function cellsOf<N extends MetricName, C extends { readonly attributes: Attributes }>(
  names: readonly N[],
  create: (attributes: Attributes) => C,
): Record<N, Cells<C>> {
  return Object.fromEntries(names.map((name) => [name, new Cells(name, create)])) as Record<N, Cells<C>>;
}

/** One string per attribute set of the metric: an absent attribute and an empty value differ. */
function keyOf(metric: MetricName, facts: MetricFacts): string {
  let key = '';
  for (const attribute of METRIC_ATTRIBUTES[metric]) {
    const value = facts[attribute];
    key += value === undefined ? '\u0000' : '\u0000=' + value;
  }
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
