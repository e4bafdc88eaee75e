import { metrics, type Attributes, type BatchObservableResult, type Histogram, type Meter, type MeterProvider, type Observable } from '@opentelemetry/api';
import { ATTRIBUTES, INSTRUMENTATION_SCOPE, METRICS, type AttributeName, type MetricName } from './catalog.js';
import { VERSION } from './version.js';

/** Attribute values for one recording, by catalog attribute name. Undefined values are left out. */
export type MetricFacts = Partial<Record<AttributeName, string>>;

type CounterName = { [K in MetricName]: (typeof METRICS)[K]['kind'] extends 'counter' ? K : never }[MetricName];
type HistogramName = Exclude<MetricName, CounterName>;

type CounterCell = { readonly attributes: Attributes; value: number };
/**
 * A histogram series aggregated here, in plain numbers: cumulative since `startedAt` (epoch ms).
 * `counts[i]` counts values ≤ `boundaries[i]` and above the previous boundary (the last one, the
 * values above every boundary), as in the SDK's explicit-bucket aggregation.
 */
export type HistogramAggregate = {
  readonly boundaries: readonly number[];
  readonly counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
  readonly startedAt: number;
};
type HistogramCell = {
  readonly metric: HistogramName;
  readonly attributes: Attributes;
  /** Values waiting for the SDK's own histogram, when no producer reports the aggregates. */
  readonly values: number[];
  aggregate: HistogramAggregate | undefined;
};

/** Buffered histogram values per attribute set before they are handed to the SDK in one go. */
const MAX_BUFFERED_VALUES = 1024;

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
  private readonly counters = tries<CounterName, CounterCell>(COUNTER_NAMES);
  private readonly histogramCells = tries<HistogramName, HistogramCell>(HISTOGRAM_NAMES);
  private boundProvider: MeterProvider | undefined;
  private histograms: Partial<Record<HistogramName, Histogram>> = {};
  private unbind: (() => void) | undefined;
  /** Set once a metric producer reports the histogram aggregates (`useHistogramProducer`). */
  private aggregating = false;

  /** @param onDropped told how many buffered values the SDK histogram refused, and why. */
  constructor(private readonly onDropped: (count: number, error: unknown) => void = () => {}) {}

  /** Called on each recording: instruments follow the global MeterProvider even if it is set late. */
  private bind(): void {
    const provider = metrics.getMeterProvider();
    if (provider === this.boundProvider) return;
    this.unbind?.();
    this.boundProvider = provider;
    const meter = provider.getMeter(INSTRUMENTATION_SCOPE, VERSION);
    this.histograms = {};
    // With a producer reporting the engine's aggregates, the SDK's histograms would stay empty.
    if (!this.aggregating) {
      for (const name of HISTOGRAM_NAMES) {
        const spec = METRICS[name];
        this.histograms[name] = meter.createHistogram(spec.name, {
          unit: spec.unit,
          description: spec.description,
          advice: { explicitBucketBoundaries: [...spec.buckets] },
        });
      }
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
        for (const cell of this.counters[name].cells) result.observe(observable, cell.value, cell.attributes);
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
    const trie = this.counters[metric];
    const cell = find(trie.root, METRIC_ATTRIBUTES[metric], facts) as CounterCell | undefined;
    if (cell !== undefined) {
      cell.value += increment;
      return cell.attributes;
    }
    const created: CounterCell = { attributes: attributesOf(metric, facts), value: increment };
    insert(trie.root, METRIC_ATTRIBUTES[metric], facts, created);
    trie.cells.push(created);
    return created.attributes;
  }

  /**
   * Aggregates the value into the series' buckets when a metric producer reports them (as the
   * readers `registerAuthTelemetry()` builds do), else buffers it for the SDK's own histogram.
   * The SDK's `Histogram.record` hashes the attribute set on every call, which is most of the
   * cost of a naive recording; buffers are drained at collection time (and when full).
   */
  record(metric: HistogramName, facts: MetricFacts, value: number): void {
    if (!Number.isFinite(value)) return;
    this.bind();
    const trie = this.histogramCells[metric];
    let cell = find(trie.root, METRIC_ATTRIBUTES[metric], facts) as HistogramCell | undefined;
    if (cell === undefined) {
      cell = { metric, attributes: attributesOf(metric, facts), values: [], aggregate: undefined };
      insert(trie.root, METRIC_ATTRIBUTES[metric], facts, cell);
      trie.cells.push(cell);
    }
    if (this.aggregating) {
      aggregateInto((cell.aggregate ??= emptyAggregate(metric)), value);
      return;
    }
    cell.values.push(value);
    if (cell.values.length >= MAX_BUFFERED_VALUES) this.drainCell(cell);
  }

  /**
   * From now on histogram values are aggregated here and reported by a metric producer attached
   * to the readers; the SDK histograms are no longer created. Values already buffered move into
   * the aggregates, so none is lost or counted twice.
   */
  useHistogramProducer(): void {
    if (this.aggregating) return;
    this.aggregating = true;
    for (const name of HISTOGRAM_NAMES) {
      for (const cell of this.histogramCells[name].cells) {
        for (const value of cell.values) aggregateInto((cell.aggregate ??= emptyAggregate(name)), value);
        cell.values.length = 0;
      }
    }
  }

  /** Every aggregated histogram series, for a metric producer. */
  *histogramAggregates(): Generator<{ metric: HistogramName; attributes: Attributes; aggregate: HistogramAggregate }> {
    for (const name of HISTOGRAM_NAMES) {
      for (const cell of this.histogramCells[name].cells) {
        if (cell.aggregate !== undefined) yield { metric: name, attributes: cell.attributes, aggregate: cell.aggregate };
      }
    }
  }

  private drainHistograms(): void {
    for (const name of HISTOGRAM_NAMES) {
      const cells = this.histogramCells[name].cells;
      for (let i = 0; i < cells.length; i++) if (cells[i]!.values.length > 0) this.drainCell(cells[i]!);
    }
  }

  /**
   * Hands the buffered values to the SDK histogram and empties the buffer whatever happens: a value
   * the histogram throws on is dropped and counted, never kept for a retry that would fail again.
   */
  private drainCell(cell: HistogramCell): void {
    const histogram = this.histograms[cell.metric];
    const { values, attributes } = cell;
    let dropped = 0;
    let failure: unknown;
    if (histogram !== undefined) {
      for (let i = 0; i < values.length; i++) {
        try {
          histogram.record(values[i]!, attributes);
        } catch (error) {
          dropped++;
          failure ??= error;
        }
      }
    }
    values.length = 0;
    if (dropped > 0) this.onDropped(dropped, failure);
  }

  /** Current pre-aggregated counter value for exact facts; for diagnostics and tests. */
  counterValue(metric: CounterName, facts: MetricFacts): number {
    return (find(this.counters[metric].root, METRIC_ATTRIBUTES[metric], facts) as CounterCell | undefined)?.value ?? 0;
  }

  /** Sum of a counter over every attribute combination matching the given facts. */
  counterTotal(metric: CounterName, filter: MetricFacts = {}): number {
    let total = 0;
    for (const cell of this.counters[metric].cells) {
      const matches = (Object.keys(filter) as AttributeName[]).every((a) => cell.attributes[ATTRIBUTES[a].key] === filter[a]);
      if (matches) total += cell.value;
    }
    return total;
  }
}

