/**
 * Starts the live mode's app instances (instance-app.ts, one process each), behind the round-robin
 * balancer when there are several, and names the Prometheus scrape targets they expose.
 */
import { join } from 'node:path';
import { freePort, startServerProcess, REPOSITORY_ROOT, type ServerProcess } from '../../../testkit/example-app.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../../testkit/round-robin-proxy.js';
import type { Idp } from '../../../testkit/idp.js';

export interface LiveInstances {
  /** Where users go: the balancer, or the one instance. */
  readonly url: string;
  /** `host:port` of each instance's Prometheus exporter. */
  readonly metricsTargets: string[];
  readonly appUrls: string[];
  balancer?: RoundRobinProxy;
  output(): string;
  stop(): Promise<void>;
}

export interface LiveInstancesOptions {
  count: number;
  idp: Idp;
  serviceName: string;
  /** OTLP/HTTP endpoint every instance also exports to (its traces, and its metrics a second way). */
  otlpEndpoint: string;
  metricExportIntervalMs?: number;
  /** Distinguishes the instances in `k8s.pod.name`, as Kubernetes replicas are named. */
  podPrefix?: string;
}

const SECRET = 'nextjs-auth-otel-live-demo-secret-0123456789abcdef';

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export async function startLiveInstances(options: LiveInstancesOptions): Promise<LiveInstances> {
  const [balancerPort, ...ports] = await freePorts(1 + 2 * options.count);
  const appPorts = options.count > 1 ? ports.slice(0, options.count) : [balancerPort!];
  const metricsPorts = ports.slice(options.count > 1 ? options.count : 0).slice(0, options.count);
  const url = `http://127.0.0.1:${balancerPort}`;
  await options.idp.registerRedirectUris(url);
  const started: ServerProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    await Promise.all(
      appPorts.map(async (port, i) => {
        const server = await startServerProcess(process.execPath, ['--import', 'tsx', join(REPOSITORY_ROOT, 'scripts/demo/live/instance-app.ts')], {
          what: `live app instance ${i + 1}`,
          cwd: REPOSITORY_ROOT,
          env: {
            LIVE_APP_PORT: String(port),
            OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
            OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPorts[i]),
            LIVE_BASE_URL: url,
            AUTH0_SECRET: SECRET,
            AUTH0_ISSUER_BASE_URL: options.idp.url,
            AUTH0_CLIENT_ID: options.idp.clientId,
            AUTH0_CLIENT_SECRET: options.idp.clientSecret,
            OTEL_SERVICE_NAME: options.serviceName,
            OTEL_RESOURCE_ATTRIBUTES: `k8s.pod.name=${options.podPrefix ?? 'app'}-${i + 1}`,
            OTEL_METRIC_EXPORT_INTERVAL: String(options.metricExportIntervalMs ?? 5000),
            OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
          },
          readyUrl: `http://127.0.0.1:${port}/api/health`,
        });
        started.push(server);
      }),
    );
    const appUrls = appPorts.map((p) => `http://127.0.0.1:${p}`);
    const balancer = options.count > 1 ? await startRoundRobinProxy(appUrls, { port: balancerPort }) : undefined;
    return {
      url,
      appUrls,
      metricsTargets: metricsPorts.map((p) => `127.0.0.1:${p}`),
      balancer,
      output: () => started.map((s) => s.output().slice(-2000)).join('\n'),
      stop: async () => {
        await balancer?.stop();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
