/**
 * promtool unit-test files: rendering and the Prometheus template functions the expected alert
 * annotations need.
 */
import { stringify } from 'yaml';
import type { Series, Labels } from './series.js';
import { YAML_OPTIONS } from '../rules-render.js';

export interface ExpAlert {
  exp_labels: Labels;
  exp_annotations: Record<string, string>;
}

export interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: ExpAlert[];
}

export interface ExprTest {
  expr: string;
  eval_time: string;
  exp_samples: { labels: string; value: number }[];
}

export interface TestGroup {
  name: string;
  interval: string;
  input_series: Series[];
  alert_rule_test?: AlertTest[];
  promql_expr_test?: ExprTest[];
}

export function renderTestFile(ruleFile: string, groups: TestGroup[], header: string): string {
  const doc = {
    rule_files: [ruleFile],
    evaluation_interval: '1m',
    tests: groups.map((g) => ({
      name: g.name,
      interval: g.interval,
      input_series: g.input_series.map((s) => ({ series: s.series, values: s.values })),
      ...(g.alert_rule_test?.length ? { alert_rule_test: g.alert_rule_test } : {}),
      ...(g.promql_expr_test?.length ? { promql_expr_test: g.promql_expr_test } : {}),
    })),
  };
  return header + stringify(doc, YAML_OPTIONS);
}

export const minutes = (m: number): string => (m % 60 === 0 && m > 0 ? `${m / 60}h` : `${m}m`);

/** `labels:` text of an expected sample. */
export function sampleLabels(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return `{${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

/** Go's `%.4g` for the magnitudes alerts show. */
function g4(v: number): string {
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 4) throw new Error(`g4: ${v} needs exponent formatting; not supported`);
  return String(Number(v.toPrecision(4)));
}

/** Prometheus' `humanize` template function. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

/** Prometheus' `humanizePercentage` template function. */
export const humanizePercentage = (v: number): string => `${g4(v * 100)}%`;

/**
 * Renders the subset of Prometheus alert templating the rules use. `queried` is what a
 * `{{ with printf "…" $labels.job | query }}{{ . | first | value | humanize }}{{ else }}…{{ end }}`
 * block's query returns (undefined: no series, the else branch).
 */
export function renderTemplate(text: string, labels: Labels, value: number, queried?: number): string {
  return text
    .replace(
      /\{\{ with printf "[^"]*" \$labels\.job \| query \}\}\{\{ \. \| first \| value \| humanize \}\}\{\{ else \}\}([^{]*)\{\{ end \}\}/g,
      (_, otherwise: string) => (queried === undefined ? otherwise : humanize(queried)),
    )
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? '')
    .replace(/\{\{ \$value \| humanizePercentage \}\}/g, () => humanizePercentage(value))
    .replace(/\{\{ \$value \| humanize \}\}/g, () => humanize(value))
    .replace(/\{\{[^}]*\}\}/g, (m) => {
      throw new Error(`unsupported template ${m}`);
    });
}
