/**
 * Collector faults: the Node.js and the Edge registration export under steady load to a loopback
 * OTLP endpoint that refuses connections, blackholes them, answers slowly, or answers 500 / 429.
 * For each fault: memory stays within a bound of its level when the fault began, requests in
 * flight never exceed what the exporters' limits allow, every span lost is counted in
 * `auth.instrumentation.errors` under a drop stage, and exports recover when the endpoint does.
 *
 * Durations are scaled down about tenfold so the suite fits CI; SCALE says what each stands for.
 * The app runs in a child process (test/fixtures/fault-load-child.ts) so its memory is its own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpFault, type OtlpReceiver } from '../testkit/index.js';
import type { Sample } from './fixtures/fault-load-child.js';

const SCALE = {
  /** The exporters' timeout: stands for their 10 s default. */
  exportTimeoutMs: 1000,
  /** Export requests in flight per signal: stands for the default 30. */
  concurrencyLimit: 4,
  /** Metric export interval (and the Edge flush interval): stands for 60 s. */
  metricIntervalMs: 500,
  /** Span batching: delay, batch and queue stand for the SDK's 5 s, 512 and 2048. */
  bsp: { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '128', OTEL_BSP_MAX_QUEUE_SIZE: '512' },
  /** Middleware runs every 10 ms: 500 runs, 1,000 spans a second. */
  requestsPerTick: 5,
  /** How long each fault lasts: 4 s is 4 export timeouts, standing for a 10-minute outage (60 timeouts of 10 s) in kind. */
  faultMs: 4000,
  /** The slow collector answers after 500 ms: half the timeout, as 5 s is of 10 s. */
  slowAnswerMs: 500,
};

/**
 * What the pipeline may hold beyond its healthy level: the span queue (512 spans of a few kB) and the
 * batches in flight (2 signals × 4 requests), a few MB; 16 MB leaves room for GC timing. Without a
 * timeout, a blackholed collector kept every request's body and socket: memory grew for as long as the fault lasted.
 */
const HEAP_BOUND = 16 * 1024 * 1024;
/** Traces and metrics each have their own exporter and limit. */
const IN_FLIGHT_BOUND = 2 * SCALE.concurrencyLimit;

type Runtime = 'nodejs' | 'edge';

/**
 * Each fault and the drop stage it must show. A slow collector keeps up with neither: on Node the
 * SDK's queue overflows while one export at a time waits; on Edge the flush after each export
 * interval sends every queued batch at once, and those beyond the concurrency limit are refused.
 */
const FAULTS: { name: string; fault: OtlpFault; spanStage: Record<Runtime, string>; metricsFail: boolean }[] = [
  { name: 'refused', fault: { kind: 'refuse' }, spanStage: { nodejs: 'span_export_failed', edge: 'span_export_failed' }, metricsFail: true },
  { name: 'blackholed', fault: { kind: 'blackhole' }, spanStage: { nodejs: 'span_export_timeout', edge: 'span_export_timeout' }, metricsFail: true },
  { name: 'slow', fault: { kind: 'delay', ms: SCALE.slowAnswerMs }, spanStage: { nodejs: 'span_queue_full', edge: 'span_export_busy' }, metricsFail: false },
  { name: 'HTTP 500', fault: { kind: 'status', status: 500 }, spanStage: { nodejs: 'span_export_failed', edge: 'span_export_failed' }, metricsFail: true },
  { name: 'HTTP 429', fault: { kind: 'status', status: 429 }, spanStage: { nodejs: 'span_export_failed', edge: 'span_export_failed' }, metricsFail: true },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const spanDrops = (s: Sample) => Object.entries(s.dropped).reduce((sum, [stage, n]) => (stage.startsWith('span_') ? sum + n : sum), 0);

let receiver: OtlpReceiver;
/** Spans received since the suite began: the receiver is reset between faults to keep this process small. */
let receivedBefore = 0;
const received = () => receivedBefore + receiver.spans().length;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.stop());

