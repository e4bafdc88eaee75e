/**
 * A real Prometheus server and a real Alertmanager on free loopback ports, each with a temporary
 * directory that is removed on `stop()`, and webhook receivers that record what Alertmanager
 * delivers. The binaries come from Debian's `prometheus` and `prometheus-alertmanager` packages
 * (upstream names the second one `alertmanager`); PROMETHEUS and ALERTMANAGER override them.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, startServerProcess } from './example-app.js';
import { serverCloser } from './server-closer.js';

export const INSTALL_HINT =
  'install them with `sudo apt-get install prometheus prometheus-alertmanager` (Debian/Ubuntu), or download both from ' +
  'https://prometheus.io/download/ and put them on PATH (or set PROMETHEUS and ALERTMANAGER to their paths)';

export interface AlertingBinaries {
  prometheus: string;
  alertmanager: string;
}

const answers = (binary: string) => spawnSync(binary, ['--version'], { encoding: 'utf8' }).status === 0;

/** The binaries to run, or which ones are missing. */
export function findAlertingBinaries(env: NodeJS.ProcessEnv = process.env): { found: AlertingBinaries } | { missing: string[] } {
  const prometheus = [env.PROMETHEUS ?? 'prometheus'].find(answers);
  const alertmanager = (env.ALERTMANAGER ? [env.ALERTMANAGER] : ['prometheus-alertmanager', 'alertmanager']).find(answers);
  const missing = [...(prometheus ? [] : ['prometheus']), ...(alertmanager ? [] : ['alertmanager (Debian: prometheus-alertmanager)'])];
  return prometheus && alertmanager ? { found: { prometheus, alertmanager } } : { missing };
}

// ---- webhooks ------------------------------------------------------------------------------------

/** One Alertmanager webhook notification (version 4 of its payload), as received. */
export interface WebhookDelivery {
  receivedAt: number;
  receiver: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }[];
}

export interface WebhookReceiver {
  readonly url: string;
  deliveries(): WebhookDelivery[];
  stop(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: WebhookDelivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        received.push({ receivedAt: Date.now(), ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<WebhookDelivery, 'receivedAt'>) });
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end('not an Alertmanager webhook payload');
      }
    });
  });
  const close = serverCloser(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, deliveries: () => [...received], stop: close };
}

// ---- Alertmanager ----------------------------------------------------------------------------

export interface Alertmanager {
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startAlertmanager(binary: string, configYaml: string): Promise<Alertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'nextjs-auth-otel-alertmanager-'));
  writeFileSync(join(dir, 'alertmanager.yml'), configYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  try {
    const server = await startServerProcess(
      binary,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No cluster: a lone instance, and no second port (9094) that another Alertmanager may hold.
        '--cluster.listen-address=',
      ],
      { what: 'alertmanager', readyUrl: `${url}/-/ready` },
    );
    return { url, output: server.output, stop: () => server.stop().finally(() => rmSync(dir, { recursive: true, force: true })) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

// ---- Prometheus ------------------------------------------------------------------------------

export interface PrometheusOptions {
  scrapeConfigs: unknown[];
  ruleFiles: string[];
  alertmanagerUrl: string;
  scrapeIntervalSeconds: number;
  /** For rule groups without an `interval` of their own. */
  evaluationIntervalSeconds: number;
  externalLabels?: Record<string, string>;
}

/** An alert as Prometheus' `/api/v1/alerts` reports it. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface Prometheus {
  readonly url: string;
  alerts(): Promise<PrometheusAlert[]>;
  /** An instant query's result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** The head block's series count and the series per metric name (`/api/v1/status/tsdb`). */
  headSeries(): Promise<{ numSeries: number; byMetric: { name: string; value: number }[] }>;
  targets(): Promise<{ job: string; scrapeUrl: string; health: string; lastError: string }[]>;
  output(): string;
  stop(): Promise<void>;
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus API ${url}: ${body.error ?? response.status}`);
  return body.data;
}

export function prometheusConfigYaml(options: PrometheusOptions): string {
  const config = {
    global: {
      scrape_interval: `${options.scrapeIntervalSeconds}s`,
      evaluation_interval: `${options.evaluationIntervalSeconds}s`,
      ...(options.externalLabels ? { external_labels: options.externalLabels } : {}),
    },
    rule_files: options.ruleFiles,
    alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(options.alertmanagerUrl).host] }] }] },
    scrape_configs: options.scrapeConfigs,
  };
  return stringify(config, { lineWidth: 0 });
}

export async function startPrometheus(binary: string, options: PrometheusOptions): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'nextjs-auth-otel-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfigYaml(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let server;
  try {
    server = await startServerProcess(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1d',
        '--log.level=warn',
      ],
      { what: 'prometheus', readyUrl: `${url}/-/ready` },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stop = server.stop;
  return {
    url,
    alerts: async () => (await api<{ alerts: PrometheusAlert[] }>(`${url}/api/v1/alerts`)).alerts,
    query: async (promql) =>
      (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    headSeries: async () => {
      const data = await api<{ headStats: { numSeries: number }; seriesCountByMetricName: { name: string; value: number }[] }>(`${url}/api/v1/status/tsdb`);
      return { numSeries: data.headStats.numSeries, byMetric: data.seriesCountByMetricName };
    },
    targets: async () =>
      (
        await api<{ activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }[] }>(`${url}/api/v1/targets`)
      ).activeTargets.map((t) => ({ job: t.labels.job ?? '', scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError })),
    output: server.output,
    stop: () => stop().finally(() => rmSync(dir, { recursive: true, force: true })),
  };
}
