/**
 * Every generated query and rule sums away the exporting instance. Each process exports its own
 * cumulative counters under its own `service.instance.id` (Prometheus: `instance`; Datadog: `host`,
 * `pod_name`, …), so a selection of a plugin metric that reaches a result, a threshold or a ratio
 * with an instance label still on it pages (or draws) per replica instead of per service.
 *
 * PromQL is parsed with Prometheus' own lezer grammar (@prometheus-io/lezer-promql). Datadog's
 * metric query syntax has no maintained parser on npm; its `agg:metric{scope} by {tags}` terms are
 * matched directly, and every plugin metric in a query must sit in such a term.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRICS, type MetricName } from '../src/core/telemetry/catalog.js';
import { datadogMetricName } from '../src/core/telemetry/naming.js';
import { PATHS, buildAll } from '../dashboards/src/index.js';
import { INSTANCE, PromNames } from '../dashboards/src/promql.js';
import { substitute } from '../dashboards/src/promtool/panels.js';
import { REPO_ROOT } from '../scripts/build-dashboards.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Labels and tags that identify one process (Prometheus: the OTLP `instance` and common Kubernetes / host labels). */
const PROM_INSTANCE_LABELS = [INSTANCE, 'service_instance_id', 'pod', 'host'];
const DATADOG_INSTANCE_TAGS = ['host', 'pod', 'pod_name', 'kube_pod_name', 'container_id', 'service.instance.id'];
/** Aggregations whose result has only the grouping labels; topk, bottomk, limitk keep every label. */
const AGGREGATIONS = new Set(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'quantile']);

const PROM_METRICS = new Set([...new PromNames('otlp').all(), ...new PromNames('js-exporter').all()]);
const DATADOG_METRICS = new Set((Object.keys(METRICS) as MetricName[]).map(datadogMetricName));

interface Verdict {
  /** Selections of plugin metrics found (range and instant). */
  readonly checked: number;
  /** What is wrong: a selection that keeps an instance label, or a parse error. */
  readonly problems: string[];
}

const text = (src: string, n: SyntaxNode) => src.slice(n.from, n.to);

/** True when an aggregation between the selection and the result drops every instance label. */
function summedAway(selection: SyntaxNode, src: string): boolean {
  for (let p = selection.parent; p; p = p.parent) {
    if (p.name !== 'AggregateExpr' || !AGGREGATIONS.has(text(src, p.getChild('AggregateOp')!))) continue;
    const modifier = p.getChild('AggregateModifier');
    if (!modifier) return true;
    const labels = (modifier.getChild('GroupingLabels')?.getChildren('LabelName') ?? []).map((l) => text(src, l));
    const keeps = modifier.getChild('Without') ? PROM_INSTANCE_LABELS.some((l) => !labels.includes(l)) : labels.some((l) => PROM_INSTANCE_LABELS.includes(l));
    if (!keeps) return true;
  }
  return false;
}

/** Every selection of a plugin metric (a selector without a metric name counts as one) must be summed away. */
function checkPromql(expr: string): Verdict {
  const problems: string[] = [];
  let checked = 0;
  parser.parse(expr).iterate({
    enter: (ref) => {
      if (ref.type.isError) problems.push(`parse error at ${ref.from}: ${JSON.stringify(expr.slice(ref.from, ref.from + 30))}`);
      if (ref.name !== 'VectorSelector') return;
      const name = ref.node.getChild('Identifier');
      if (name && !PROM_METRICS.has(text(expr, name))) return;
      checked++;
      const selection = ref.node.parent?.name === 'MatrixSelector' ? ref.node.parent : ref.node;
      if (!summedAway(selection, expr)) problems.push(`keeps the instance: ${text(expr, selection)}`);
    },
  });
  return { checked, problems };
}

/** Every `agg:metric{scope} by {tags}` term of a plugin metric has a space aggregation and no per-instance tag in `by`. */
function checkDatadog(query: string): Verdict {
  const problems: string[] = [];
  let checked = 0;
  for (const m of query.matchAll(/(?:(\w+):)?([a-z][\w.]*)\{[^}]*\}(?:\s*by\s*\{([^}]*)\})?/g)) {
    const [term, agg, metric, by] = m;
    if (!DATADOG_METRICS.has(metric!)) continue;
    checked++;
    if (!agg || !/^(sum|avg|min|max|count|p\d+)$/.test(agg)) problems.push(`no space aggregation: ${term}`);
    const kept = (by ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => DATADOG_INSTANCE_TAGS.includes(t));
    if (kept.length) problems.push(`keeps ${kept.join(', ')}: ${term}`);
  }
  return { checked, problems };
}

type Source = { readonly where: string; readonly query: string; readonly kind: 'promql' | 'datadog' };

/** Every query of the five generated artefacts that reads metrics. */
function generatedQueries(files: Record<string, string>): Source[] {
  const out: Source[] = [];
  const add = (kind: Source['kind'], where: string, query: string) => out.push({ kind, where, query });
  for (const g of (parse(files[PATHS.prometheusRules]!) as any).groups) {
    for (const r of g.rules) add('promql', `${PATHS.prometheusRules} ${r.record ?? r.alert}`, r.expr);
  }
  const panels = (JSON.parse(files[PATHS.grafanaDashboard]!).panels as any[]).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const p of panels) for (const t of p.targets ?? []) add('promql', `${PATHS.grafanaDashboard} ${p.title} ${t.refId}`, substitute(t.expr));
  for (const g of (parse(files[PATHS.grafanaAlerts]!) as any).groups) {
    for (const r of g.rules) {
      for (const d of r.data) if (d.datasourceUid !== '__expr__') add('promql', `${PATHS.grafanaAlerts} ${r.title}`, d.model.expr.replaceAll('$$', '$'));
    }
  }
  const widgets = (ws: any[]): any[] => ws.flatMap((w) => [w, ...widgets(w.definition.widgets ?? [])]);
  for (const w of widgets(JSON.parse(files[PATHS.datadogDashboard]!).widgets)) {
    for (const r of w.definition.requests ?? []) {
      for (const q of [r.q, ...(r.queries ?? []).map((x: any) => x.query)].filter(Boolean))
        add('datadog', `${PATHS.datadogDashboard} ${w.definition.title}`, q);
    }
  }
  for (const m of JSON.parse(files[PATHS.datadogMonitors]!)) if (m.type !== 'composite') add('datadog', `${PATHS.datadogMonitors} ${m.name}`, m.query);
  return out;
}

