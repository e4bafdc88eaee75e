/**
 * `npm run demo` as users run it (minus the package build `npm test` already did): the real IdP,
 * the built Edge-middleware example app, users and bots, and the verdict printed from the received
 * telemetry.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../testkit/example-app.js';
import type { InstancesReport } from '../../scripts/demo/instances.js';
import type { DemoSummary } from '../../scripts/demo/summary.js';
import type { Verdict } from '../../scripts/demo/verdict.js';

const DEMO_TIMEOUT_MS = 300_000;
const children = new Set<ReturnType<typeof spawn>>();
// The demo cleans up after itself on SIGTERM; a timed-out test must not leave it running.
afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
});

type DemoReport = {
  summary: DemoSummary;
  instances: InstancesReport;
  balancer?: number[];
  verdict: Verdict;
  requests: Record<string, number>;
  failures: Record<string, number>;
};

async function runDemo(...args: string[]): Promise<{ code: number | null; stdout: string; report: DemoReport }> {
  const json = join(mkdtempSync(join(tmpdir(), 'demo-')), 'report.json');
  const child = spawn(join(REPOSITORY_ROOT, 'node_modules/.bin/tsx'), ['scripts/demo/main.ts', ...args, '--json', json], {
    cwd: REPOSITORY_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stdout += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  children.delete(child);
  if (code !== 0) throw new Error(`demo exited with ${code}:\n${stdout}`);
  return { code, stdout, report: JSON.parse(readFileSync(json, 'utf8')) as DemoReport };
}

const cls = (s: DemoSummary, name: string) => s.classes.find((c) => c.userAgentClass === name);

describe('npm run demo', () => {
  it(
    'healthy traffic: real users refresh in Edge middleware, monitors and bots are noise, the verdict comes from the shipped rules',
    async () => {
      const { stdout, report } = await runDemo('--duration', '45', '--users', '4');
      const { summary, verdict } = report;

      const browser = cls(summary, 'browser')!;
      expect(browser.refreshes.success).toBeGreaterThan(0);
      expect(browser.refreshRuntimes.edge).toBeGreaterThan(0);
      // bob's revoked refresh token
      expect(summary.realUsers.failureCodes.invalid_grant).toBeGreaterThan(0);
      expect(summary.realUsers.failureRatio).toBeCloseTo(summary.realUsers.failures / summary.realUsers.refreshes, 10);
      // A revoked refresh token is dead: terminal. bob counts once an hour, however often his refresh fails.
      expect(summary.realUsers.failureKinds.terminal).toBe(summary.realUsers.failures);
      expect(summary.realUsers.affected.refresh_failure).toBeGreaterThanOrEqual(1);
      expect(summary.realUsers.affected.refresh_failure).toBeLessThanOrEqual(summary.realUsers.failures);
      expect(stdout).toMatch(/users affected: \d+ with a failed refresh/);

      expect(cls(summary, 'monitor')!.errorCodes.ERR_MISSING_SESSION).toBeGreaterThan(0);
      expect(cls(summary, 'bot')!.errorCodes.ERR_MISSING_SESSION).toBeGreaterThan(0);
      expect(cls(summary, 'cli')!.errorCodes.ERR_MISSING_SESSION).toBeGreaterThan(0);
      expect(cls(summary, 'prefetch')!.middlewareRuns.pass).toBeGreaterThan(0);
      expect(summary.noise.share).toBeGreaterThan(0.5);

      // Session age grows while users browse: the median is well past the first seconds.
      expect(summary.sessionAge.count).toBeGreaterThan(20);
      expect(summary.sessionAge.p50).toBeGreaterThan(5);
      expect(summary.sessionAge.p99!).toBeGreaterThanOrEqual(summary.sessionAge.p50!);

      expect(verdict.evaluated).toBe(true);
      if (verdict.evaluated) {
        expect(verdict.rules.map((r) => r.alert)).toContain('AuthRealUserRefreshFailureBurn');
        expect(verdict.firing.map((r) => r.alert)).not.toContain('AuthMiddlewareErrors');
      }
      expect(Object.keys(report.failures)).toEqual([]);
      expect(stdout).toMatch(/Real users: \d+ token refreshes, \d+ failed/);
      expect(stdout).toMatch(/VERDICT: on-call would/);
      expect(summary.instrumentationErrors).toBe(0);
    },
    DEMO_TIMEOUT_MS,
  );

  it(
    'an IdP outage halfway through pages on-call through the real-user burn-rate alert',
    async () => {
      const { stdout, report } = await runDemo('--duration', '40', '--users', '4', '--scenario', 'idp-outage');
      expect(report.summary.realUsers.failureRatio).toBeGreaterThan(0.2);
      // The IdP answers 503: every failure is transient (the revoked user's invalid_grant, if it came first, terminal).
      const kinds = report.summary.realUsers.failureKinds;
      expect(kinds.transient).toBeGreaterThan(kinds.terminal ?? 0);
      expect(stdout).toMatch(/transient [1-9]\d*\)/);
      expect(report.verdict.evaluated).toBe(true);
      if (report.verdict.evaluated) {
        expect(report.verdict.firing.map((r) => r.alert)).toContain('AuthRealUserRefreshFailureBurn');
        expect(report.verdict.pages).toBe(true);
      }
      expect(stdout).toContain('VERDICT: on-call would be PAGED');
    },
    DEMO_TIMEOUT_MS,
  );

  it(
    'three instances behind a round-robin balancer: each exports under its own identity, the totals add up, the verdict sums across them',
    async () => {
      const { stdout, report } = await runDemo('--duration', '45', '--users', '4', '--instances', '3');
      const { summary, instances, verdict } = report;

      // Every process served traffic; each runtime in it exported under its own service.instance.id.
      expect(report.balancer).toHaveLength(3);
      for (const served of report.balancer!) expect(served).toBeGreaterThan(20);
      expect(new Set(instances.instances.map((i) => i.pod))).toEqual(new Set(['app-1', 'app-2', 'app-3']));
      expect(new Set(instances.instances.map((i) => i.instanceId)).size).toBe(instances.instances.length);
      for (const pod of ['app-1', 'app-2', 'app-3']) {
        const edge = instances.instances.filter((i) => i.pod === pod && i.runtimes.includes('edge'));
        expect(edge, `${pod}'s Edge middleware`).toHaveLength(1);
        expect(edge[0]!.middlewareRuns).toBeGreaterThan(0);
      }
      // No session affinity: users' refreshes happened on more than one process.
      expect(new Set(instances.instances.filter((i) => i.refreshes > 0).map((i) => i.pod)).size).toBeGreaterThan(1);

      // The per-instance counts add up to the totals the per-class summary computed from the same OTLP.
      const sum = (pick: (c: DemoSummary['classes'][number]) => Record<string, number>) =>
        summary.classes.reduce((n, c) => n + Object.values(pick(c)).reduce((a, b) => a + b, 0), 0);
      expect(instances.total.refreshes).toBe(sum((c) => c.refreshes));
      expect(instances.total.middlewareRuns).toBe(sum((c) => c.middlewareRuns));
      expect(instances.total.refreshes).toBe(instances.instances.reduce((n, i) => n + i.refreshes, 0));
      expect(summary.realUsers.failureCodes.invalid_grant).toBeGreaterThan(0);

      expect(verdict.evaluated).toBe(true);
      if (verdict.evaluated) {
        expect(verdict.instances).toBe(instances.instances.length);
        expect(verdict.firing.map((r) => r.alert)).not.toContain('AuthMiddlewareErrors');
      }
      expect(Object.keys(report.failures)).toEqual([]);
      expect(summary.instrumentationErrors).toBe(0);
      expect(stdout).toMatch(/round-robin over http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+/);
      expect(stdout).toContain('Per instance');
      expect(stdout).toMatch(/auth\.middleware\.runs\s+\d+ \/ \d+/);
    },
    DEMO_TIMEOUT_MS,
  );

  it(
    'an IdP outage pages on-call from the sum over three instances',
    async () => {
      const { stdout, report } = await runDemo('--duration', '40', '--users', '4', '--scenario', 'idp-outage', '--instances', '3');
      expect(report.summary.realUsers.failureRatio).toBeGreaterThan(0.2);
      expect(new Set(report.instances.instances.filter((i) => i.refreshFailures > 0).map((i) => i.pod)).size).toBeGreaterThan(1);
      expect(report.verdict.evaluated && report.verdict.pages).toBe(true);
      expect(stdout).toContain('VERDICT: on-call would be PAGED');
    },
    DEMO_TIMEOUT_MS,
  );

  it(
    'Ctrl-C stops the app, the IdP and the receiver: nothing keeps listening',
    async () => {
      const child = spawn(join(REPOSITORY_ROOT, 'node_modules/.bin/tsx'), ['scripts/demo/main.ts', '--duration', '120'], {
        cwd: REPOSITORY_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let stdout = '';
      const progressed = new Promise<void>((resolve) =>
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
          if (/\[\s+10 s \//.test(stdout)) resolve();
        }),
      );
      await progressed;
      const urls = [...stdout.matchAll(/(?:IdP \(oidc-provider\)|app|OTLP receiver) (http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]!);
      expect(urls).toHaveLength(3);
      for (const url of urls) expect((await fetch(url).catch(() => undefined)) !== undefined).toBe(true);

      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      children.delete(child);
      expect(code).toBe(130);
      for (const url of urls) {
        const error = await fetch(url).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error, `${url} still answers after Ctrl-C`).toBeInstanceOf(Error);
      }
    },
    DEMO_TIMEOUT_MS,
  );
});
