/**
 * The Collector configurations in examples/observability-stack cannot run here (no Docker), so this
 * checks what holds without running them: each parses and is wired consistently, the pipelines keep
 * what a multi-instance setup needs (delta converted before Prometheus, `service.instance.id`
 * intact), and every plugin metric or attribute they or the stack's README name is in the catalog.
 * It also keeps the README's generated series counts in step with the catalog.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ATTRIBUTES, METRICS, SPANS, type AttributeName, type MetricName } from '../src/core/telemetry/catalog.js';
import { jsPrometheusExporterMetricName, prometheusLabel, prometheusMetricName } from '../src/core/telemetry/naming.js';
import { SERIES_END, SERIES_START, seriesTables } from '../scripts/readme-tables.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STACK = join(REPO, 'examples/observability-stack');
const COLLECTOR_DIR = join(STACK, 'otel-collector');
const INSTANCE_ID = 'service.instance.id';
const KINDS = ['receivers', 'processors', 'exporters', 'connectors'] as const;

type Pipeline = { receivers?: string[]; processors?: string[]; exporters?: string[] };
type CollectorConfig = Partial<Record<(typeof KINDS)[number], Record<string, unknown>>> & {
  service: { pipelines: Record<string, Pipeline> };
};

const read = (path: string) => readFileSync(path, 'utf8');
const collectorFiles = readdirSync(COLLECTOR_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const loadCollector = (file: string) => parse(read(join(COLLECTOR_DIR, file))) as CollectorConfig;
/** `deltatocumulative/fast` is of type `deltatocumulative`. */
const typeOf = (id: string) => id.split('/')[0]!;

// ---- wiring --------------------------------------------------------------------------------------

/** Problems with how pipelines and component definitions refer to each other. */
function wiringProblems(cfg: CollectorConfig): string[] {
  const problems: string[] = [];
  const used = new Set<string>();
  const defined = (kind: (typeof KINDS)[number], id: string) => id in (cfg[kind] ?? {});
  for (const [name, pipeline] of Object.entries(cfg.service.pipelines)) {
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      for (const id of pipeline[kind] ?? []) {
        // A connector is the exporter of one pipeline and the receiver of another.
        const home = kind !== 'processors' && defined('connectors', id) ? 'connectors' : kind;
        if (!defined(home, id)) problems.push(`pipeline ${name} uses ${kind.slice(0, -1)} ${id}, which is not defined`);
        used.add(`${home}:${id}`);
      }
    }
  }
  for (const kind of KINDS) {
    for (const id of Object.keys(cfg[kind] ?? {})) if (!used.has(`${kind}:${id}`)) problems.push(`${kind.slice(0, -1)} ${id} is defined but unused`);
  }
  return problems;
}

// ---- what multi-instance pipelines must keep -----------------------------------------------------

/**
 * Whether a processor may remove or overwrite `service.instance.id` on the resource. Conservative:
 * any transform that names it or keeps/deletes keys by list, and processors that rebuild resources.
 */
function touchesInstanceId(id: string, config: unknown): boolean {
  const type = typeOf(id);
  if (type === 'resource') {
    const actions = (config as { attributes?: { key?: string; action?: string }[] })?.attributes ?? [];
    return actions.some((a) => a.key === INSTANCE_ID && a.action !== 'insert');
  }
  if (type === 'transform') {
    const text = JSON.stringify(config);
    return text.includes(INSTANCE_ID) || /keep_keys|keep_matching_keys|delete_matching_keys/.test(text);
  }
  return type === 'groupbyattrs' || type === 'metricstransform';
}

const isPrometheusExporter = (cfg: CollectorConfig, id: string): boolean => {
  const type = typeOf(id);
  if (type === 'prometheus' || type === 'prometheusremotewrite') return true;
  const endpoint = String((cfg.exporters?.[id] as { endpoint?: string } | undefined)?.endpoint ?? '');
  return type === 'otlphttp' && endpoint.endsWith('/api/v1/otlp');
};

const metricsPipelines = (cfg: CollectorConfig) => Object.entries(cfg.service.pipelines).filter(([name]) => typeOf(name) === 'metrics');

/** Problems of a pipeline meant for delta input. */
function deltaProblems(cfg: CollectorConfig): string[] {
  const problems: string[] = [];
  for (const [name, p] of metricsPipelines(cfg)) {
    if (!(p.exporters ?? []).some((e) => isPrometheusExporter(cfg, e))) continue;
    const processors = p.processors ?? [];
    const d2c = processors.findIndex((x) => typeOf(x) === 'deltatocumulative');
    if (d2c === -1) problems.push(`pipeline ${name} exports to Prometheus without deltatocumulative`);
    for (const x of processors.slice(0, d2c === -1 ? 0 : d2c)) {
      if (touchesInstanceId(x, cfg.processors?.[x])) problems.push(`pipeline ${name}: ${x} changes ${INSTANCE_ID} before deltatocumulative`);
    }
  }
  return problems;
}

