/**
 * `npm run bench:e2e`: what the plugin costs a real app. The v3 App Router example is built once
 * per variant (see variants.ts), every variant runs under `next start` at the same time, and a
 * load generator drives them in turn, A B C … then … C B A, so that each round's variants share
 * the machine's state. Per request kind: requests/s, latency, server CPU, spans and bytes
 * exported; then paired ratios and the targets, met or not met.
 *
 * Options: --duration <s> (per run, default 10), --rounds <n> (default 3), --connections <n>
 * (default 16), --variants a,b (default all), --kinds browser,monitor,crawler, --memory <n>
 * (requests for the heap check, default 1000000; 0 skips it), --profile <variant> (CPU profiles
 * of that variant per request kind), --json <file>.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { INSTRUMENTATION_SCOPE } from '../../src/core/telemetry/catalog.js';
import { loginViaAuthorizationCodeFlow, startIdp, type Idp } from '../../testkit/index.js';
import { freePort, startNextApp, type ExampleApp } from '../../testkit/example-app.js';
import { SYNTHETICS_USER_AGENT } from '../../scripts/demo/traffic.js';
import { drive, type LoadOptions } from './load.js';
import { startOtlpSink, type OtlpSink, type SinkCounts } from './otlp-sink.js';
import { profileTable, selfTimeByPackage } from './profile.js';
import { VARIANTS, prepareExampleDependencies, prepareVariant, type Variant, type VariantName } from './variants.js';
import { p99Verdict, pluginSpansVerdict, ratioTable, throughputVerdict, variantTable, verdictLines, type Run, type Verdict } from './report.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    variants: { type: 'string', default: VARIANTS.map((v) => v.name).join(',') },
    kinds: { type: 'string', default: 'browser,monitor,crawler' },
    memory: { type: 'string', default: '1000000' },
    profile: { type: 'string' },
    json: { type: 'string' },
  },
});
const load: LoadOptions = { connections: Number(args.connections), durationSeconds: Number(args.duration) };
const rounds = Number(args.rounds);
const variants = args.variants.split(',').map((name) => {
  const variant = VARIANTS.find((v) => v.name === name);
  if (variant === undefined) throw new Error(`unknown variant ${name}: choose from ${VARIANTS.map((v) => v.name).join(', ')}`);
  return variant;
});
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const SECRET = 'bench-secret-of-at-least-thirty-two-characters!!';
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Instance {
  variant: Variant;
  app: ExampleApp;
  sink: OtlpSink;
  /** The sink's counts when this variant's previous run started: spans arrive up to one batch delay late. */
  mark?: { counts: SinkCounts; run: Run };
  lastEndedAt: number;
}

