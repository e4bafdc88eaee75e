/**
 * The page, for real. App instances (scripts/demo/live/instance-app.ts: the example's nextjs-auth0
 * v3 middleware, instrumented, exposing metrics through @opentelemetry/exporter-prometheus) serve
 * real users who log in through the loopback IdP, and monitors and crawlers. A real Prometheus
 * scrapes them with the shipped scrape configuration and evaluates the shipped rules file on its
 * own schedule; a real Alertmanager routes by severity to two webhooks, the pager and the ticket
 * queue. Three scenarios run at once as separate jobs of that one Prometheus:
 *
 * - live-outage (two instances behind a round-robin balancer): every real user's refresh fails from
 *   some point on. The page must reach the pager within the bound page-bound.ts derives from the
 *   rules (group interval, `for:`, SLO and burn factor), the scrape interval and group_wait.
 * - live-storm: monitors and a crawler hammer the middleware without a session and with refresh
 *   tokens the IdP rejects, several times the real users' refresh rate; real users are healthy.
 *   No page for the whole run.
 * - live-low-traffic: two real users, every refresh failing, 80 refreshes an hour. No page.
 *
 * Negative controls: two more Prometheus servers scrape the same storm and low-traffic instances
 * with rules generated without the browser-class filter and without the traffic guard (the
 * generator's negative-control options); each must page.
 *
 * Nothing is shortened. The rules keep their 5m/1h and 30m/6h windows, `for: 2m`, 1m group interval
 * and the guard of 100 real-user refreshes an hour. A run of minutes means what an hour of the same
 * traffic would: windows longer than the run hold only the run, so the failure ratio over them is
 * the run's ratio; the outage clears the guard at real rates (well over 100 refreshes in its first
 * minute), and the low-traffic users refresh 80 times an hour, below the guard over any window.
 */
import { setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_NAMES } from '../dashboards/src/alerts.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../dashboards/src/index.js';
import { JOB, PromNames, V, durationSeconds, eq, label, ne, selector, sumBy } from '../dashboards/src/promql.js';
import { TIMINGS } from '../dashboards/src/alertmanager.js';
import { prometheusRulesYaml } from '../dashboards/src/rules-render.js';
import { startIdp, startOtlpReceiver, type Idp, type OtlpReceiver } from '../testkit/index.js';
import { findAlertingBinaries, INSTALL_HINT, type AlertingBinaries } from '../testkit/prometheus.js';
import { startLiveInstances, type LiveInstances } from '../scripts/demo/live/instances.js';
import { SHIPPED_RULES, startAlertingStack, type AlertingStack } from '../scripts/demo/live/stack.js';
import { pageBound, renderPageBound, type PageBound } from '../scripts/demo/live/page-bound.js';
import { collectLiveReport, firstPage, type Delivery, type LiveReport } from '../scripts/demo/live/report.js';
import { GOOGLEBOT_USER_AGENT, SYNTHETICS_USER_AGENT, browse, browsers, logIn, probe } from './support/live-traffic.js';

const binaries = findAlertingBinaries();
if ('missing' in binaries) {
  const reason = `${binaries.missing.join(' and ')} not found: ${INSTALL_HINT}`;
  if (process.env.CI) throw new Error(`${reason}. Required in CI.`);
  console.warn(`test/live-alerting.test.ts skipped on this machine: ${reason}`);
}
const describeLive = 'found' in binaries ? describe : describe.skip;

const SCRAPE_SECONDS = 5;
/** nextjs-auth0 v3 refreshes 60 s before expiry: with 62 s tokens, a user's requests refresh every 2 s. */
const ACCESS_TOKEN_TTL = 62;
const V3_LEEWAY_SECONDS = 60;
const USER_EVERY_MS = 2000;
/** Two users, one failing refresh each per 90 s: 80 an hour, under the guard. */
const LOW_TRAFFIC_USERS = 2;
const LOW_TRAFFIC_EVERY_MS = 90_000;
const GUARD = DEFAULT_OPTIONS.minRefreshesPerHour;
const RUN_LIMIT_MS = 12 * 60_000;

const JOBS = { outage: 'live-outage', storm: 'live-storm', low: 'live-low-traffic' } as const;
const CONTROL = { classFilter: 'no-class-filter', guard: 'no-traffic-guard' } as const;
const controlJob = (job: string, ruleset: string) => `${job}-${ruleset}`;

