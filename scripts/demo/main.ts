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
import { parseDemoArgs, DEMO_USAGE, DemoArgsError, type DemoArgs } from './args.js';
import { POD_ATTRIBUTE, renderInstances, summarizeInstances } from './instances.js';
import { renderSummary, summarize } from './summary.js';
import { TrafficStats, runTraffic } from './traffic.js';
import { evaluateAlerts, renderVerdict } from './verdict.js';
import { findAlertingBinaries, INSTALL_HINT, type AlertingBinaries } from '../../testkit/prometheus.js';
import { startLiveInstances } from './live/instances.js';
import { SHIPPED_RULES, startAlertingStack, type AlertingStack } from './live/stack.js';
import { pageBound, renderPageBound, type PageBound } from './live/page-bound.js';
import { collectLiveReport, renderLiveReport } from './live/report.js';
import { ALERT_NAMES } from '../../dashboards/src/alerts.js';
import { PATHS } from '../../dashboards/src/index.js';
import { readFileSync } from 'node:fs';

const EXAMPLE = 'auth0-v3-app-router';
/** Above nextjs-auth0 v3's fixed 60 s refresh leeway, so a token is reused ~15 s, then refreshed. */
const ACCESS_TOKEN_TTL = 75;
const METRIC_EXPORT_INTERVAL_MS = 5000;
/** nextjs-auth0 v3 refreshes an access token this long before it expires. */
const V3_REFRESH_LEEWAY_SECONDS = 60;
/** The longest a real user waits between two requests (traffic.ts: 2.5 s with ±25 % jitter). */
const USER_THINK_SECONDS = 2.5 * 1.25;
const SERVICE_NAME = 'nextjs-auth-otel-demo';
/** Short, so a demo of minutes has many samples; the rule groups keep their own 1m evaluation interval. */
const LIVE_SCRAPE_SECONDS = 5;
const LIVE_RULESET = 'shipped';

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

  // Live alerting needs both servers: check before anything starts, so nothing half-runs.
  let binaries: AlertingBinaries | undefined;
  if (args.prometheus) {
    const found = findAlertingBinaries();
    if ('missing' in found) {
      process.stderr.write(`npm run demo -- --prometheus needs ${found.missing.join(' and ')}, not found: ${INSTALL_HINT}.\n`);
      return 1;
    }
    binaries = found.found;
  }

  const started = Date.now();
  try {
    const across = args.instances > 1 ? `, ${args.instances} app instances behind a round-robin balancer` : '';
    const live = args.prometheus ? ', live alerting through Prometheus and Alertmanager' : '';
    say(`nextjs-auth-otel demo: ${args.durationSeconds} s of traffic, scenario "${args.scenario}"${across}${live}`);
    if (!args.prometheus) {
      say('Preparing the example app (first run: npm ci + next build, about a minute)…');
      await prepareExample(EXAMPLE, { log: (line) => say(`  ${line}`) });
    }

    const idp: Idp = await startIdp({ accessTokenTtl: ACCESS_TOKEN_TTL });
    cleanups.push(() => idp.stop());
    const receiver: OtlpReceiver = await startOtlpReceiver({ forwardTo: args.otlpEndpoint });
    cleanups.push(() => receiver.stop());
    let stack: AlertingStack | undefined;
    let bound: PageBound | undefined;
    let appUrl: string;
    let balancer: RoundRobinProxy | undefined;
    let appOutput: () => string;
    let appLine = 'the app instances above';
    if (binaries) {
      ({ appUrl, balancer, appOutput, stack, bound } = await startLive(args, binaries, idp, receiver, cleanups));
    } else {
      let appUrls: string[];
      ({ appUrl, balancer, appUrls, appOutput } = await startNextApps(args.instances, idp, receiver, cleanups));
      appLine = balancer ? `app ${appUrl} (round-robin over ${appUrls.join(', ')})` : `app ${appUrl}`;
    }
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
    // Live, an outage runs on past --duration until the pager got the page or its bound has passed.
    const pagedOrTooLate = () =>
      stack!.pager.deliveries().some((d) => d.status === 'firing') || Date.now() > (stats.incidentAt ?? Infinity) + bound!.seconds * 1000;
    const waitsForPage = stack !== undefined && args.scenario === 'idp-outage';
    const deadline = setInterval(() => {
      if (Date.now() - trafficStarted >= durationMs && (!waitsForPage || pagedOrTooLate())) traffic.abort();
    }, 250);
    try {
      await runTraffic({ appUrl, idp, durationMs, users: args.users, scenario: args.scenario, stats, signal: traffic.signal });
    } finally {
      clearInterval(deadline);
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
      say('No metrics reached the receiver. App output:\n' + appOutput());
      return 1;
    }
    const summary = summarize(points, args.durationSeconds);
    const verdict = evaluateAlerts(points, args.durationSeconds);
    say('');
    say('─'.repeat(100));
    say(renderSummary(summary));
    say('');
    const instances = summarizeInstances(points);
    say(renderInstances(instances, balancer?.counts(), stack ? 'one Node.js process per live instance' : undefined));
    say('');
    say(renderVerdict(verdict));
    let liveReport;
    if (stack) {
      const since = stats.incidentAt ?? trafficStarted;
      liveReport = await collectLiveReport(stack, LIVE_RULESET, since);
      say('');
      say(renderLiveReport(liveReport, { since: stats.incidentAt ? 'the IdP outage' : 'the start of traffic', pageAlert: ALERT_NAMES.burn }));
      if (bound && stats.incidentAt) say(`(The page bound for this run was ${bound.seconds} s after the outage.)`);
    }
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
      const report = {
        args,
        summary,
        instances,
        balancer: balancer?.counts(),
        verdict,
        live: liveReport && { report: liveReport, pageBoundSeconds: bound?.seconds },
        requests,
        failures: Object.fromEntries(stats.failures),
      };
      writeFileSync(args.jsonPath, JSON.stringify(report, null, 2));
    }
    return 0;
  } finally {
    await cleanup();
  }
}