/** The span processor's default batch delay (5 s), plus a margin: after it, a run's spans have all arrived. */
const SPAN_TAIL_MS = 6500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startVariant(variant: Variant, dir: string, idp: Idp, nodeArgs?: string[]): Promise<Instance> {
  const sink = await startOtlpSink();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  await idp.registerRedirectUris(url);
  const app = await startNextApp(dir, `the '${variant.name}' variant`, {
    port,
    env: {
      AUTH0_SECRET: SECRET,
      AUTH0_BASE_URL: url,
      AUTH0_ISSUER_BASE_URL: idp.url,
      AUTH0_CLIENT_ID: idp.clientId,
      AUTH0_CLIENT_SECRET: idp.clientSecret,
      AUTH0_SCOPE: 'openid profile email offline_access',
      OTEL_SERVICE_NAME: `bench-${variant.name}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    },
    nodeArgs,
  });
  return { variant, app, sink, lastEndedAt: 0 };
}

function requestHeaders(kind: string, sessionCookie: string): Record<string, string> {
  if (kind === 'browser')
    return { 'user-agent': CHROME, cookie: sessionCookie, accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
  if (kind === 'monitor') return { 'user-agent': SYNTHETICS_USER_AGENT, 'x-datadog-origin': 'synthetics' };
  if (kind === 'crawler') return { 'user-agent': GOOGLEBOT, accept: 'text/html' };
  throw new Error(`unknown request kind ${kind}: choose from browser, monitor, crawler`);
}

/** Closes the previous run of this instance: what its sink received since that run started. */
function settle(instance: Instance): void {
  if (instance.mark === undefined) return;
  const now = instance.sink.counts();
  const { counts, run } = instance.mark;
  run.spans = now.spans - counts.spans;
  run.pluginSpans = (now.spansByScope[INSTRUMENTATION_SCOPE] ?? 0) - (counts.spansByScope[INSTRUMENTATION_SCOPE] ?? 0);
  run.bytes = now.bytes - counts.bytes;
  instance.mark = undefined;
}

/**
 * Waits until the instance's sink has received nothing for a while: the span processor exports
 * at most one batch delay after a run, later when the machine is busy. Bounded, so a sink that
 * keeps receiving (metric exports) does not stall the run.
 */
async function quiet(instance: Instance): Promise<void> {
  await sleep(Math.max(0, instance.lastEndedAt + SPAN_TAIL_MS - Date.now()));
  const deadline = Date.now() + 30_000;
  let bytes = instance.sink.counts().bytes;
  while (Date.now() < deadline) {
    await sleep(1500);
    const now = instance.sink.counts().bytes;
    if (now === bytes) return;
    bytes = now;
  }
}

async function measure(instance: Instance, kind: string, round: number, cookie: string): Promise<Run> {
  await quiet(instance);
  settle(instance);
  const counts = instance.sink.counts();
  const result = await drive(`${instance.app.url}/`, requestHeaders(kind, cookie), instance.app.pid, load);
  if (result.failures > 0) log(`  warning: ${result.failures} failed requests for ${instance.variant.name} / ${kind}; the run is not comparable`);
  const run: Run = { round, kind, variant: instance.variant.name, load: result, spans: 0, pluginSpans: 0, bytes: 0 };
  instance.mark = { counts, run };
  instance.lastEndedAt = Date.now();
  return run;
}

async function loginCookie(app: ExampleApp): Promise<string> {
  const login = await loginViaAuthorizationCodeFlow({ appUrl: app.url, username: 'alice', password: 'alice-password', userAgent: CHROME });
  const cookie = login.jar.cookieHeader(`${app.url}/`);
  if (!cookie.includes('appSession')) throw new Error('login produced no appSession cookie');
  return cookie;
}

async function heapCheck(requests: number): Promise<Verdict | undefined> {
  if (requests <= 0) return undefined;
  log(`\nheap check: ${requests} requests with distinct user agents and session cookies…`);
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/e2e/memory.ts', String(requests)], {
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { growthMb: number; heapBeforeMb: number; heapAfterMb: number; seconds: number };
  log(
    `heap after warm-up ${result.heapBeforeMb.toFixed(1)} MB, after ${requests} requests ${result.heapAfterMb.toFixed(1)} MB (${result.seconds.toFixed(0)} s)`,
  );
  return { target: `heap growth over ${requests} requests after a forced GC ≤ 5 MB`, figure: `${result.growthMb.toFixed(2)} MB`, met: result.growthMb <= 5 };
}

/**
 * CPU profiles of every process of one variant: once started and stopped with no load (start-up
 * and shutdown), once serving one kind of request; the difference per request is what serving costs.
 */
async function profileVariant(variant: Variant, dir: string, idp: Idp, kinds: string[], cookie: string): Promise<void> {
  const profiled = async (kind: string | undefined) => {
    const profileDir = mkdtempSync(join(tmpdir(), `bench-profile-${variant.name}-`));
    const instance = await startVariant(variant, dir, idp, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
    let requests = 0;
    try {
      if (kind !== undefined) requests = (await drive(`${instance.app.url}/`, requestHeaders(kind, cookie), instance.app.pid, load)).requests;
      else await sleep(load.durationSeconds * 1000);
    } finally {
      await instance.app.stop();
      await instance.sink.stop();
    }
    return { totals: selfTimeByPackage(profileDir), requests };
  };
  const idle = await profiled(undefined);
  for (const kind of kinds) {
    const { totals, requests } = await profiled(kind);
    for (const [pkg, ms] of idle.totals) totals.set(pkg, (totals.get(pkg) ?? 0) - ms);
    log(`
Where the '${variant.name}' variant's CPU goes serving ${kind} requests (${requests} requests, start-up subtracted)
`);
    log(profileTable(totals, requests).join('\n'));
  }
}

function verdicts(runs: Run[], kinds: string[]): Verdict[] {
  const all: Array<Verdict | undefined> = [];
  for (const kind of kinds) {
    all.push(throughputVerdict(runs, 'default', 'bare', kind, 0.97));
    all.push(throughputVerdict(runs, 'metrics-only', 'off', kind, 0.97));
    all.push(p99Verdict(runs, 'metrics-only', 'off', kind, 1.05));
    all.push(pluginSpansVerdict(runs, 'notable', kind, 1));
  }
  return all.filter((v): v is Verdict => v !== undefined);
}

async function main(): Promise<void> {
  const kinds = args.kinds.split(',');
  await prepareExampleDependencies(log);
  const dirs = new Map<VariantName, string>();
  for (const variant of variants) dirs.set(variant.name, await prepareVariant(variant, log));

  const idp = await startIdp({ accessTokenTtl: 3600 });
  idp.addAccount({ username: 'alice', password: 'alice-password', sub: 'alice', name: 'Alice', email: 'alice@example.com' });
  const instances: Instance[] = [];
  try {
    for (const variant of variants) instances.push(await startVariant(variant, dirs.get(variant.name)!, idp));
    const cookie = await loginCookie(instances[0]!.app);
    log(`\n${variants.length} variants × ${kinds.length} request kinds × ${rounds} rounds, ${load.durationSeconds} s each at ${load.connections} connections`);
    for (const instance of instances) {
      for (const kind of kinds) await drive(`${instance.app.url}/`, requestHeaders(kind, cookie), instance.app.pid, { ...load, durationSeconds: 2 });
      instance.lastEndedAt = Date.now();
    }

    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? instances : [...instances].reverse();
      for (const kind of kinds) {
        for (const instance of order) runs.push(await measure(instance, kind, round, cookie));
        log(
          `round ${round + 1}/${rounds}, ${kind}: ${order.map((i) => `${i.variant.name} ${runs.find((r) => r.round === round && r.kind === kind && r.variant === i.variant.name)!.load.requestsPerSecond.toFixed(0)}/s`).join(', ')}`,
        );
      }
    }
    for (const instance of instances) {
      await quiet(instance);
      settle(instance);
    }
    report(runs, kinds, await heapCheck(Number(args.memory)));
    const profiledVariant = variants.find((v) => v.name === args.profile);
    if (args.profile !== undefined && profiledVariant === undefined) throw new Error(`--profile ${args.profile}: not one of the variants run`);
    if (profiledVariant !== undefined) {
      const dir = await prepareVariant(profiledVariant, log, { profiled: true });
      await profileVariant(profiledVariant, dir, idp, kinds, cookie);
    }
  } finally {
    for (const instance of instances) {
      await instance.app.stop();
      await instance.sink.stop();
    }
    await idp.stop();
  }
}

function report(runs: Run[], kinds: string[], heap: Verdict | undefined): void {
  const names = variants.map((v) => v.name);
  log(`\nVariants: ${variants.map((v) => `${v.name} = ${v.description}`).join('; ')}\n`);
  log(variantTable(runs, names, kinds).join('\n'));
  const pairs: Array<[VariantName, VariantName]> = [
    ['bare', 'off'],
    ['default', 'bare'],
    ['notable', 'bare'],
    ['metrics-only', 'off'],
  ];
  log(`\nPaired ratios (one per round)\n\n${ratioTable(runs, pairs, kinds).join('\n')}`);
  const all = [...verdicts(runs, kinds), ...(heap ? [heap] : [])];
  log(`\nTargets\n\n${verdictLines(all).join('\n')}`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ runs, verdicts: all }, null, 2));
}

await main();
process.exit(0);
