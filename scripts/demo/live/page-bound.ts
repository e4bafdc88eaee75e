/**
 * How long after an incident starts the page may arrive, derived from the rules Prometheus runs
 * (the alert's rule-group interval, its `for:`, the SLO and burn factor of its fastest window
 * pair), the scrape interval and Alertmanager's `group_wait`, plus what the traffic needs to show
 * the first failure. Nothing in it is measured from a run.
 */
import { parse } from 'yaml';
import { THRESHOLDS } from '../../../dashboards/src/alerts.js';
import { TIMINGS } from '../../../dashboards/src/alertmanager.js';
import { durationSeconds } from '../../../dashboards/src/promql.js';

export interface PageBoundInputs {
  rulesYaml: string;
  alert: string;
  scrapeIntervalSeconds: number;
  /** From the incident's start until a real user's refresh has failed, and why. */
  firstFailure: { seconds: number; why: string };
  /** Healthy traffic before the incident; during it requests keep their rate and every refresh fails. */
  healthySeconds: number;
}

export interface PageBound {
  seconds: number;
  /** The failure ratio both windows of the fastest pair must exceed. */
  threshold: number;
  evaluationIntervalSeconds: number;
  forSeconds: number;
  terms: { seconds: number; what: string }[];
}

type RulesFile = { groups: { interval?: string; rules: { alert?: string; record?: string; expr: string; for?: string }[] }[] };

/** Alertmanager webhook delivery on loopback, and Prometheus' own send to Alertmanager after an evaluation. */
const DELIVERY_SECONDS = 10;

export function pageBound(inputs: PageBoundInputs): PageBound {
  const rules = parse(inputs.rulesYaml) as RulesFile;
  const group = rules.groups.find((g) => g.rules.some((r) => r.alert === inputs.alert));
  const alert = group?.rules.find((r) => r.alert === inputs.alert);
  if (!group?.interval || !alert) throw new Error(`${inputs.alert} is not in the rules file, or its group has no interval`);
  const objective = group.rules.find((r) => r.record?.endsWith(':slo_objective'));
  const slo = Number(/vector\(([\d.]+)\)/.exec(objective?.expr ?? '')?.[1]);
  if (!(slo > 0 && slo < 1)) throw new Error(`no SLO objective recording rule next to ${inputs.alert}`);
  const fastest = THRESHOLDS.burnRates[0]!;
  const threshold = fastest.factor * (1 - slo);
  const e = durationSeconds(group.interval);
  const forSeconds = durationSeconds(alert.for ?? '0s');
  const terms = [
    inputs.firstFailure,
    {
      seconds: (threshold / (1 - threshold)) * inputs.healthySeconds,
      why: `failures until the ratio over windows longer than the run passes ${fastest.factor} × (1 − ${slo}) = ${(threshold * 100).toFixed(1)} %`,
    },
    { seconds: 2 * inputs.scrapeIntervalSeconds, why: 'two scrapes: a new failure series needs a second sample before rate() sees it grow' },
    { seconds: e, why: `the rule group's next evaluation (interval ${group.interval})` },
    { seconds: Math.ceil(forSeconds / e) * e, why: `for: ${alert.for}, counted in evaluations` },
    { seconds: durationSeconds(TIMINGS.groupWait), why: `Alertmanager group_wait ${TIMINGS.groupWait}` },
    { seconds: DELIVERY_SECONDS, why: 'Prometheus → Alertmanager → webhook on loopback' },
  ].map(({ seconds, why }) => ({ seconds: Math.ceil(seconds), what: why }));
  return { seconds: terms.reduce((sum, t) => sum + t.seconds, 0), threshold, evaluationIntervalSeconds: e, forSeconds, terms };
}

export function renderPageBound(bound: PageBound): string {
  return [`page bound ${formatDuration(bound.seconds)}:`, ...bound.terms.map((t) => `  ${String(t.seconds).padStart(4)} s  ${t.what}`)].join('\n');
}

/** `4m12s`, `45s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
