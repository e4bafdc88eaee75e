/**
 * The alerting stack of the live mode: one Alertmanager configured by the shipped routing
 * (dashboards/src/alertmanager.ts) with two webhooks, "the pager" and "the ticket queue", and one
 * or more Prometheus servers, each loading a rules file and scraping app instances with the
 * shipped scrape configuration for the JS exporter, filled in with each job's name and targets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PATHS, resolveOptions } from '../../../dashboards/src/index.js';
import { alertmanagerYaml } from '../../../dashboards/src/alertmanager.js';
import { REPOSITORY_ROOT } from '../../../testkit/example-app.js';
import {
  startAlertmanager,
  startPrometheus,
  startWebhookReceiver,
  type Alertmanager,
  type AlertingBinaries,
  type Prometheus,
  type WebhookReceiver,
} from '../../../testkit/prometheus.js';

/** One scrape job: a service's instances. Its name becomes the `job` label the rules group by. */
export interface ScrapeJob {
  job: string;
  targets: string[];
}

export interface RuleSet {
  /** Set as the external label `ruleset` on everything this Prometheus sends. */
  name: string;
  rulesFile: string;
  jobs: ScrapeJob[];
}

export interface AlertingStack {
  readonly alertmanager: Alertmanager;
  readonly pager: WebhookReceiver;
  readonly ticketQueue: WebhookReceiver;
  readonly prometheus: ReadonlyMap<string, Prometheus>;
  stop(): Promise<void>;
}

export const SHIPPED_RULES = join(REPOSITORY_ROOT, PATHS.prometheusRules);

/** The shipped scrape configuration with the job name and targets filled in, nothing else changed. */
export function scrapeConfigs(jobs: readonly ScrapeJob[]): unknown[] {
  const shipped = parse(readFileSync(join(REPOSITORY_ROOT, PATHS.jsExporterScrape), 'utf8')) as { scrape_configs: Record<string, unknown>[] };
  const template = shipped.scrape_configs[0]!;
  return jobs.map((j) => ({ ...template, job_name: j.job, static_configs: [{ targets: j.targets }] }));
}

export async function startAlertingStack(
  binaries: AlertingBinaries,
  ruleSets: readonly RuleSet[],
  { scrapeIntervalSeconds }: { scrapeIntervalSeconds: number },
): Promise<AlertingStack> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    stops.length = 0;
  };
  try {
    const pager = await startWebhookReceiver();
    stops.push(pager.stop);
    const ticketQueue = await startWebhookReceiver();
    stops.push(ticketQueue.stop);
    const alertmanager = await startAlertmanager(
      binaries.alertmanager,
      alertmanagerYaml(resolveOptions(), { pager: pager.url, 'ticket-queue': ticketQueue.url }),
    );
    stops.push(alertmanager.stop);
    const prometheus = new Map<string, Prometheus>();
    for (const set of ruleSets) {
      const server = await startPrometheus(binaries.prometheus, {
        scrapeConfigs: scrapeConfigs(set.jobs),
        ruleFiles: [set.rulesFile],
        alertmanagerUrl: alertmanager.url,
        scrapeIntervalSeconds,
        evaluationIntervalSeconds: scrapeIntervalSeconds,
        externalLabels: { ruleset: set.name },
      });
      stops.push(server.stop);
      prometheus.set(set.name, server);
    }
    return { alertmanager, pager, ticketQueue, prometheus, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
