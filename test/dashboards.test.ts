/**
 * The generated dashboards and alert artefacts: drift against the committed files, every Grafana
 * panel query evaluated by promtool, Grafana/Datadog structure, offline validation of the Datadog
 * JSON against the typed models of @datadog/datadog-api-client, runbook links, and the local
 * observability stack under examples/.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { ATTRIBUTES, METRICS, type AttributeName, type MetricName } from '../src/core/telemetry/catalog.js';
import {
  DATADOG_ENV_TAG,
  DATADOG_SERVICE_TAG,
  PROMETHEUS_SERVICE_LABEL,
  datadogMetricName,
  datadogTag,
  prometheusLabel,
  prometheusUnitSuffix,
} from '../src/core/telemetry/naming.js';
import { ALERT_NAMES, allAlerts, runbookAnchor } from '../dashboards/src/alerts.js';
import { ROUTES, ROUTING_END, ROUTING_START, routingTable } from '../dashboards/src/alertmanager.js';
import { DEFAULT_OPTIONS, PATHS, buildAll } from '../dashboards/src/index.js';
import { PANELS } from '../dashboards/src/panels.js';
import { BUCKET_LABEL, PromNames, type CounterMetric, type HistogramMetric } from '../dashboards/src/promql.js';
import { PANEL_TEST_FILE, substitute } from '../dashboards/src/promtool/panels.js';
import { REPO_ROOT, main as buildMain } from '../scripts/build-dashboards.js';

const require = createRequire(import.meta.url);
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const HAS_PROMTOOL = spawnSync(PROMTOOL, ['--version']).status === 0;
if (!HAS_PROMTOOL) {
  const reason = `promtool not found (${PROMTOOL}); install Debian's "prometheus" package or set PROMTOOL`;
  if (process.env.CI) throw new Error(`${reason}. It is required in CI.`);
  console.warn(`test/dashboards.test.ts: promtool checks skipped: ${reason}`);
}
const itWithPromtool = HAS_PROMTOOL ? it : it.skip;

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const readJson = <T = any>(path: string): T => JSON.parse(read(path)) as T;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nextjs-auth-otel-dashboards-'));
  dirs.push(d);
  return d;
}
function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}
function promtool(cwd: string, ...args: string[]) {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

// ---- catalog-derived vocabularies -----------------------------------------------------------------

const METRIC_KEYS = Object.keys(METRICS) as MetricName[];
const METRIC_ATTRIBUTES = (Object.keys(ATTRIBUTES) as AttributeName[]).filter((a) => ATTRIBUTES[a].onMetrics);
const PROM_SERIES = new Set(new PromNames('otlp').all());
const PROM_LABELS = new Set([...METRIC_ATTRIBUTES.map(prometheusLabel), PROMETHEUS_SERVICE_LABEL, BUCKET_LABEL]);
const DD_METRICS = new Set(METRIC_KEYS.map(datadogMetricName));
const DD_TAGS = new Set([...METRIC_ATTRIBUTES.map(datadogTag), DATADOG_SERVICE_TAG, DATADOG_ENV_TAG]);

/** Metric names and label names a PromQL expression uses. */
function promqlVocabulary(expr: string) {
  const metrics = [...expr.matchAll(/([a-zA-Z_:][\w:]*)\{/g)].map((m) => m[1]!).filter((m) => m !== '__name__');
  const labels = [
    ...[...expr.matchAll(/[{,]\s*([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"/g)].map((m) => m[1]!),
    ...[...expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
      m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ].filter((l) => l !== '__name__');
  return { metrics, labels };
}

/** Metric names and tag keys a Datadog query uses. */
function datadogVocabulary(query: string) {
  const metrics = [...query.matchAll(/(?:^|[\s(:])(?:sum|avg|min|max|count|p\d+):([a-z][\w.]*)\{/g)].map((m) => m[1]!);
  const scopes = [...query.matchAll(/([a-z][\w.]*)\{([^}]*)\}/g)].map((m) => m[2]!);
  const groups = [...query.matchAll(/\bby \{([^}]*)\}/g)].map((m) => m[1]!);
  const tags = [...scopes.flatMap((s) => [...s.matchAll(/!?([a-z][\w.]*):/g)].map((m) => m[1]!)), ...groups.flatMap((g) => g.split(',').map((t) => t.trim()))];
  return { metrics, tags };
}

/** GitHub heading anchors of a Markdown file. */
function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const m = !inFence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m) {
      anchors.add(
        m[1]!
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-'),
      );
    }
  }
  return anchors;
}

// ---- generated vs committed -------------------------------------------------------------------

describe('generated artefacts', () => {
  const generated = buildAll();

  it('the committed files are exactly what scripts/build-dashboards.ts generates (drift check)', () => {
    const drift = Object.entries(generated)
      .filter(([path, content]) => !existsSync(join(REPO_ROOT, path)) || read(path) !== content)
      .map(([path]) => path);
    expect(drift, 'run: npx tsx scripts/build-dashboards.ts').toEqual([]);
  });

  it('no stale generated file is left behind', () => {
    for (const dir of ['dashboards/grafana', 'dashboards/datadog', 'dashboards/prometheus', PATHS.promtoolTests]) {
      for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
        if (entry.isFile()) expect(Object.keys(generated), `${dir}/${entry.name}`).toContain(`${dir}/${entry.name}`);
      }
    }
  });

  it('the build script --check passes on the committed tree and refuses to overwrite it with custom options', () => {
    const quiet = [vi.spyOn(console, 'log').mockImplementation(() => {}), vi.spyOn(console, 'error').mockImplementation(() => {})];
    try {
      const env = {} as NodeJS.ProcessEnv;
      expect(buildMain(['--check'], env)).toBe(0);
      expect(() => buildMain(['--slo=0.995'], env)).toThrow(/--out/);
      const out = tempDir();
      expect(buildMain([`--out=${out}`, '--slo=0.995'], env)).toBe(0);
      expect(readFileSync(join(out, PATHS.prometheusRules), 'utf8')).toContain('vector(0.995)');
      // The custom set differs from the defaults, which --check detects.
      expect(buildMain([`--out=${out}`, '--check'], env)).toBe(1);
      expect(buildMain([`--out=${out}`, '--check'], { NEXTJS_AUTH_OTEL_SLO: '0.995' } as unknown as NodeJS.ProcessEnv)).toBe(0);
    } finally {
      for (const spy of quiet) spy.mockRestore();
    }
  });

  it('the generator output is deterministic', () => {
    expect(buildAll()).toEqual(generated);
  });
});

// ---- Grafana dashboard ----------------------------------------------------------------------------

type GrafanaPanel = {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; datasource: { type: string; uid: string }; legendFormat: string; format: string }[];
  panels?: GrafanaPanel[];
  fieldConfig?: any;
};

describe('Grafana dashboard', () => {
  const text = read(PATHS.grafanaDashboard);
  const dash = JSON.parse(text) as {
    uid: string;
    title: string;
    schemaVersion: number;
    templating: { list: { name: string; type: string; query: unknown; datasource?: { uid: string } }[] };
    panels: GrafanaPanel[];
  };
  const panels = dash.panels.filter((p) => p.type !== 'row');
  const targets = panels.flatMap((p) => p.targets ?? []);

  it('is a classic JSON model with schemaVersion 41–42 and no __inputs (provisioning-safe)', () => {
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(41);
    expect(dash.schemaVersion).toBeLessThanOrEqual(42);
    expect(text).not.toContain('__inputs');
    expect(text).not.toMatch(/\$\{DS_/);
    expect(dash.uid).toMatch(/^[\w-]{8,40}$/);
  });

  it('has a prometheus-typed ${datasource} variable and a multi-value job variable', () => {
    const ds = dash.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const job = dash.templating.list.find((v) => v.name === PROMETHEUS_SERVICE_LABEL);
    expect(job).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: { uid: '${datasource}' } });
    expect(String(job?.query)).toMatch(/^label_values\(\{__name__=~".*"\}, job\)$/);
  });

  it('every panel and every query uses ${datasource}; no data source uid is hard-coded', () => {
    expect(panels.length).toBe(Object.keys(PANELS).length);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource, `${p.title} ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
    const uids = [...text.matchAll(/"uid": "([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(uids)).toEqual(new Set([dash.uid, '${datasource}']));
  });

  it('shows every panel of the issue, with the right visualisation', () => {
    const byTitle = new Map(panels.map((p) => [p.title, p]));
    for (const meta of Object.values(PANELS)) expect(byTitle.has(meta.title), meta.title).toBe(true);
    expect(byTitle.get(PANELS.sessionAge.title)?.type).toBe('heatmap');
    expect(byTitle.get(PANELS.sessionAge.title)?.targets?.[0]?.format).toBe('heatmap');
    expect(byTitle.get(PANELS.failuresByClass.title)?.fieldConfig.defaults.custom.stacking.mode).toBe('normal');
    expect(byTitle.get(PANELS.perRoute.title)?.type).toBe('table');
    const slo = byTitle.get(PANELS.successRatioVsSlo.title)?.fieldConfig.defaults;
    expect(slo.custom.thresholdsStyle.mode).toBe('dashed');
    expect(slo.thresholds.steps).toContainEqual({ value: DEFAULT_OPTIONS.slo, color: 'green' });
  });

  it('has a sane layout: unique ids, within 24 columns, no overlapping panels, rows expanded', () => {
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type === 'row') expect(p.panels).toEqual([]);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries only use metric and label names derived from the catalog', () => {
    for (const t of targets) {
      const { metrics, labels } = promqlVocabulary(t.expr);
      expect(metrics.length, t.expr).toBeGreaterThan(0);
      for (const m of metrics) expect(PROM_SERIES, `${m} in ${t.expr}`).toContain(m);
      for (const l of labels) expect(PROM_LABELS, `${l} in ${t.expr}`).toContain(l);
      for (const l of t.legendFormat.matchAll(/\{\{(\w+)\}\}/g)) expect(PROM_LABELS).toContain(l[1]);
    }
  });

  it('every panel query is among the promtool panel tests (nothing unevaluated)', () => {
    const doc = parse(readFileSync(join(REPO_ROOT, PATHS.promtoolTests, PANEL_TEST_FILE), 'utf8')) as {
      tests: { promql_expr_test: { expr: string; exp_samples: unknown[] }[] }[];
    };
    const tested = new Set(doc.tests.flatMap((t) => t.promql_expr_test.map((e) => e.expr)));
    for (const t of targets) expect(tested, t.expr).toContain(`round(${substitute(t.expr)}, 1e-9)`);
    // …and every panel test asserts at least one number.
    for (const e of doc.tests.flatMap((t) => t.promql_expr_test)) expect(e.exp_samples.length, e.expr).toBeGreaterThan(0);
  });

  itWithPromtool('every panel query returns the expected numbers on Collector-shaped series (promtool)', () => {
    const r = promtool(join(REPO_ROOT, 'dashboards/prometheus'), 'test', 'rules', `tests/${PANEL_TEST_FILE}`);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  itWithPromtool('the panel tests go red when the numbers are wrong (the check is not vacuous)', () => {
    const dir = tempDir();
    writeTree(dir, buildAll());
    const file = join(dir, PATHS.promtoolTests, PANEL_TEST_FILE);
    // The real-user success ratio is 0.95 in the fixture; claim 0.96.
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('value: 0.9500000000000001');
    writeFileSync(file, text.replace('value: 0.9500000000000001', 'value: 0.96'));
    const r = promtool(dirname(dirname(file)), 'test', 'rules', `tests/${PANEL_TEST_FILE}`);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('got: {} 9.500000000000001E-01');
  });

  itWithPromtool('the three-replica panel tests need the replicas summed: max instead of sum passes one instance, fails three', () => {
    const dir = tempDir();
    writeTree(dir, buildAll());
    const testsDir = join(dir, PATHS.promtoolTests);
    const doc = parse(readFileSync(join(testsDir, PANEL_TEST_FILE), 'utf8')) as { tests: { promql_expr_test: { expr: string }[] }[] };
    expect(doc.tests).toHaveLength(2);
    const codeL = prometheusLabel('errorCode');
    const runs = doc.tests.map((group, i) => {
      const mutated = group.promql_expr_test.filter((t) => t.expr.includes(`sum by (${codeL}) (`));
      expect(mutated).toHaveLength(1);
      for (const t of mutated) t.expr = t.expr.replace(`sum by (${codeL}) (`, `max by (${codeL}) (`);
      writeFileSync(join(testsDir, `group-${i}.yaml`), stringify({ ...doc, tests: [group] }));
      return promtool(dirname(testsDir), 'test', 'rules', `tests/group-${i}.yaml`);
    });
    expect(runs[0]!.status, runs[0]!.output).toBe(0);
    expect(runs[1]!.status).not.toBe(0);
    expect(runs[1]!.output).toContain(`max by (${codeL})`);
  });

  itWithPromtool('with --naming=js-exporter every panel works on @opentelemetry/exporter-prometheus series', () => {
    const dir = tempDir();
    const files = buildAll({ naming: 'js-exporter' });
    writeTree(dir, files);
    expect(files[PATHS.grafanaDashboard]).not.toContain('_seconds_bucket');
    expect(files[PATHS.grafanaDashboard]).toContain('auth_token_refresh_duration_bucket');
    expect(files[`${PATHS.promtoolTests}/${PANEL_TEST_FILE}`]).not.toContain('_seconds_bucket');
    const r = promtool(join(dir, 'dashboards/prometheus'), 'test', 'rules', `tests/${PANEL_TEST_FILE}`);
    expect(r.status, r.output).toBe(0);
    // The default (OTLP-named) dashboard finds nothing on those series: the variant is needed.
    expect(read(PATHS.grafanaDashboard)).toContain('auth_token_refresh_duration_seconds_bucket');
  });

  itWithPromtool('the JS-exporter scrape config with its _seconds relabelling passes promtool check config', () => {
    const r = promtool(join(REPO_ROOT, 'dashboards/prometheus'), 'check', 'config', 'js-exporter-scrape.yaml');
    expect(r.status, r.output).toBe(0);
    const cfg = parse(read(PATHS.jsExporterScrape)) as any;
    const relabel = cfg.scrape_configs[0].metric_relabel_configs as { regex: string; replacement: string }[];
    const suffixed = METRIC_KEYS.filter((m) => METRICS[m].kind === 'histogram' && prometheusUnitSuffix(m) !== '');
    expect(suffixed.length).toBeGreaterThanOrEqual(4);
    expect(relabel).toHaveLength(suffixed.length);
    for (const rule of relabel) {
      const jsName = rule.regex.replace('_(bucket|sum|count)', '');
      const unit = /_(seconds|bytes)_\$\{1\}$/.exec(rule.replacement)?.[1];
      expect(rule.replacement).toBe(`${jsName}_${unit}_\${1}`);
      expect(PROM_SERIES).toContain(`${jsName}_${unit}_bucket`);
    }
    expect(relabel.some((rule) => rule.replacement.includes('_bytes_'))).toBe(true);
  });
});

// ---- Grafana alert provisioning ---------------------------------------------------------------

describe('Grafana alert provisioning', () => {
  const text = read(PATHS.grafanaAlerts);
  const doc = parse(text) as { apiVersion: number; groups: any[] };
  const rules = doc.groups.flatMap((g) => g.rules as any[]);

  it('parses as apiVersion 1 with complete groups', () => {
    expect(doc.apiVersion).toBe(1);
    for (const g of doc.groups) {
      for (const k of ['orgId', 'name', 'folder', 'interval', 'rules']) expect(g, k).toHaveProperty(k);
    }
  });

  it('has one rule per Prometheus alert, each with the keys Grafana requires', () => {
    expect(rules.map((r) => r.title).sort()).toEqual(Object.values(ALERT_NAMES).sort());
    const uids = rules.map((r) => r.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const r of rules) {
      for (const k of ['uid', 'title', 'condition', 'data', 'noDataState', 'execErrState', 'for', 'labels', 'annotations']) {
        expect(r, `${r.title}.${k}`).toHaveProperty(k);
      }
      expect(r.uid.length).toBeLessThanOrEqual(40);
      expect(r.data.map((d: any) => d.refId)).toContain(r.condition);
      for (const d of r.data) {
        for (const k of ['refId', 'relativeTimeRange', 'datasourceUid', 'model']) expect(d, `${r.title} ${d.refId}.${k}`).toHaveProperty(k);
      }
      const query = r.data.find((d: any) => d.datasourceUid !== '__expr__');
      expect(query.datasourceUid).toBe(DEFAULT_OPTIONS.grafanaDatasourceUid);
      expect(query.model.instant).toBe(true);
      const { metrics, labels } = promqlVocabulary(query.model.expr);
      for (const m of metrics) expect(PROM_SERIES).toContain(m);
      for (const l of labels) expect(PROM_LABELS).toContain(l);
      // Recording rules are expanded: the Grafana rule does not depend on prometheus-rules.yaml.
      expect(query.model.expr).not.toMatch(/\w+:\w+:\w+/);
    }
  });

  it('writes every literal $ as $$ (provisioning interpolates environment variables)', () => {
    for (const line of text.split('\n').filter((l) => !l.startsWith('#'))) {
      expect(line.replace(/\$\$/g, ''), line).not.toContain('$');
    }
    expect(text).toContain('{{ $$labels.job }}');
  });
});

// ---- alerts ↔ runbook --------------------------------------------------------------------------

describe('runbook links', () => {
  const runbook = read('docs/runbook.md');
  const anchors = markdownAnchors(runbook);
  const prom = parse(read(PATHS.prometheusRules)) as { groups: { rules: any[] }[] };
  const promAlerts = prom.groups.flatMap((g) => g.rules).filter((r) => r.alert);
  const grafana = (parse(read(PATHS.grafanaAlerts)) as { groups: { rules: any[] }[] }).groups.flatMap((g) => g.rules);

  const anchorOf = (url: string) => {
    expect(url.startsWith(`${DEFAULT_OPTIONS.runbookUrl}#`), url).toBe(true);
    return url.slice(url.indexOf('#') + 1);
  };

  it('every Prometheus and Grafana alert has severity, summary, description and a runbook_url whose anchor exists', () => {
    for (const a of [...promAlerts, ...grafana]) {
      const name = a.alert ?? a.title;
      expect(['critical', 'warning', 'info'], name).toContain(a.labels.severity);
      expect(a.annotations.summary, name).toBeTruthy();
      expect(a.annotations.description, name).toBeTruthy();
      expect(anchors, `${name}: ${a.annotations.runbook_url}`).toContain(anchorOf(a.annotations.runbook_url));
    }
  });

  it('every Datadog monitor message links an existing runbook anchor', () => {
    for (const m of readJson<any[]>(PATHS.datadogMonitors)) {
      const url = /Runbook: (\S+)/.exec(m.message)?.[1];
      expect(url, m.name).toBeDefined();
      expect(anchors).toContain(anchorOf(url!));
    }
  });

  it('the runbook has one section per alert, the ERR_MISSING_SESSION noise section and the Auth0 log code mapping', () => {
    for (const name of Object.values(ALERT_NAMES)) {
      expect(anchors).toContain(runbookAnchor(name));
      const section = runbook.split(/^## /m).find((s) => s.startsWith(name))!;
      for (const heading of ['What it means', 'User impact', 'Where to look', 'Mitigation']) {
        expect(section, `${name}: ${heading}`).toContain(heading);
      }
    }
    expect(runbook).toMatch(/^## .*ERR_MISSING_SESSION/m);
    for (const link of runbook.matchAll(/\]\(#([^)]+)\)/g)) expect(anchors, `link #${link[1]}`).toContain(link[1]);
    for (const code of ['sertft', 'fertft', 'ferrt', 'fsa', 'ssa']) expect(runbook).toContain(`\`${code}\``);
  });
});

// ---- routing: Alertmanager configuration ↔ runbook table --------------------------------------

const AMTOOL = process.env.AMTOOL ?? 'amtool';
const HAS_AMTOOL = spawnSync(AMTOOL, ['--version']).status === 0;
if (!HAS_AMTOOL) {
  const reason = `amtool not found (${AMTOOL}); install Debian's "prometheus-alertmanager" package or set AMTOOL`;
  if (process.env.CI) throw new Error(`${reason}. It is required in CI.`);
  console.warn(`test/dashboards.test.ts: Alertmanager routing checks skipped: ${reason}`);
}
const itWithAmtool = HAS_AMTOOL ? it : it.skip;

describe('alert routing', () => {
  it("the runbook's routing table is the one generated from the Alertmanager routes (run `npm run docs`)", () => {
    const runbook = read('docs/runbook.md');
    const section = runbook.slice(runbook.indexOf(ROUTING_START), runbook.indexOf(ROUTING_END) + ROUTING_END.length);
    expect(section).toBe(routingTable(DEFAULT_OPTIONS));
    // Every alert is routed, and only critical ones reach the pager.
    for (const alert of allAlerts(DEFAULT_OPTIONS)) expect(ROUTES.map((r) => r.severity)).toContain(alert.severity);
    expect(ROUTES.filter((r) => r.receiver === 'pager').map((r) => r.severity)).toEqual(['critical']);
  });

  itWithAmtool('Alertmanager itself accepts the committed configuration and routes each alert by its severity', () => {
    const file = join(REPO_ROOT, PATHS.alertmanager);
    const check = spawnSync(AMTOOL, ['check-config', file], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    for (const alert of allAlerts(DEFAULT_OPTIONS)) {
      const labels = [`alertname=${alert.alert}`, `severity=${alert.severity}`, 'job=shop'];
      const routed = spawnSync(AMTOOL, ['config', 'routes', 'test', `--config.file=${file}`, ...labels], { encoding: 'utf8' });
      expect(routed.stdout.trim(), alert.alert).toBe(alert.severity === 'critical' ? 'pager' : 'ticket-queue');
    }
  });
});

describe('docs/dashboards.md', () => {
  const doc = read('docs/dashboards.md');

  it('names only metrics, files and alerts that exist', () => {
    const prometheusNames = new Set([...new PromNames('otlp').all(), ...new PromNames('js-exporter').all()]);
    const recorded = new Set(
      (parse(read(PATHS.prometheusRules)) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap((g) =>
        g.rules.flatMap((r) => (r.record ? [r.record] : [])),
      ),
    );
    for (const [, name] of doc.matchAll(/`(auth_[\w:]+)`/g)) {
      expect(prometheusNames.has(name!) || recorded.has(name!) || PROM_LABELS.has(name!), name).toBe(true);
    }
    for (const [, name] of doc.matchAll(/`(auth\.[a-z_.]+)`/g)) {
      expect([...DD_METRICS, ...METRIC_ATTRIBUTES.map((a) => ATTRIBUTES[a].key)], name).toContain(name);
    }
    for (const [, path] of doc.matchAll(/`((?:dashboards|docs|examples|scripts)\/[^`*]+)`/g)) {
      expect(existsSync(join(REPO_ROOT, path!.replace(/\/$/, ''))), path).toBe(true);
    }
    for (const name of Object.values(ALERT_NAMES)) expect(doc).toContain(`\`${name}\``);
  });
});

// ---- Datadog ------------------------------------------------------------------------------------

type DatadogSerializer = { deserialize(data: unknown, type: string): unknown };
const { ObjectSerializer } = require('@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/models/ObjectSerializer.js') as {
  ObjectSerializer: DatadogSerializer;
};
const { UnparsedObject } = require('@datadog/datadog-api-client/dist/packages/datadog-api-client-common/util.js') as {
  UnparsedObject: new (...args: unknown[]) => object;
};

/** Everything the typed models did not understand: unknown keys, enum values and oneOf shapes. */
function datadogProblems(value: unknown, path = '$', out: string[] = []): string[] {
  if (value instanceof UnparsedObject) {
    out.push(`${path}: not a valid ${JSON.stringify((value as { _data?: unknown })._data)?.slice(0, 120)}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => datadogProblems(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o._unparsed) out.push(`${path}: unparsed`);
    const extra = o.additionalProperties as Record<string, unknown> | undefined;
    if (extra && Object.keys(extra).length > 0) out.push(`${path}: unknown keys ${Object.keys(extra).join(', ')}`);
    for (const [k, v] of Object.entries(o)) if (k !== 'additionalProperties' && k !== '_unparsed') datadogProblems(v, `${path}.${k}`, out);
  }
  return out;
}

function validate(data: unknown, type: 'Dashboard' | 'Monitor'): string[] {
  try {
    return datadogProblems(ObjectSerializer.deserialize(data, type));
  } catch (err) {
    return [(err as Error).message];
  }
}

describe('Datadog dashboard', () => {
  const dash = readJson<any>(PATHS.datadogDashboard);
  const widgets = (dash.widgets as any[]).flatMap((w) => (w.definition.type === 'group' ? w.definition.widgets : [w]));
  const queries: string[] = widgets.flatMap((w: any) =>
    (w.definition.requests ?? []).flatMap((r: any) => [r.q, ...(r.queries ?? []).map((q: any) => q.query)].filter(Boolean)),
  );

  it('deserializes into the typed v1.Dashboard model without unknown keys or values', () => {
    expect(validate(dash, 'Dashboard')).toEqual([]);
  });

  it('the validation catches mistakes (typo in a key, unknown widget type, missing required field)', () => {
    const broken = structuredClone(dash);
    broken.widgets[0].definition.widgets[0].definition.titel = 'typo';
    expect(validate(broken, 'Dashboard').join('\n')).toContain('unknown keys titel');
    const badType = structuredClone(dash);
    badType.widgets[0].definition.widgets[0].definition.type = 'timeseriez';
    expect(validate(badType, 'Dashboard')).not.toEqual([]);
    const noLayout = structuredClone(dash);
    delete noLayout.layout_type;
    expect(validate(noLayout, 'Dashboard').join('\n')).toContain('layoutType');
  });

  it('is importable: ordered layout with service and env template variables', () => {
    expect(dash.layout_type).toBe('ordered');
    expect(dash.template_variables.map((v: any) => [v.name, v.prefix])).toEqual([
      [DATADOG_SERVICE_TAG, DATADOG_SERVICE_TAG],
      [DATADOG_ENV_TAG, DATADOG_ENV_TAG],
    ]);
    for (const q of queries) expect(q, q).toMatch(/\{\$service,\$env[,}]/);
  });

  it('has every panel of the Grafana dashboard', () => {
    const titles = widgets.map((w: any) => w.definition.title);
    for (const meta of Object.values(PANELS)) expect(titles).toContain(meta.title);
    expect(widgets.find((w: any) => w.definition.title === PANELS.sessionAge.title).definition.type).toBe('heatmap');
  });

  it('queries only use metric names and tags derived from the catalog', () => {
    expect(queries.length).toBeGreaterThan(10);
    for (const q of queries) {
      const { metrics, tags } = datadogVocabulary(q);
      expect(metrics.length, q).toBeGreaterThan(0);
      for (const m of metrics) expect(DD_METRICS, `${m} in ${q}`).toContain(m);
      for (const t of tags) expect(DD_TAGS, `${t} in ${q}`).toContain(t);
    }
  });
});

// ---- catalog coverage ---------------------------------------------------------------------------

/**
 * Metrics deliberately left off a dashboard, each with the reason. Anything the plugin emits is
 * otherwise expected on both dashboards: a metric nobody can see is one nobody will notice failing.
 */
const OFF_DASHBOARD: Record<'Grafana' | 'Datadog', Partial<Record<MetricName, string>>> = { Grafana: {}, Datadog: {} };

/** Catalog metrics none of the queries reads, and exemptions that have gone stale. */
function coverageGaps(board: keyof typeof OFF_DASHBOARD, used: ReadonlySet<MetricName>) {
  const exempt = OFF_DASHBOARD[board];
  return {
    missing: METRIC_KEYS.filter((m) => !used.has(m) && !exempt[m]),
    staleExemptions: METRIC_KEYS.filter((m) => exempt[m] !== undefined && (used.has(m) || !exempt[m]!.trim())),
  };
}

describe('every catalog metric is on both dashboards (or listed in OFF_DASHBOARD with a reason)', () => {
  const promNames = new PromNames('otlp');
  const metricOfSeries = new Map<string, MetricName>(
    METRIC_KEYS.flatMap((m) =>
      METRICS[m].kind === 'counter'
        ? [[promNames.counter(m as CounterMetric), m] as const]
        : (['bucket', 'sum', 'count'] as const).map((part) => [promNames.histogram(m as HistogramMetric, part), m] as const),
    ),
  );
  const metricOfDatadogName = new Map(METRIC_KEYS.map((m) => [datadogMetricName(m), m]));
  const grafanaUsed = (exprs: readonly string[]) => new Set(exprs.flatMap((e) => promqlVocabulary(e).metrics.flatMap((s) => metricOfSeries.get(s) ?? [])));
  const datadogUsed = (queries: readonly string[]) =>
    new Set(queries.flatMap((q) => datadogVocabulary(q).metrics.flatMap((n) => metricOfDatadogName.get(n) ?? [])));

  const grafanaExprs = readJson<{ panels: GrafanaPanel[] }>(PATHS.grafanaDashboard).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const datadogQueries = (readJson<any>(PATHS.datadogDashboard).widgets as any[])
    .flatMap((w) => (w.definition.type === 'group' ? w.definition.widgets : [w]))
    .flatMap((w: any) => (w.definition.requests ?? []).flatMap((r: any) => [r.q, ...(r.queries ?? []).map((q: any) => q.query)]))
    .filter(Boolean) as string[];

  it('Grafana', () => {
    expect(coverageGaps('Grafana', grafanaUsed(grafanaExprs))).toEqual({ missing: [], staleExemptions: [] });
  });

  it('Datadog', () => {
    expect(coverageGaps('Datadog', datadogUsed(datadogQueries))).toEqual({ missing: [], staleExemptions: [] });
  });

  it('the check is not vacuous: dropping the queries of one metric is reported', () => {
    const dropped: CounterMetric = 'tokenRefreshes';
    const withoutGrafana = grafanaExprs.filter((e) => !e.includes(promNames.counter(dropped)));
    expect(coverageGaps('Grafana', grafanaUsed(withoutGrafana)).missing).toContain(dropped);
    const withoutDatadog = datadogQueries.filter((q) => !q.includes(`:${datadogMetricName(dropped)}{`));
    expect(coverageGaps('Datadog', datadogUsed(withoutDatadog)).missing).toContain(dropped);
  });
});

describe('Datadog monitors', () => {
  const monitors = readJson<any[]>(PATHS.datadogMonitors);
  const REF_TAG = 'nextjs-auth-otel-ref:';

  it('each deserializes into the typed v1.Monitor model', () => {
    for (const m of monitors) expect(validate(m, 'Monitor'), m.name).toEqual([]);
  });

  it('covers every alert, with the traffic guard in a composite monitor', () => {
    const top = monitors.filter((m) => !m.tags.includes('component'));
    expect(top.map((m) => m.name.replace('[nextjs-auth-otel] ', '')).sort()).toEqual(Object.values(ALERT_NAMES).sort());
    const burn = top.find((m) => m.name.endsWith(ALERT_NAMES.burn));
    expect(burn.type).toBe('composite');
    expect(burn.query).toContain('${refresh-traffic-guard}');
    const guard = monitors.find((m) => m.tags.includes(`${REF_TAG}refresh-traffic-guard`));
    expect(guard.query).toMatch(/^sum\(last_1h\):sum:auth\.token\.refreshes\{auth\.user_agent\.class:browser\} by \{service,env\}\.as_count\(\) >= 100$/);
    const noise = top.find((m) => m.name.endsWith(ALERT_NAMES.noise));
    expect(noise.priority).toBe(5);
    expect(noise.tags).toContain('severity:info');
  });

  it('composite queries reference only monitors defined in the file', () => {
    const refs = new Set(monitors.flatMap((m) => m.tags.filter((t: string) => t.startsWith(REF_TAG)).map((t: string) => t.slice(REF_TAG.length))));
    for (const m of monitors.filter((x) => x.type === 'composite')) {
      const used = [...m.query.matchAll(/\$\{([\w-]+)\}/g)].map((x) => x[1]);
      expect(used.length).toBeGreaterThan(1);
      for (const r of used) expect(refs, `${m.name} → ${r}`).toContain(r);
    }
  });

  it('query thresholds match options.thresholds.critical, and queries use catalog names only', () => {
    for (const m of monitors.filter((x) => x.type === 'query alert')) {
      const threshold = Number(/(?:>=?|<=?)\s*([\d.]+)$/.exec(m.query)?.[1]);
      expect(threshold, m.name).toBe(m.options.thresholds.critical);
      const { metrics, tags } = datadogVocabulary(m.query);
      expect(metrics.length).toBeGreaterThan(0);
      for (const x of metrics) expect(DD_METRICS).toContain(x);
      for (const t of tags) expect(DD_TAGS, `${t} in ${m.query}`).toContain(t);
      // Components never notify anyone by themselves.
      if (m.tags.includes('component')) expect(m.message).not.toMatch(/@\S/);
    }
  });
});

// ---- examples/observability-stack ---------------------------------------------------------------

describe('examples/observability-stack', () => {
  const STACK = 'examples/observability-stack';
  const stackDir = join(REPO_ROOT, STACK);
  const compose = parse(read(`${STACK}/docker-compose.yaml`)) as { services: Record<string, any> };
  const mounts = (service: string) =>
    (compose.services[service].volumes as string[]).map((v) => {
      const [host, container] = v.split(':') as [string, string];
      return { host: resolve(stackDir, host), container };
    });

  it('runs a Collector, Prometheus with the OTLP receiver, Tempo and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'otel-collector', 'prometheus', 'tempo']);
    expect(compose.services.prometheus.command).toContain('--web.enable-otlp-receiver');
  });

  it('every mounted file exists', () => {
    for (const service of Object.keys(compose.services)) {
      for (const m of mounts(service)) expect(existsSync(m.host), `${service}: ${m.host}`).toBe(true);
    }
  });

  it('mounts the generated rules, dashboard and alert rules', () => {
    const hosts = Object.keys(compose.services).flatMap((s) => mounts(s).map((m) => m.host));
    for (const p of [PATHS.prometheusRules, PATHS.grafanaDashboard, PATHS.grafanaAlerts]) expect(hosts).toContain(join(REPO_ROOT, p));
  });

  itWithPromtool('prometheus.yml passes promtool check config in its container layout, rules included', () => {
    const root = tempDir();
    for (const m of mounts('prometheus')) {
      mkdirSync(join(root, dirname(m.container)), { recursive: true });
      copyFileSync(m.host, join(root, m.container));
    }
    const config = compose.services.prometheus.command.find((c: string) => c.startsWith('--config.file=')).split('=')[1];
    const r = promtool(join(root, dirname(config)), 'check', 'config', posix.basename(config));
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the Collector config parses and sends metrics to Prometheus OTLP and traces to Tempo', () => {
    const [configMount] = mounts('otel-collector');
    const cfg = parse(readFileSync(configMount!.host, 'utf8')) as any;
    expect(compose.services['otel-collector'].command[0]).toBe(`--config=${configMount!.container}`);
    const { metrics, traces } = cfg.service.pipelines;
    for (const p of [metrics, traces]) {
      for (const r of p.receivers) expect(cfg.receivers).toHaveProperty(r);
      for (const x of p.processors) expect(cfg.processors).toHaveProperty(x);
      for (const e of p.exporters) expect(cfg.exporters).toHaveProperty(e);
    }
    const metricsEndpoint = new URL(cfg.exporters[metrics.exporters[0]].endpoint);
    expect(compose.services).toHaveProperty(metricsEndpoint.hostname);
    expect(metricsEndpoint.pathname).toBe('/api/v1/otlp');
    const tracesHost = String(cfg.exporters[traces.exporters[0]].endpoint).split(':')[0]!;
    expect(compose.services).toHaveProperty(tracesHost);
    const tempo = parse(readFileSync(mounts('tempo')[0]!.host, 'utf8')) as any;
    expect(tempo.distributor.receivers.otlp.protocols.grpc.endpoint).toMatch(/:4317$/);
  });

  it('Grafana provisioning parses, and the data source uids match the alert rules and dashboard', () => {
    const byContainer = new Map(mounts('grafana').map((m) => [m.container, m.host]));
    const provisioning = [...byContainer].filter(([c]) => c.startsWith('/etc/grafana/provisioning/'));
    const docs = provisioning.map(([c, h]) => [c, parse(readFileSync(h, 'utf8'))] as const);
    for (const [c, d] of docs) expect((d as any).apiVersion, c).toBe(1);
    const datasources = docs.filter(([c]) => c.includes('/datasources/')).flatMap(([, d]) => (d as any).datasources);
    const uids = new Map(datasources.map((d: any) => [d.uid, d.type]));
    expect(datasources.filter((d: any) => d.isDefault)).toHaveLength(1);
    expect(datasources.find((d: any) => d.isDefault).type).toBe('prometheus');
    // Every Grafana alert rule queries a provisioned Prometheus data source.
    const alertFiles = docs.filter(([c]) => c.includes('/alerting/') && (docs.find(([x]) => x === c)![1] as any).groups);
    expect(alertFiles).toHaveLength(1);
    for (const g of (alertFiles[0]![1] as any).groups) {
      for (const r of g.rules) {
        for (const d of r.data) if (d.datasourceUid !== '__expr__') expect(uids.get(d.datasourceUid), r.title).toBe('prometheus');
      }
    }
    // Uids referenced from one data source to another exist.
    for (const d of datasources) {
      for (const ref of JSON.stringify(d.jsonData ?? {}).matchAll(/"datasourceUid":"([^"]+)"/g)) expect(uids.has(ref[1])).toBe(true);
    }
    // The dashboard provider reads the directory the dashboard JSON is mounted into.
    const providers = docs.filter(([c]) => c.includes('/dashboards/')).flatMap(([, d]) => (d as any).providers);
    const dashboardMount = [...byContainer].find(([, h]) => h === join(REPO_ROOT, PATHS.grafanaDashboard))![0];
    expect(providers.map((p: any) => p.options.path)).toContain(posix.dirname(dashboardMount));
    // The dashboard's ${datasource} variable is of type prometheus, which the default data source is.
    expect(readJson(PATHS.grafanaDashboard).templating.list[0].query).toBe('prometheus');
  });

  it('notification policies page only on critical', () => {
    const host = mounts('grafana').find((m) => m.container.endsWith('notification-policies.yaml'))!.host;
    const doc = parse(readFileSync(host, 'utf8')) as any;
    const routes = doc.policies[0].routes as { receiver: string; object_matchers: string[][] }[];
    const pager = routes.filter((r) => r.receiver.endsWith('pager'));
    expect(pager.flatMap((r) => r.object_matchers)).toEqual([['severity', '=', 'critical']]);
    expect(doc.policies[0].receiver).not.toMatch(/pager/);
  });
});
