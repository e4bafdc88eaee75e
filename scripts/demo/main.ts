/**
 * `npm run demo`: a real OpenID provider, the example app examples/auth0-v3-app-router (Next 14.2,
 * nextjs-auth0 3.7, getAccessToken + touchSession in Edge middleware) instrumented with this
 * package, real users and the usual bots, and an embedded OTLP receiver. Prints what the telemetry
 * says and whether the shipped alerts would page.
 */
import { setMaxListeners } from 'node:events';
import { RESOURCE_INSTANCE_ID } from '../../src/core/telemetry/naming.js';
import { writeFileSync } from 'node:fs';
import { startIdp, startOtlpReceiver, type Idp, type OtlpReceiver } from '../../testkit/index.js';
import { freePort, prepareExample, startExample, type ExampleApp } from '../../testkit/example-app.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../testkit/round-robin-proxy.js';
import { parseDemoArgs, DEMO_USAGE, DemoArgsError } from './args.js';
import { POD_ATTRIBUTE, renderInstances, summarizeInstances } from './instances.js';
import { renderSummary, summarize } from './summary.js';
import { TrafficStats, runTraffic } from './traffic.js';
import { evaluateAlerts, renderVerdict } from './verdict.js';

const EXAMPLE = 'auth0-v3-app-router';
/** Above nextjs-auth0 v3's fixed 60 s refresh leeway, so a token is reused ~15 s, then refreshed. */
const ACCESS_TOKEN_TTL = 75;
const METRIC_EXPORT_INTERVAL_MS = 5000;

const say = (line = '') => process.stdout.write(line + '\n');

