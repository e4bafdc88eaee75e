/**
 * Smoke test of `npm run bench:e2e`: a short run of two variants (no telemetry, the quick start)
 * must build, serve, measure and report, and what it measures must be plausible: nothing exported
 * without telemetry, the plugin's spans with it, every request answered.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../testkit/example-app.js';
import type { Run, Verdict } from '../../bench/e2e/report.js';

describe('npm run bench:e2e', () => {
  it('runs a short benchmark end to end and reports per-request figures and the targets', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'bench-e2e-')), 'result.json');
    const args = ['--variants', 'off,default', '--duration', '2', '--rounds', '1', '--kinds', 'browser,monitor', '--memory', '20000', '--json', json];
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/e2e/main.ts', ...args], {
      cwd: REPOSITORY_ROOT,
      timeout: 600_000,
      maxBuffer: 16 << 20,
    });
    expect(stdout).toContain('| request | variant | req/s |');
    const { runs, verdicts } = JSON.parse(readFileSync(json, 'utf8')) as { runs: Run[]; verdicts: Verdict[] };
    expect(runs).toHaveLength(4);
    for (const run of runs) {
      expect(run.load.failures, `${run.variant} / ${run.kind}`).toBe(0);
      expect(run.load.requests).toBeGreaterThan(0);
      expect(run.load.cpuMsPerRequest).toBeGreaterThan(0);
    }
    const of = (variant: string, kind: string) => runs.find((r) => r.variant === variant && r.kind === kind)!;
    expect(of('off', 'browser').bytes).toBe(0);
    // The quick start's middleware, getAccessToken, touchSession and the page's getSession: four plugin spans a request.
    expect(of('default', 'browser').pluginSpans / of('default', 'browser').load.requests).toBeCloseTo(4, 0);
    expect(of('default', 'monitor').spans).toBeGreaterThan(of('default', 'monitor').pluginSpans);
    expect(verdicts.map((v) => v.target)).toContain('heap growth over 20000 requests after a forced GC ≤ 5 MB');
    expect(stdout).toMatch(/\| (met|not met) \|/);
  }, 900_000);
});