class LoadChild {
  private nextId = 1;
  private readonly waiting = new Map<number, (value: unknown) => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id: number; value: unknown }) => {
      this.waiting.get(message.id)?.(message.value);
      this.waiting.delete(message.id);
    });
  }

  static async start(mode: Runtime | 'edge-unbounded'): Promise<LoadChild> {
    const child = fork('test/fixtures/fault-load-child.ts', [mode], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: {
        ...process.env,
        ...SCALE.bsp,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        FAULT_EXPORT_TIMEOUT_MS: String(SCALE.exportTimeoutMs),
        FAULT_CONCURRENCY_LIMIT: String(SCALE.concurrencyLimit),
        FAULT_METRIC_INTERVAL_MS: String(SCALE.metricIntervalMs),
        FAULT_REQUESTS_PER_TICK: String(SCALE.requestsPerTick),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`load child exited with ${code} before it was ready`)));
    });
    await ready;
    return new LoadChild(child);
  }

  call<T>(cmd: 'pause' | 'resume' | 'flush' | 'sample'): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (value: unknown) => void);
      this.child.send({ id, cmd });
    });
  }

  stop(): void {
    this.child.kill();
  }
}

/** Stops the load and waits until every span ended so far is either received or counted as dropped. */
async function settle(child: LoadChild, since: { sample: Sample; received: number }): Promise<{ sample: Sample; received: number }> {
  await child.call('pause');
  await child.call('flush');
  const deadline = Date.now() + 4 * SCALE.exportTimeoutMs;
  for (;;) {
    const sample = await child.call<Sample>('sample');
    const lost = sample.spansEnded - since.sample.spansEnded - (received() - since.received);
    const counted = spanDrops(sample) - spanDrops(since.sample);
    if ((lost === counted && receiver.inFlight() === 0) || Date.now() > deadline) return { sample, received: received() };
    await sleep(100);
  }
}

type FaultFigures = {
  fault: string;
  heapStartMB: number;
  heapEndMB: number;
  rssStartMB: number;
  rssEndMB: number;
  inFlightStart: number;
  inFlightMax: number;
  inFlightEnd: number;
  spansEnded: number;
  spansDropped: number;
  spansCountedDropped: number;
  byStage: Record<string, number>;
  diagLines: number;
  exportErrors: number;
};

