/** Tables, paired ratios and the met / not met verdict of the end-to-end benchmark. */
import type { LoadResult } from './load.js';
import type { VariantName } from './variants.js';

export interface Run {
  round: number;
  kind: string;
  variant: VariantName;
  load: LoadResult;
  spans: number;
  pluginSpans: number;
  bytes: number;
}

export interface Verdict {
  target: string;
  figure: string;
  met: boolean;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? Number.NaN;
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

function runsOf(runs: Run[], variant: VariantName, kind: string): Run[] {
  return runs.filter((r) => r.variant === variant && r.kind === kind);
}

function perRequest(runs: Run[], pick: (run: Run) => number): number {
  const requests = runs.reduce((sum, r) => sum + r.load.requests, 0);
  return requests > 0 ? runs.reduce((sum, r) => sum + pick(r), 0) / requests : Number.NaN;
}

export function variantTable(runs: Run[], variants: VariantName[], kinds: string[]): string[] {
  const lines = [
    '| request | variant | req/s | p50 ms | p99 ms | server CPU ms/req | spans/req | plugin spans/req | OTLP bytes/req |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const kind of kinds) {
    for (const variant of variants) {
      const own = runsOf(runs, variant, kind);
      if (own.length === 0) continue;
      lines.push(
        `| ${kind} | ${variant} | ${fixed(median(own.map((r) => r.load.requestsPerSecond)), 0)} | ${fixed(median(own.map((r) => r.load.p50Ms)), 1)} | ` +
          `${fixed(median(own.map((r) => r.load.p99Ms)), 1)} | ${fixed(median(own.map((r) => r.load.cpuMsPerRequest)))} | ` +
          `${fixed(perRequest(own, (r) => r.spans))} | ${fixed(perRequest(own, (r) => r.pluginSpans))} | ${fixed(
            perRequest(own, (r) => r.bytes),
            0,
          )} |`,
      );
    }
  }
  return lines;
}

export interface PairRatios {
  throughput: number[];
  p99: number[];
}

/** One ratio per round: the two variants ran next to each other in that round. */
export function pairRatios(runs: Run[], a: VariantName, b: VariantName, kind: string): PairRatios {
  const ratios: PairRatios = { throughput: [], p99: [] };
  for (const run of runsOf(runs, a, kind)) {
    const control = runs.find((r) => r.variant === b && r.kind === kind && r.round === run.round);
    if (control === undefined) continue;
    ratios.throughput.push(run.load.requestsPerSecond / control.load.requestsPerSecond);
    ratios.p99.push(run.load.p99Ms / control.load.p99Ms);
  }
  return ratios;
}

const spread = (values: number[]) => `${fixed(median(values))} (${fixed(Math.min(...values))}–${fixed(Math.max(...values))})`;

export function ratioTable(runs: Run[], pairs: Array<[VariantName, VariantName]>, kinds: string[]): string[] {
  const lines = ['| request | variant / control | throughput ratio, median (spread) | p99 ratio, median (spread) |', '|---|---|---|---|'];
  for (const kind of kinds) {
    for (const [a, b] of pairs) {
      const ratios = pairRatios(runs, a, b, kind);
      if (ratios.throughput.length > 0) lines.push(`| ${kind} | ${a} / ${b} | ${spread(ratios.throughput)} | ${spread(ratios.p99)} |`);
    }
  }
  return lines;
}

export function throughputVerdict(runs: Run[], a: VariantName, b: VariantName, kind: string, least: number): Verdict | undefined {
  const { throughput } = pairRatios(runs, a, b, kind);
  if (throughput.length === 0) return undefined;
  const ratio = median(throughput);
  return { target: `${kind}: throughput ${a} / ${b} ≥ ${least}`, figure: fixed(ratio), met: ratio >= least };
}

export function p99Verdict(runs: Run[], a: VariantName, b: VariantName, kind: string, most: number): Verdict | undefined {
  const { p99 } = pairRatios(runs, a, b, kind);
  if (p99.length === 0) return undefined;
  const ratio = median(p99);
  return { target: `${kind}: p99 ${a} / ${b} ≤ ${most}`, figure: fixed(ratio), met: ratio <= most };
}

export function pluginSpansVerdict(runs: Run[], variant: VariantName, kind: string, most: number): Verdict | undefined {
  const own = runsOf(runs, variant, kind);
  if (own.length === 0) return undefined;
  const perReq = perRequest(own, (r) => r.pluginSpans);
  return { target: `${kind}: plugin spans per request with '${variant}' ≤ ${most}`, figure: fixed(perReq), met: perReq <= most };
}

export function verdictLines(verdicts: Verdict[]): string[] {
  return ['| target | figure | met |', '|---|---|---|', ...verdicts.map((v) => `| ${v.target} | ${v.figure} | ${v.met ? 'met' : 'not met'} |`)];
}