const names = new PromNames(DEFAULT_OPTIONS.naming);
const refreshes = names.counter('tokenRefreshes');
const cls = label('userAgentClass');
const outcome = label('outcome');
const job = (name: string) => eq(JOB, name);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeLive('live alerting: real Prometheus and Alertmanager on running instances', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  const traffic = new AbortController();
  // Every visitor waits on the same signal between requests.
  setMaxListeners(100, traffic.signal);
  const dir = mkdtempSync(join(tmpdir(), 'nextjs-auth-otel-live-'));
  let stack: AlertingStack;
  let outageAt = 0;
  let stormAt = 0;
  let lowAt = 0;
  const bounds: Record<'outage' | 'storm' | 'low', PageBound | undefined> = { outage: undefined, storm: undefined, low: undefined };
  let report: LiveReport;
  let guardBeforeOutage = 0;
  const done: Promise<unknown>[] = [];

  const idpFor = async () => {
    const idp = await startIdp({ accessTokenTtl: ACCESS_TOKEN_TTL });
    cleanups.push(() => idp.stop());
    return idp;
  };
  let receiver: OtlpReceiver;
  const instancesFor = async (idp: Idp, count: number, serviceName: string): Promise<LiveInstances> => {
    const instances = await startLiveInstances({ count, idp, serviceName, podPrefix: serviceName, otlpEndpoint: receiver.url });
    cleanups.push(() => instances.stop());
    return instances;
  };
  const rulesFile = (name: string, overrides: Parameters<typeof resolveOptions>[0]) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, prometheusRulesYaml(resolveOptions(overrides)));
    return path;
  };
  const pagedFor = (jobName: string, ruleset: string): Delivery | undefined => firstPage(report.pager, { alertname: ALERT_NAMES.burn, job: jobName, ruleset });

  beforeAll(async () => {
    const found = (binaries as { found: AlertingBinaries }).found;
    // The instances' traces (and their metrics, a second time) go here rather than nowhere.
    receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.stop());
    const [outageIdp, stormIdp, lowIdp] = await Promise.all([idpFor(), idpFor(), idpFor()]);
    const [outage, storm, low] = await Promise.all([
      instancesFor(outageIdp, 2, JOBS.outage),
      instancesFor(stormIdp, 1, JOBS.storm),
      instancesFor(lowIdp, 1, JOBS.low),
    ]);
    stack = await startAlertingStack(
      found,
      [
        {
          name: 'shipped',
          rulesFile: SHIPPED_RULES,
          jobs: [
            { job: JOBS.outage, targets: outage.metricsTargets },
            { job: JOBS.storm, targets: storm.metricsTargets },
            { job: JOBS.low, targets: low.metricsTargets },
          ],
        },
        {
          name: CONTROL.classFilter,
          rulesFile: rulesFile(CONTROL.classFilter, { dropClassFilter: true }),
          jobs: [{ job: controlJob(JOBS.storm, CONTROL.classFilter), targets: storm.metricsTargets }],
        },
        {
          name: CONTROL.guard,
          rulesFile: rulesFile(CONTROL.guard, { dropTrafficGuard: true }),
          jobs: [{ job: controlJob(JOBS.low, CONTROL.guard), targets: low.metricsTargets }],
        },
      ],
      { scrapeIntervalSeconds: SCRAPE_SECONDS },
    );
    cleanups.push(() => stack.stop());
    const shipped = stack.prometheus.get('shipped')!;
    const started = Date.now();
    const rulesYaml = readFileSync(SHIPPED_RULES, 'utf8');
    const bound = (firstFailure: { seconds: number; why: string }, healthySeconds: number) =>
      pageBound({ rulesYaml, alert: ALERT_NAMES.burn, scrapeIntervalSeconds: SCRAPE_SECONDS, firstFailure, healthySeconds });
    const nextRefresh = {
      seconds: ACCESS_TOKEN_TTL - V3_LEEWAY_SECONDS + USER_EVERY_MS / 1000,
      why: 'a user refreshes on a request at least 2 s after the last',
    };

    // ---- low traffic: every refresh fails from the first request on --------------------------
    done.push(
      (async () => {
        const users = await logIn(lowIdp, low.url, 'low', browsers(LOW_TRAFFIC_USERS));
        await lowIdp.revokeAll();
        lowAt = Date.now();
        // The first failure starts a new series; rate() sees failures grow from the second round on.
        bounds.low = bound({ seconds: 5 + LOW_TRAFFIC_EVERY_MS / 1000, why: 'the second round of failing refreshes (the first only creates the series)' }, 0);
        await browse(low.url, users, traffic.signal, { everyMs: LOW_TRAFFIC_EVERY_MS, firstAfterMs: 5000 });
      })(),
    );

    // ---- storm: healthy users, monitors and a crawler failing many times their rate -----------
    done.push(
      (async () => {
        const users = await logIn(stormIdp, storm.url, 'user', browsers(3));
        const monitors = await logIn(stormIdp, storm.url, 'synthetics', [SYNTHETICS_USER_AGENT, SYNTHETICS_USER_AGENT], { 'x-datadog-origin': 'synthetics' });
        const crawlers = await logIn(stormIdp, storm.url, 'crawler', [GOOGLEBOT_USER_AGENT]);
        for (const bot of [...monitors, ...crawlers]) await stormIdp.revokeRefreshTokens(bot.username);
        stormAt = Date.now();
        bounds.storm = bound(nextRefresh, 0);
        await Promise.all([
          browse(storm.url, users, traffic.signal, { everyMs: USER_EVERY_MS }),
          browse(storm.url, monitors, traffic.signal, { everyMs: 400, headers: { 'x-datadog-origin': 'synthetics' } }),
          browse(storm.url, crawlers, traffic.signal, { everyMs: 400 }),
          probe(storm.url, { 'user-agent': SYNTHETICS_USER_AGENT, 'x-datadog-origin': 'synthetics' }, 4, traffic.signal),
          probe(storm.url, { 'user-agent': 'kube-probe/1.31' }, 2, traffic.signal),
        ]);
      })(),
    );

    // ---- outage: healthy until Prometheus sees the guard cleared, then every refresh fails ----
    const outageUsers = await logIn(outageIdp, outage.url, 'user', browsers(6));
    const outageTraffic = browse(outage.url, outageUsers, traffic.signal, { everyMs: USER_EVERY_MS });
    done.push(outageTraffic);
    const guardExpr = sumBy([JOB], `increase(${selector(refreshes, [job(JOBS.outage), eq(cls, V.browser)])}[1h])`);
    const healthyFrom = Date.now();
    while (guardBeforeOutage < GUARD && Date.now() - started < RUN_LIMIT_MS) {
      await sleep(SCRAPE_SECONDS * 1000);
      guardBeforeOutage = Number((await shipped.query(guardExpr))[0]?.value[1] ?? 0);
    }
    outageAt = Date.now();
    await outageIdp.revokeAll();
    bounds.outage = bound(nextRefresh, (outageAt - healthyFrom) / 1000);
    console.log(`live-outage: ${renderPageBound(bounds.outage)}`);

    // ---- run until every expected page arrived or its bound has passed -----------------------
    const expected = () => {
      const pager = stack.pager.deliveries();
      const got = (j: string) =>
        pager.some((d) => d.status === 'firing' && d.alerts.some((a) => a.labels.job === j && a.labels.alertname === ALERT_NAMES.burn));
      return [
        { paged: got(JOBS.outage), deadline: outageAt + bounds.outage!.seconds * 1000 },
        { paged: got(controlJob(JOBS.storm, CONTROL.classFilter)), deadline: stormAt + (bounds.storm?.seconds ?? Infinity) * 1000 },
        { paged: got(controlJob(JOBS.low, CONTROL.guard)), deadline: lowAt + (bounds.low?.seconds ?? Infinity) * 1000 },
      ];
    };
    while (!expected().every((e) => e.paged || Date.now() > e.deadline) && Date.now() - started < RUN_LIMIT_MS) await sleep(2000);
    report = await collectLiveReport(stack, 'shipped', outageAt);
    for (const [name, server] of stack.prometheus) {
      const head = await server.headSeries();
      console.log(`Prometheus "${name}" head series: ${head.numSeries}`);
    }
  }, RUN_LIMIT_MS + 120_000);

  afterAll(async () => {
    traffic.abort();
    await Promise.allSettled(done);
    for (const step of cleanups.reverse()) await step().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('scrapes every instance through the shipped scrape configuration', async () => {
    for (const server of stack.prometheus.values()) {
      for (const target of await server.targets()) expect(target.health, `${target.job} ${target.scrapeUrl}: ${target.lastError}`).toBe('up');
    }
    const jobs = (await stack.prometheus.get('shipped')!.targets()).map((t) => t.job).sort();
    expect(jobs).toEqual([JOBS.low, JOBS.outage, JOBS.outage, JOBS.storm]);
    // The relabelling renamed the JS exporter's histograms to the names the rules and dashboards use.
    const renamed = await stack.prometheus.get('shipped')!.query(`count(${names.histogram('tokenRefreshDuration', 'count')})`);
    expect(Number(renamed[0]?.value[1] ?? 0)).toBeGreaterThan(0);
  });

  it('IdP outage for real users: the page reaches the pager within the bound the rules allow, and nothing reaches the ticket queue', async () => {
    expect(guardBeforeOutage, 'the healthy phase cleared the traffic guard before the outage').toBeGreaterThanOrEqual(GUARD);
    const page = pagedFor(JOBS.outage, 'shipped');
    console.log(`live-outage: paged at +${page?.at.toFixed(1)} s after the outage; bound ${bounds.outage!.seconds} s`);
    expect(page, `no page for ${JOBS.outage}; pager got ${JSON.stringify(report.pager)}`).toBeDefined();
    expect(page!.at).toBeGreaterThan(0);
    expect(page!.at).toBeLessThanOrEqual(bounds.outage!.seconds);
    // Prometheus itself says so: firing, with the real-user failure ratio over the long window.
    const firing = report.alerts.find((a) => a.alertname === ALERT_NAMES.burn && a.job === JOBS.outage);
    expect(firing?.state).toBe('firing');
    expect(Number(firing!.value)).toBeGreaterThan(bounds.outage!.threshold);
    // Critical goes to the pager only: the ticket queue heard nothing about this service.
    expect(report.ticketQueue.filter((d) => d.alerts.some((a) => a.job === JOBS.outage))).toEqual([]);
  });

  it('monitor and bot storm with healthy users: failures at several times the users’ rate, and no page for the whole run', async () => {
    const shipped = stack.prometheus.get('shipped')!;
    const count = async (expr: string) => Number((await shipped.query(expr))[0]?.value[1] ?? 0);
    const window = `${Math.ceil((Date.now() - stormAt) / 1000)}s`;
    const noise = await count(sumBy([], `increase(${selector(refreshes, [job(JOBS.storm), ne(cls, V.browser), eq(outcome, V.refreshFailure)])}[${window}])`));
    const users = await count(sumBy([], `increase(${selector(refreshes, [job(JOBS.storm), eq(cls, V.browser)])}[${window}])`));
    const userFailures = await count(
      sumBy([], `increase(${selector(refreshes, [job(JOBS.storm), eq(cls, V.browser), eq(outcome, V.refreshFailure)])}[${window}])`),
    );
    console.log(
      `live-storm: ${noise.toFixed(0)} failed refreshes from monitors and crawlers, ${users.toFixed(0)} real-user refreshes (${userFailures} failed)`,
    );
    expect(users).toBeGreaterThanOrEqual(GUARD);
    expect(noise).toBeGreaterThan(2 * users);
    expect(userFailures).toBe(0);
    expect(pagedFor(JOBS.storm, 'shipped')).toBeUndefined();
    expect(report.alerts.filter((a) => a.job === JOBS.storm && a.alertname === ALERT_NAMES.burn)).toEqual([]);
  });

  it('negative control: the same storm pages with rules generated without the browser-class filter', () => {
    const page = pagedFor(controlJob(JOBS.storm, CONTROL.classFilter), CONTROL.classFilter);
    expect(page, `pager got ${JSON.stringify(report.pager)}`).toBeDefined();
    expect((page!.at * 1000 + outageAt - stormAt) / 1000).toBeLessThanOrEqual(bounds.storm!.seconds);
  });

  it('low traffic, every real-user refresh failing: no page (traffic guard)', () => {
    expect(pagedFor(JOBS.low, 'shipped')).toBeUndefined();
    expect(report.alerts.filter((a) => a.job === JOBS.low && a.alertname === ALERT_NAMES.burn)).toEqual([]);
  });

  it('negative control: the same low traffic pages with rules generated without the traffic guard', () => {
    const page = pagedFor(controlJob(JOBS.low, CONTROL.guard), CONTROL.guard);
    expect(page, `pager got ${JSON.stringify(report.pager)}`).toBeDefined();
    expect((page!.at * 1000 + outageAt - lowAt) / 1000).toBeLessThanOrEqual(bounds.low!.seconds);
  });

  it('routes what is not critical to the ticket queue, never to the pager', async () => {
    // A warning for a service of its own, posted to the running Alertmanager as Prometheus would.
    const labels = { alertname: ALERT_NAMES.unpersisted, severity: 'warning', job: 'live-routing-check' };
    const posted = await fetch(`${stack.alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels, annotations: { summary: 'routing check' } }]),
    });
    expect(posted.status).toBe(200);
    const deadline = Date.now() + (durationSeconds(TIMINGS.groupWait) + 15) * 1000;
    const arrived = () => stack.ticketQueue.deliveries().some((d) => d.alerts.some((a) => a.labels.job === labels.job));
    while (!arrived() && Date.now() < deadline) await sleep(1000);
    expect(arrived()).toBe(true);
    expect(stack.pager.deliveries().some((d) => d.alerts.some((a) => a.labels.job === labels.job))).toBe(false);
  }, 60_000);
});