async function underFault(
  child: LoadChild,
  fault: OtlpFault,
): Promise<{ figures: Omit<FaultFigures, 'fault'>; recoveredDrops: number; recoveredSpans: number }> {
  const before = await settle(child, { sample: await child.call<Sample>('sample'), received: received() });
  receivedBefore = received();
  receiver.reset();
  await child.call('resume');
  await sleep(500);
  const start = await child.call<Sample>('sample');
  const inFlightStart = receiver.inFlight();

  await receiver.setFault(fault);
  let inFlightMax = 0;
  const faultEnds = Date.now() + SCALE.faultMs;
  while (Date.now() < faultEnds) {
    inFlightMax = Math.max(inFlightMax, receiver.inFlight());
    await sleep(20);
  }
  const end = await child.call<Sample>('sample');
  const inFlightEnd = receiver.inFlight();

  // Recovery: requests started during the fault time out within one export timeout; after that,
  // exports succeed again and nothing more is dropped.
  await receiver.setFault(null);
  await sleep(SCALE.exportTimeoutMs + 500);
  const recovering = await child.call<Sample>('sample');
  const receivedRecovering = received();
  await sleep(1000);
  const recovered = await child.call<Sample>('sample');
  const recoveredSpans = received() - receivedRecovering;

  const after = await settle(child, before);
  const spansEnded = after.sample.spansEnded - before.sample.spansEnded;
  const byStage = Object.fromEntries(
    Object.entries(after.sample.dropped)
      .map(([stage, n]) => [stage, n - (before.sample.dropped[stage] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  return {
    figures: {
      heapStartMB: MB(start.heapUsed),
      heapEndMB: MB(end.heapUsed),
      rssStartMB: MB(start.rss),
      rssEndMB: MB(end.rss),
      inFlightStart,
      inFlightMax,
      inFlightEnd,
      spansEnded,
      spansDropped: spansEnded - (after.received - before.received),
      spansCountedDropped: spanDrops(after.sample) - spanDrops(before.sample),
      byStage,
      diagLines: after.sample.diagLines - before.sample.diagLines,
      exportErrors: after.sample.exportErrors - before.sample.exportErrors,
    },
    recoveredDrops: spanDrops(recovered) - spanDrops(recovering),
    recoveredSpans,
  };
}

for (const runtime of ['nodejs', 'edge'] as const satisfies readonly Runtime[]) {
  describe(`collector faults, ${runtime} registration`, () => {
    let child: LoadChild;
    const table: FaultFigures[] = [];
    beforeAll(async () => {
      child = await LoadChild.start(runtime);
      await child.call('resume');
      await sleep(1000);
    });
    afterAll(() => {
      child?.stop();
      console.log(`collector faults (${runtime}):\n${table.map((row) => JSON.stringify(row)).join('\n')}`);
    });

    for (const { name, fault, spanStage, metricsFail } of FAULTS) {
      it(`${name}: bounded memory and requests in flight, every lost span counted, recovery`, async () => {
        const { figures, recoveredDrops, recoveredSpans } = await underFault(child, fault);
        table.push({ fault: name, ...figures });
        expect(figures.inFlightMax).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
        expect(figures.heapEndMB - figures.heapStartMB).toBeLessThanOrEqual(MB(HEAP_BOUND));
        // Every span lost on the way is counted, and nothing else is.
        expect(figures.spansCountedDropped).toBe(figures.spansDropped);
        expect(figures.byStage[spanStage[runtime]] ?? 0).toBeGreaterThan(0);
        const metricPointsDropped = Object.entries(figures.byStage).filter(([stage]) => stage.startsWith('metric_'));
        if (metricsFail) expect(metricPointsDropped.length).toBeGreaterThan(0);
        // Reported through diag at most once per drop stage (within ten minutes), not once per batch or span.
        expect(figures.diagLines).toBeLessThanOrEqual(Object.keys(figures.byStage).length);
        // Drops are not counted a second time as export errors by the SDK's global error handler.
        expect(figures.exportErrors).toBe(0);
        // Recovered: spans arrive again and no more are dropped.
        expect(recoveredSpans).toBeGreaterThan(0);
        expect(recoveredDrops).toBe(0);
      });
    }
  });
}

describe('negative control: the Edge exporter without its timeout and concurrency limit', () => {
  it('lets requests to a blackholed collector pile up past the bound', async () => {
    const child = await LoadChild.start('edge-unbounded');
    try {
      await child.call('resume');
      await sleep(1000);
      const start = await child.call<Sample>('sample');
      await receiver.setFault({ kind: 'blackhole' });
      let inFlightMax = 0;
      const faultEnds = Date.now() + SCALE.faultMs;
      while (Date.now() < faultEnds) {
        inFlightMax = Math.max(inFlightMax, receiver.inFlight());
        await sleep(20);
      }
      const end = await child.call<Sample>('sample');
      console.log(
        `negative control (edge, no timeout or limit): ${inFlightMax} requests in flight after ${SCALE.faultMs} ms; ` +
          `heap ${MB(start.heapUsed)} → ${MB(end.heapUsed)} MB, RSS ${MB(start.rss)} → ${MB(end.rss)} MB`,
      );
      expect(inFlightMax).toBeGreaterThan(IN_FLIGHT_BOUND);
    } finally {
      child.stop();
      await receiver.setFault(null);
    }
  });
});