/** Problems of any metrics pipeline whose series must stay one per instance. */
function instanceIdProblems(cfg: CollectorConfig): string[] {
  return metricsPipelines(cfg).flatMap(([name, p]) =>
    (p.processors ?? []).filter((x) => touchesInstanceId(x, cfg.processors?.[x])).map((x) => `pipeline ${name}: ${x} changes ${INSTANCE_ID}`),
  );
}

// ---- names -----------------------------------------------------------------------------------------

/** Every spelling of a plugin metric or attribute that a config, query or README may use. */
function knownNames(): Set<string> {
  const names = new Set<string>();
  for (const metric of Object.keys(METRICS) as MetricName[]) {
    const spec = METRICS[metric];
    names.add(spec.name);
    for (const base of [prometheusMetricName(metric), jsPrometheusExporterMetricName(metric)]) {
      names.add(base);
      if (spec.kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(base + suffix);
    }
  }
  for (const attribute of Object.keys(ATTRIBUTES) as AttributeName[]) names.add(ATTRIBUTES[attribute].key).add(prometheusLabel(attribute));
  for (const span of Object.values(SPANS)) names.add(span.name);
  return names;
}

const KNOWN = knownNames();

/** Plugin-looking names (`auth.…`, `auth_…`) in a text that the catalog does not declare. */
function unknownPluginNames(text: string): string[] {
  const found = text.match(/\bauth[._][a-z0-9_.]*[a-z0-9]/g) ?? [];
  return [...new Set(found)].filter((name) => !KNOWN.has(name));
}

/** Every string in a parsed YAML document, keys included: OTTL statements, filters, names. */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node !== null && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

// ---- tests ---------------------------------------------------------------------------------------

describe('examples/observability-stack Collector configurations', () => {
  it('ships one per deployment shape, each parsing to a Collector configuration', () => {
    expect(collectorFiles).toEqual(['datadog.yaml', 'replicas.yaml', 'serverless.yaml', 'tail-sampling.yaml']);
    for (const file of collectorFiles) {
      const cfg = loadCollector(file);
      expect(Object.keys(cfg.service.pipelines), file).toEqual(expect.arrayContaining(['metrics', 'traces']));
    }
  });

  it.each(collectorFiles)('%s: pipelines use only defined components, and every defined component is used', (file) => {
    expect(wiringProblems(loadCollector(file))).toEqual([]);
  });

  it('serverless.yaml converts delta with deltatocumulative before Prometheus, the instance id intact up to it', () => {
    const cfg = loadCollector('serverless.yaml');
    expect(metricsPipelines(cfg).some(([, p]) => (p.exporters ?? []).some((e) => isPrometheusExporter(cfg, e)))).toBe(true);
    expect(deltaProblems(cfg)).toEqual([]);
    const processors = cfg.processors?.deltatocumulative as { max_stale?: string; max_streams?: number };
    expect(processors.max_stale).toMatch(/^\d+m$/);
    expect(processors.max_streams).toBeGreaterThan(0);
  });

  it('no configuration removes or overwrites service.instance.id in a metrics pipeline', () => {
    for (const file of collectorFiles) expect(instanceIdProblems(loadCollector(file)), file).toEqual([]);
  });

  it('replicas.yaml sends cumulative metrics to Prometheus without converting or keeping state', () => {
    const cfg = loadCollector('replicas.yaml');
    const [, metrics] = metricsPipelines(cfg)[0]!;
    expect(metrics.exporters!.some((e) => isPrometheusExporter(cfg, e))).toBe(true);
    expect(metrics.processors!.map(typeOf)).not.toContain('deltatocumulative');
  });

  it('datadog.yaml passes deltas straight to the Datadog exporter, which does not tag every resource attribute', () => {
    const cfg = loadCollector('datadog.yaml');
    const [, metrics] = metricsPipelines(cfg)[0]!;
    expect(metrics.exporters!.map(typeOf)).toEqual(['datadog']);
    expect(metrics.processors!.map(typeOf)).not.toContain('deltatocumulative');
    const datadog = cfg.exporters!.datadog as { api: { key: string }; metrics?: { resource_attributes_as_tags?: boolean } };
    expect(datadog.api.key).toBe('${env:DD_API_KEY}');
    expect(datadog.metrics?.resource_attributes_as_tags ?? false).toBe(false);
  });

  it("tail-sampling.yaml keeps real users' failures and every refresh by catalogued names, and samples only traces", () => {
    const cfg = loadCollector('tail-sampling.yaml');
    const [, metrics] = metricsPipelines(cfg)[0]!;
    expect(metrics.processors!.map(typeOf)).not.toContain('tail_sampling');
    expect(cfg.service.pipelines.traces!.processors![0]).toBe('tail_sampling');
    const text = JSON.stringify(cfg.processors!.tail_sampling);
    expect(text).toContain(`"key":"${ATTRIBUTES.userAgentClass.key}"`);
    expect(text).toContain(`name == \\"${SPANS.tokenRefresh.name}\\"`);
  });

  it('catches what these checks are for (negative controls)', () => {
    const serverless = loadCollector('serverless.yaml');
    const withoutConversion = structuredClone(serverless);
    withoutConversion.service.pipelines.metrics!.processors = ['batch'];
    expect(deltaProblems(withoutConversion)).toEqual(['pipeline metrics exports to Prometheus without deltatocumulative']);

    const dropFirst = structuredClone(serverless);
    dropFirst.processors!['resource/no-instance'] = { attributes: [{ key: INSTANCE_ID, action: 'delete' }] };
    dropFirst.service.pipelines.metrics!.processors = ['resource/no-instance', 'deltatocumulative', 'batch'];
    expect(deltaProblems(dropFirst)).toEqual([`pipeline metrics: resource/no-instance changes ${INSTANCE_ID} before deltatocumulative`]);

    const replicas = loadCollector('replicas.yaml');
    replicas.processors!['transform/strip'] = { metric_statements: [`delete_key(resource.attributes, "${INSTANCE_ID}")`] };
    replicas.service.pipelines.metrics!.processors = ['transform/strip', 'batch'];
    expect(instanceIdProblems(replicas)).toEqual([`pipeline metrics: transform/strip changes ${INSTANCE_ID}`]);

    delete replicas.processors!.batch;
    expect(wiringProblems(replicas)).toContain('pipeline metrics uses processor batch, which is not defined');
  });
});

describe('examples/observability-stack compose override', () => {
  const base = parse(read(join(STACK, 'docker-compose.yaml'))) as { services: Record<string, { volumes: string[] }> };
  const override = read(join(STACK, 'docker-compose.collector.yaml'));
  const mount = (parse(override) as { services: Record<string, { volumes: string[] }> }).services['otel-collector']!.volumes[0]!;

  it('replaces the default Collector configuration mount (Compose merges volumes by container path)', () => {
    const target = (volume: string) => volume.split(':').at(-2);
    expect(target(mount)).toBe(target(base.services['otel-collector']!.volumes[0]!));
    expect(mount).toMatch(/^\.\/otel-collector\/\$\{COLLECTOR_CONFIG:\?[^}]*\}:/);
  });

  it('names every shipped configuration in its error message, and only those', () => {
    const offered = mount.match(/\$\{COLLECTOR_CONFIG:\?([^}]*)\}/)![1]!.match(/[\w-]+\.yaml/g)!;
    expect([...offered].sort()).toEqual(collectorFiles);
    for (const file of offered) expect(existsSync(join(COLLECTOR_DIR, file)), file).toBe(true);
  });
});

