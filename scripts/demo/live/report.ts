/**
 * What the live stack says at the end of a run: Prometheus' own alerts API, what the pager and the
 * ticket queue webhooks received (relative to the incident's start), and the series Prometheus holds.
 */
import type { PrometheusAlert, WebhookDelivery } from '../../../testkit/prometheus.js';
import type { AlertingStack } from './stack.js';
import { formatDuration } from './page-bound.js';

export interface Delivery {
  /** Seconds after the incident started (negative: before it). */
  at: number;
  status: string;
  alerts: { alertname: string; severity: string; job: string; ruleset: string }[];
}

export interface LiveReport {
  alerts: (Pick<PrometheusAlert, 'state' | 'value'> & { alertname: string; severity: string; job: string; activeAt: number })[];
  pager: Delivery[];
  ticketQueue: Delivery[];
  headSeries: number;
  /** Head series of this package's metrics (`auth_*`), and of everything else (target_info, up, rules). */
  authSeries: number;
}

const relative = (deliveries: WebhookDelivery[], since: number): Delivery[] =>
  deliveries.map((d) => ({
    at: (d.receivedAt - since) / 1000,
    status: d.status,
    alerts: d.alerts.map((a) => ({
      alertname: a.labels.alertname ?? '',
      severity: a.labels.severity ?? '',
      job: a.labels.job ?? '',
      ruleset: a.labels.ruleset ?? '',
    })),
  }));

/** The first firing notification about `alertname` for `job` (and ruleset, when given). */
export function firstPage(deliveries: readonly Delivery[], match: { alertname: string; job: string; ruleset?: string }): Delivery | undefined {
  return deliveries.find(
    (d) =>
      d.status === 'firing' &&
      d.alerts.some((a) => a.alertname === match.alertname && a.job === match.job && (match.ruleset === undefined || a.ruleset === match.ruleset)),
  );
}

export async function collectLiveReport(stack: AlertingStack, ruleset: string, since: number): Promise<LiveReport> {
  const prometheus = stack.prometheus.get(ruleset)!;
  const alerts = (await prometheus.alerts()).map((a) => ({
    alertname: a.labels.alertname ?? '',
    severity: a.labels.severity ?? '',
    job: a.labels.job ?? '',
    state: a.state,
    value: a.value,
    activeAt: (Date.parse(a.activeAt) - since) / 1000,
  }));
  const head = await prometheus.headSeries();
  const authSeries = head.byMetric.filter((m) => m.name.startsWith('auth_')).reduce((sum, m) => sum + m.value, 0);
  return {
    alerts,
    pager: relative(stack.pager.deliveries(), since),
    ticketQueue: relative(stack.ticketQueue.deliveries(), since),
    headSeries: head.numSeries,
    authSeries,
  };
}

const signed = (seconds: number) => (seconds < 0 ? `-${formatDuration(-seconds)}` : `+${formatDuration(seconds)}`);

function renderDeliveries(name: string, deliveries: readonly Delivery[], none: string): string[] {
  if (deliveries.length === 0) return [`  ${name.padEnd(18)}${none}`];
  return deliveries.map(
    (d, i) =>
      `  ${(i === 0 ? name : '').padEnd(18)}${d.status === 'firing' ? 'FIRING ' : 'resolved'} at ${signed(d.at)}: ` +
      d.alerts.map((a) => `${a.alertname} (${a.severity}, job ${a.job})`).join(', '),
  );
}

/** `since` names the moment times are relative to, e.g. "the IdP outage". */
export function renderLiveReport(report: LiveReport, { since, pageAlert }: { since: string; pageAlert: string }): string {
  const lines = [`Prometheus alerts API (times relative to ${since}):`];
  if (report.alerts.length === 0) lines.push('  no alert pending or firing');
  for (const a of report.alerts) {
    lines.push(
      `  ${a.state.toUpperCase().padEnd(8)} ${a.alertname.padEnd(34)} ${a.severity.padEnd(9)} active since ${signed(a.activeAt)}, value ${Number(a.value).toPrecision(3)}`,
    );
  }
  lines.push('', 'Alertmanager webhooks (routed by severity, dashboards/prometheus/alertmanager.yaml):');
  lines.push(...renderDeliveries('the pager', report.pager, 'nothing received'));
  lines.push(...renderDeliveries('the ticket queue', report.ticketQueue, 'nothing received'));
  lines.push(
    '',
    `Prometheus holds ${report.headSeries} series in its head block: ${report.authSeries} of this package's metrics (auth_*), the rest target_info, up, scrape and rule series.`,
  );
  const paged = report.pager.find((d) => d.status === 'firing' && d.alerts.some((a) => a.alertname === pageAlert));
  lines.push('', paged ? `VERDICT (live): on-call was PAGED at ${signed(paged.at)} (${pageAlert}).` : 'VERDICT (live): on-call was not paged.');
  return lines.join('\n');
}
