/**
 * What each instance reported, and how many series the metrics made. An instance is one exporting
 * SDK: a `next start` process has two, its Node.js server and its Edge middleware sandbox, each
 * with its own `service.instance.id`. The demo names each process in `k8s.pod.name`, as a
 * Kubernetes replica would be named.
 */
import { ATTRIBUTES, METRICS, type MetricName } from '../../src/core/telemetry/catalog.js';
import { RESOURCE_INSTANCE_ID } from '../../src/core/telemetry/naming.js';
import { aggregateSeries, type ReceivedMetricPoint, type SeriesTotal } from '../../testkit/otlp-receiver.js';

export const POD_ATTRIBUTE = 'k8s.pod.name';

export interface InstanceCounts {
  middlewareRuns: number;
  sessionReads: number;
  tokenRequests: number;
  refreshes: number;
  refreshFailures: number;
  /** Metric series (one per metric and attribute set) this instance exported. */
  series: number;
}

export interface InstanceReport extends InstanceCounts {
  pod: string;
  instanceId: string;
  runtimes: string[];
}

export interface SeriesCount {
  metric: string;
  /** Series over every instance: what a backend stores. */
  total: number;
  /** The most any one instance exported. */
  perInstanceMax: number;
  /** Distinct attribute sets over all instances: what a backend that ignores the instance id keeps (Datadog contexts). */
  attributeSets: number;
}

export interface InstancesReport {
  instances: InstanceReport[];
  total: InstanceCounts;
  seriesPerMetric: SeriesCount[];
}

const COUNTED = {
  middlewareRuns: 'middlewareRuns',
  sessionReads: 'sessionReads',
  tokenRequests: 'tokenRequests',
  refreshes: 'tokenRefreshes',
} as const satisfies Record<string, MetricName>;

const idOf = (series: SeriesTotal) => String(series.resource[RESOURCE_INSTANCE_ID] ?? 'none');
const valueOf = (series: SeriesTotal) => series.value ?? series.count ?? 0;
const emptyCounts = (): InstanceCounts => ({ middlewareRuns: 0, sessionReads: 0, tokenRequests: 0, refreshes: 0, refreshFailures: 0, series: 0 });

export function summarizeInstances(points: ReceivedMetricPoint[]): InstancesReport {
  const byId = new Map<string, InstanceReport>();
  const instance = (series: SeriesTotal): InstanceReport => {
    const id = idOf(series);
    let report = byId.get(id);
    if (report === undefined) {
      report = { pod: String(series.resource[POD_ATTRIBUTE] ?? '-'), instanceId: id, runtimes: [], ...emptyCounts() };
      byId.set(id, report);
    }
    return report;
  };
  const seriesPerMetric: SeriesCount[] = [];
  for (const metric of Object.keys(METRICS) as MetricName[]) {
    const all = aggregateSeries(points, METRICS[metric].name);
    const perInstance = new Map<string, number>();
    for (const series of all) {
      const report = instance(series);
      report.series++;
      perInstance.set(idOf(series), (perInstance.get(idOf(series)) ?? 0) + 1);
      const runtime = series.attributes[ATTRIBUTES.runtime.key];
      if (typeof runtime === 'string' && !report.runtimes.includes(runtime)) report.runtimes.push(runtime);
      for (const [field, counted] of Object.entries(COUNTED) as [keyof typeof COUNTED, MetricName][]) {
        if (counted === metric) report[field] += valueOf(series);
      }
      if (metric === 'tokenRefreshes' && series.attributes[ATTRIBUTES.outcome.key] === 'failure') report.refreshFailures += valueOf(series);
    }
    if (all.length === 0) continue;
    const attributeSets = new Set(all.map((series) => JSON.stringify(Object.entries(series.attributes).sort(([a], [b]) => a.localeCompare(b))))).size;
    seriesPerMetric.push({ metric: METRICS[metric].name, total: all.length, perInstanceMax: Math.max(...perInstance.values()), attributeSets });
  }
  const instances = [...byId.values()].sort((a, b) => a.pod.localeCompare(b.pod) || a.runtimes.join().localeCompare(b.runtimes.join()));
  const total = emptyCounts();
  for (const report of instances) for (const key of Object.keys(total) as (keyof InstanceCounts)[]) total[key] += report[key];
  return { instances, total, seriesPerMetric };
}

const COLUMNS: [keyof InstanceCounts, string][] = [
  ['middlewareRuns', 'middleware runs'],
  ['sessionReads', 'session reads'],
  ['tokenRequests', 'token requests'],
  ['refreshes', 'refreshes'],
  ['refreshFailures', 'failed'],
  ['series', 'series'],
];

export const NEXT_WRITERS = "a process's Node.js server and its Edge middleware sandbox";

/**
 * `balanced`: how many requests the load balancer sent to each process, when there was one.
 * `writers`: what the exporting SDKs of a process are.
 */
export function renderInstances(report: InstancesReport, balanced?: readonly number[], writers = NEXT_WRITERS): string {
  const row = (who: string, counts: InstanceCounts) => who.padEnd(40) + COLUMNS.map(([key, title]) => String(counts[key]).padStart(title.length + 2)).join('');
  const lines = [`Per instance (one exporting SDK each: ${writers}):`];
  lines.push(' '.repeat(40) + COLUMNS.map(([, title]) => `  ${title}`).join(''));
  for (const instance of report.instances) {
    lines.push(row(`  ${instance.pod} ${(instance.runtimes.join('+') || '-').padEnd(6)} ${instance.instanceId.slice(0, 8)}…`, instance));
  }
  lines.push(row('  total (what Prometheus sums)', report.total));
  if (balanced) lines.push(`  The round-robin balancer sent ${balanced.join(' / ')} requests to the ${balanced.length} processes.`);
  lines.push('');
  lines.push('Series per metric: OTLP streams (resource × attributes) from all instances / the most from one / attribute sets without the instance');
  lines.push('(Prometheus keeps every stream, a histogram as its buckets + 3; Datadog keeps one context per attribute set):');
  for (const { metric, total, perInstanceMax, attributeSets } of report.seriesPerMetric) {
    lines.push(`  ${metric.padEnd(34)} ${String(total).padStart(4)} / ${perInstanceMax} / ${attributeSets}`);
  }
  return lines.join('\n');
}