/** Distinct free ports (asking one at a time may hand out the same port twice). */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof DemoArgsError) {
      process.stderr.write(`${error.message}\n\n${DEMO_USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    say(DEMO_USAGE);
    return 0;
  }

  const cleanups: (() => Promise<unknown>)[] = [];
  const traffic = new AbortController();
  // Every visitor waits on the same signal between requests.
  setMaxListeners(100, traffic.signal);
  let stopping = false;
  const cleanup = async () => {
    traffic.abort();
    for (const step of cleanups.reverse()) await step().catch(() => {});
    cleanups.length = 0;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping the app, the IdP and the receiver…`);
    void cleanup().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  try {
    const across = args.instances > 1 ? `, ${args.instances} app instances behind a round-robin balancer` : '';
    say(`nextjs-auth-otel demo: ${args.durationSeconds} s of traffic, scenario "${args.scenario}"${across}`);
    say('Preparing the example app (first run: npm ci + next build, about a minute)…');
    await prepareExample(EXAMPLE, { log: (line) => say(`  ${line}`) });

    const idp: Idp = await startIdp({ accessTokenTtl: ACCESS_TOKEN_TTL });
    cleanups.push(() => idp.stop());
    const receiver: OtlpReceiver = await startOtlpReceiver({ forwardTo: args.otlpEndpoint });
    cleanups.push(() => receiver.stop());
    // With several instances, users reach them through a round-robin balancer: no session affinity.
    const [balancerPort, ...appPorts] = await freePorts(args.instances + 1);
    const ports = args.instances > 1 ? appPorts : [balancerPort!];
    const appUrl = `http://127.0.0.1:${balancerPort}`;
    await idp.registerRedirectUris(appUrl);
    const appEnv = {
      AUTH0_SECRET: 'nextjs-auth-otel-demo-secret-0123456789abcdef',
      AUTH0_BASE_URL: appUrl,
      AUTH0_ISSUER_BASE_URL: idp.url,
      AUTH0_CLIENT_ID: idp.clientId,
      AUTH0_CLIENT_SECRET: idp.clientSecret,
      AUTH0_SCOPE: 'openid profile email offline_access',
      OTEL_SERVICE_NAME: 'nextjs-auth-otel-demo',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: String(METRIC_EXPORT_INTERVAL_MS),
    };
    const apps: ExampleApp[] = await Promise.all(
      ports.map(async (port, i) => {
        // Named as a Kubernetes replica would be; each runtime's service.instance.id stays its own.
        const app = await startExample(EXAMPLE, { port, env: { ...appEnv, OTEL_RESOURCE_ATTRIBUTES: `${POD_ATTRIBUTE}=app-${i + 1}` } });
        cleanups.push(() => app.stop());
        return app;
      }),
    );
    let balancer: RoundRobinProxy | undefined;
    if (args.instances > 1) {
      balancer = await startRoundRobinProxy(
        apps.map((a) => a.url),
        { port: balancerPort },
      );
      cleanups.push(() => balancer!.stop());
    }
    const appLine = balancer ? `app ${appUrl} (round-robin over ${apps.map((a) => a.url).join(', ')})` : `app ${appUrl}`;
    say(`IdP (oidc-provider) ${idp.url} · ${appLine} · OTLP receiver ${receiver.url}${args.otlpEndpoint ? ` → forwarding to ${args.otlpEndpoint}` : ''}`);
    say(`Access tokens live ${ACCESS_TOKEN_TTL} s; refresh tokens rotate.`);
    say('');

    const stats = new TrafficStats();
    const durationMs = args.durationSeconds * 1000;
    const trafficStarted = Date.now();
    const progress = setInterval(() => {
      const elapsed = Math.round((Date.now() - trafficStarted) / 1000);
      const byKind = [...stats.requests.entries()].map(([k, n]) => `${k} ${n}`).join(', ');
      const exports = receiver.requests().filter((r) => r.path === '/v1/metrics').length;
      say(
        `[${String(elapsed).padStart(4)} s / ${args!.durationSeconds} s] ${stats.usersLoggedIn} logins · ${stats.total()} requests (${byKind}) · ` +
          `received ${receiver.spans().length} spans, ${exports} metric exports`,
      );
      while (stats.events.length) say(`        ${stats.events.shift()}`);
    }, 10_000);
    const deadline = setTimeout(() => traffic.abort(), durationMs);
    try {
      await runTraffic({ appUrl, idp, durationMs, users: args.users, scenario: args.scenario, stats, signal: traffic.signal });
    } finally {
      clearTimeout(deadline);
      clearInterval(progress);
    }
    while (stats.events.length) say(`        ${stats.events.shift()}`);

    // Metrics leave every instance every few seconds; wait until each has exported once more, so
    // the totals are final.
    say('Traffic done; waiting for the last metric exports…');
    const before = receiver.metricPoints();
    const lastIndex = Math.max(-1, ...before.map((p) => p.exportIndex));
    const instanceIds = new Set(before.map((p) => p.resource[RESOURCE_INSTANCE_ID]));
    await receiver
      .waitFor(
        () => {
          const exportedAgain = new Set(
            receiver
              .metricPoints()
              .filter((p) => p.exportIndex > lastIndex)
              .map((p) => p.resource[RESOURCE_INSTANCE_ID]),
          );
          return [...instanceIds].every((id) => exportedAgain.has(id));
        },
        { timeoutMs: METRIC_EXPORT_INTERVAL_MS * 4, intervalMs: 500 },
      )
      .catch(() => say('  (not every instance exported again; the totals may miss the last seconds)'));

    const points = receiver.metricPoints();
    if (points.length === 0) {
      say('No metrics reached the receiver. App output:\n' + apps.map((a) => a.output().slice(-4000)).join('\n'));
      return 1;
    }
    const summary = summarize(points, args.durationSeconds);
    const verdict = evaluateAlerts(points, args.durationSeconds);
    say('');
    say('─'.repeat(100));
    say(renderSummary(summary));
    say('');
    const instances = summarizeInstances(points);
    say(renderInstances(instances, balancer?.counts()));
    say('');
    say(renderVerdict(verdict));
    say('─'.repeat(100));
    const failedRequests = [...stats.failures.entries()].map(([k, n]) => `${k} ${n}`).join(', ');
    say(
      `${stats.total()} requests, ${receiver.spans().length} spans, ${points.length} metric points in ${Math.round((Date.now() - started) / 1000)} s` +
        (failedRequests ? `; HTTP 5xx or network failures: ${failedRequests}` : '; no HTTP 5xx.'),
    );
    if (args.otlpEndpoint) {
      const forwarded = await receiver.forwardStatus();
      say(
        `Forwarded to ${args.otlpEndpoint}: ${forwarded.sent} requests, ${forwarded.failed} failed${forwarded.lastError ? ` (last: ${forwarded.lastError})` : ''}.`,
      );
    }
    if (args.jsonPath) {
      const requests = Object.fromEntries(stats.requests);
      const report = { args, summary, instances, balancer: balancer?.counts(), verdict, requests, failures: Object.fromEntries(stats.failures) };
      writeFileSync(args.jsonPath, JSON.stringify(report, null, 2));
    }
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