export type { CounterName, HistogramName };

/**
 * Cells are found through one `Map` level per attribute of the metric, keyed by the attribute's
 * value (undefined when absent). The values are bounded, mostly interned catalog strings whose
 * hashes V8 keeps, so a lookup is a handful of `Map.get`s; building a string key instead (one
 * concatenation per attribute, then hashing the result) cost ~5x more per recording.
 */
type Node = Map<string | undefined, unknown>;
type Trie<C> = { readonly root: Node; readonly cells: C[] };

function tries<N extends MetricName, C>(names: readonly N[]): Record<N, Trie<C>> {
  return Object.fromEntries(names.map((n) => [n, { root: new Map(), cells: [] }])) as unknown as Record<N, Trie<C>>;
}

function find(root: Node, attributes: readonly AttributeName[], facts: MetricFacts): unknown {
  let node: unknown = root;
  for (let i = 0; i < attributes.length; i++) {
    node = (node as Node).get(facts[attributes[i]!]);
    if (node === undefined) return undefined;
  }
  return node;
}

function insert(root: Node, attributes: readonly AttributeName[], facts: MetricFacts, cell: object): void {
  let node = root;
  const last = attributes.length - 1;
  for (let i = 0; i < last; i++) {
    const value = facts[attributes[i]!];
    let next = node.get(value) as Node | undefined;
    if (next === undefined) {
      next = new Map();
      node.set(value, next);
    }
    node = next;
  }
  node.set(facts[attributes[last]!], cell);
}

function emptyAggregate(metric: HistogramName): HistogramAggregate {
  const boundaries = METRICS[metric].buckets as readonly number[];
  return { boundaries, counts: new Array<number>(boundaries.length + 1).fill(0), count: 0, sum: 0, min: Infinity, max: -Infinity, startedAt: Date.now() };
}

function aggregateInto(aggregate: HistogramAggregate, value: number): void {
  const boundaries = aggregate.boundaries;
  let bucket = 0;
  while (bucket < boundaries.length && boundaries[bucket]! < value) bucket++;
  aggregate.counts[bucket]!++;
  aggregate.count++;
  aggregate.sum += value;
  if (value < aggregate.min) aggregate.min = value;
  if (value > aggregate.max) aggregate.max = value;
}

function attributesOf(metric: MetricName, facts: MetricFacts): Attributes {
  const attributes: Attributes = {};
  for (const attribute of METRIC_ATTRIBUTES[metric]) {
    const value = facts[attribute];
    if (value !== undefined) attributes[ATTRIBUTES[attribute].key] = value;
  }
  return Object.freeze(attributes);
}