const check = (s: Source) => (s.kind === 'promql' ? checkPromql(s.query) : checkDatadog(s.query));

function problemsOf(files: Record<string, string>): string[] {
  return generatedQueries(files).flatMap((s) => check(s).problems.map((p) => `${s.where}: ${p}`));
}

const committed = Object.fromEntries(
  [PATHS.prometheusRules, PATHS.grafanaDashboard, PATHS.grafanaAlerts, PATHS.datadogDashboard, PATHS.datadogMonitors].map((p) => [
    p,
    readFileSync(join(REPO_ROOT, p), 'utf8'),
  ]),
);

describe('every generated query sums away the exporting instance', () => {
  const sources = generatedQueries(committed);

  it('covers every artefact, and finds plugin metrics in every query that is not built on recording rules', () => {
    const counts = new Map<string, number>();
    for (const s of sources) counts.set(s.where.split(' ')[0]!, (counts.get(s.where.split(' ')[0]!) ?? 0) + check(s).checked);
    for (const path of Object.keys(committed)) expect(counts.get(path), path).toBeGreaterThan(0);
    // Prometheus alerts may read only recording rules (checked themselves) and the SLO rules are constants.
    const bare = sources.filter((s) => check(s).checked === 0 && !s.where.startsWith(PATHS.prometheusRules));
    expect(bare.map((s) => s.where)).toEqual([]);
  });

  it('Prometheus rules, Grafana panels and Grafana alert rules (PromQL, parsed)', () => {
    const problems = sources.filter((s) => s.kind === 'promql').flatMap((s) => check(s).problems.map((p) => `${s.where}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('Datadog dashboard queries and monitors', () => {
    const problems = sources.filter((s) => s.kind === 'datadog').flatMap((s) => check(s).problems.map((p) => `${s.where}: ${p}`));
    expect(problems).toEqual([]);
  });
});

describe('negative controls: the checker flags what keeps an instance', () => {
  const R = 'auth_token_refreshes_total{auth_user_agent_class="browser"}';
  const B = 'auth_token_refresh_duration_seconds_bucket';

  it.each([
    [`rate(${R}[5m])`, 'no aggregation'],
    [`sum by (job, instance) (rate(${R}[5m]))`, 'instance in by'],
    [`sum by (job, pod) (increase(${R}[1h]))`, 'pod in by'],
    [`sum without (le) (rate(${B}[5m]))`, 'without that leaves instance'],
    [`histogram_quantile(0.99, rate(${B}[5m]))`, 'quantile per series'],
    [`topk by (job) (1, rate(${R}[5m]))`, 'topk keeps labels'],
    [`sum by (job) (rate(${R}[5m])) / rate(${R}[5m])`, 'one side per series'],
    [`${R} > 0`, 'instant selector'],
  ])('PromQL %s (%s)', (expr) => {
    const v = checkPromql(expr);
    expect(v.checked).toBeGreaterThan(0);
    expect(v.problems).not.toEqual([]);
  });

  it.each([
    `sum by (job) (sum by (job, instance) (rate(${R}[5m])))`,
    `sum without (instance, service_instance_id, pod, host) (rate(${R}[5m]))`,
    `histogram_quantile(0.5, sum by (le) (rate(${B}[5m])))`,
  ])('PromQL %s passes', (expr) => {
    expect(checkPromql(expr)).toMatchObject({ problems: [] });
  });

  it('a query the grammar cannot parse is a problem, not a pass', () => {
    expect(checkPromql(`sum by (job (rate(${R}[5m]))`).problems.join('\n')).toContain('parse error');
  });

  it.each([
    ['sum:auth.token.refreshes{$service,$env} by {service,host}.as_count()', 'host'],
    ['sum(last_5m):sum:auth.token.refreshes{*} by {service,pod_name}.as_count() > 1', 'pod_name'],
    ['avg:auth.middleware.duration{*} by {service.instance.id}', 'service.instance.id'],
    ['auth.token.refreshes{*}', 'no space aggregation'],
  ])('Datadog %s', (query, why) => {
    expect(checkDatadog(query).problems.join('\n')).toContain(why);
  });

  it('rules generated per instance (sum by (job, instance)) are flagged, every one of them', () => {
    const files = buildAll({ perInstance: true });
    const problems = problemsOf(files);
    const rules = generatedQueries(files).filter((s) => s.kind === 'promql' && check(s).checked > 0 && !s.where.startsWith(PATHS.grafanaDashboard));
    expect(rules.length).toBeGreaterThan(10);
    for (const r of rules)
      expect(
        problems.some((p) => p.startsWith(`${r.where}:`)),
        r.where,
      ).toBe(true);
    // The dashboards do not take that switch and stay clean.
    expect(problems.filter((p) => p.startsWith(PATHS.grafanaDashboard) || p.startsWith('dashboards/datadog'))).toEqual([]);
  });
});