describe('plugin names in the stack', () => {
  it('every plugin metric or attribute named in a Collector configuration is in the catalog', () => {
    for (const file of collectorFiles) expect(unknownPluginNames(strings(loadCollector(file)).join('\n')), file).toEqual([]);
  });

  it('every plugin metric or attribute named in the stack README is in the catalog', () => {
    const text = read(join(STACK, 'README.md'));
    expect(unknownPluginNames(text)).toEqual([]);
    expect(text).toContain('auth_token_requests_total');
  });

  it('reports a misspelt metric name (negative control)', () => {
    const readme = read(join(STACK, 'README.md')).replace('auth_token_requests_total', 'auth_token_request_total');
    expect(unknownPluginNames(readme)).toEqual(['auth_token_request_total']);
    const filter = { processors: { 'filter/auth': { metrics: { metric: ['name == "auth.token.refreshs"'] } } } };
    expect(unknownPluginNames(strings(filter).join('\n'))).toEqual(['auth.token.refreshs']);
  });
});

describe('README: Running many instances', () => {
  const readme = read(join(REPO, 'README.md'));

  it('has the series counts exactly as the catalog generates them (run `npm run docs` after changing the catalog)', () => {
    const section = readme.slice(readme.indexOf(SERIES_START), readme.indexOf(SERIES_END) + SERIES_END.length);
    expect(section).toBe(seriesTables());
    for (const spec of Object.values(METRICS)) expect(section).toContain(`\`${spec.name}\``);
  });

  it('comes right after "Dashboards, alerts and runbook"', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings[headings.indexOf('Dashboards, alerts and runbook') + 1]).toBe('Running many instances');
  });
});