/**
 * Live alerting: app instances exposing Prometheus metrics, a Prometheus with the shipped scrape
 * config and rules, an Alertmanager with the shipped routing, and the page bound of an outage.
 */
async function startLive(args: DemoArgs, binaries: AlertingBinaries, idp: Idp, receiver: OtlpReceiver, cleanups: (() => Promise<unknown>)[]) {
  const instances = await startLiveInstances({
    count: args.instances,
    idp,
    serviceName: SERVICE_NAME,
    otlpEndpoint: receiver.url,
    metricExportIntervalMs: METRIC_EXPORT_INTERVAL_MS,
  });
  cleanups.push(() => instances.stop());
  const stack = await startAlertingStack(
    binaries,
    [{ name: LIVE_RULESET, rulesFile: SHIPPED_RULES, jobs: [{ job: SERVICE_NAME, targets: instances.metricsTargets }] }],
    { scrapeIntervalSeconds: LIVE_SCRAPE_SECONDS },
  );
  cleanups.push(() => stack.stop());
  const bound = pageBound({
    rulesYaml: readFileSync(SHIPPED_RULES, 'utf8'),
    alert: ALERT_NAMES.burn,
    scrapeIntervalSeconds: LIVE_SCRAPE_SECONDS,
    firstFailure: {
      seconds: ACCESS_TOKEN_TTL - V3_REFRESH_LEEWAY_SECONDS + USER_THINK_SECONDS,
      why: `a user's next refresh: access tokens live ${ACCESS_TOKEN_TTL} s, v3 refreshes ${V3_REFRESH_LEEWAY_SECONDS} s early, users click every ≤ ${USER_THINK_SECONDS} s`,
    },
    healthySeconds: args.durationSeconds / 2,
  });
  const prometheus = stack.prometheus.get(LIVE_RULESET)!;
  say(
    `App instances (nextjs-auth0 v3 middleware in Node, scripts/demo/live/instance-app.ts): ${instances.url}` +
      (instances.balancer ? ` (round-robin over ${instances.appUrls.join(', ')})` : ''),
  );
  say(`  each exposes /metrics through @opentelemetry/exporter-prometheus: ${instances.metricsTargets.join(', ')}`);
  say(
    `Prometheus ${prometheus.url}: scrapes every ${LIVE_SCRAPE_SECONDS} s with ${PATHS.jsExporterScrape} (job and targets filled in),` +
      ` loads ${PATHS.prometheusRules} unchanged: its rule groups evaluate every ${bound.evaluationIntervalSeconds / 60}m`,
  );
  say(
    `Alertmanager ${stack.alertmanager.url} (${PATHS.alertmanager}): critical → the pager ${stack.pager.url}, the rest → the ticket queue ${stack.ticketQueue.url}`,
  );
  if (args.scenario === 'idp-outage') {
    say(`The outage starts at ${args.durationSeconds / 2} s; the traffic runs on until the page arrives or its bound has passed.`);
    say(renderPageBound(bound));
  }
  return { appUrl: instances.url, balancer: instances.balancer, appOutput: instances.output, stack, bound };
}

/** The example app built with Next, one `next start` per instance, behind the balancer when there are several. */
async function startNextApps(count: number, idp: Idp, receiver: OtlpReceiver, cleanups: (() => Promise<unknown>)[]) {
  // With several instances, users reach them through a round-robin balancer: no session affinity.
  const [balancerPort, ...appPorts] = await freePorts(count + 1);
  const ports = count > 1 ? appPorts : [balancerPort!];
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
  if (count > 1) {
    balancer = await startRoundRobinProxy(
      apps.map((a) => a.url),
      { port: balancerPort },
    );
    cleanups.push(() => balancer!.stop());
  }
  return { appUrl, balancer, appUrls: apps.map((a) => a.url), appOutput: () => apps.map((a) => a.output().slice(-4000)).join('\n') };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
