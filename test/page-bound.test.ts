import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES } from '../dashboards/src/alerts.js';
import { parse } from 'yaml';
import { PATHS } from '../dashboards/src/index.js';
import { SHIPPED_RULES, scrapeConfigs } from '../scripts/demo/live/stack.js';
import { formatDuration, pageBound } from '../scripts/demo/live/page-bound.js';
import { REPOSITORY_ROOT } from '../testkit/example-app.js';

const shipped = readFileSync(SHIPPED_RULES, 'utf8');
const inputs = { alert: ALERT_NAMES.burn, scrapeIntervalSeconds: 5, firstFailure: { seconds: 4, why: 'next refresh' }, healthySeconds: 60 };

describe('the page bound', () => {
  it('comes from the rules file Prometheus runs: its group interval, for:, SLO and burn factor', () => {
    const bound = pageBound({ ...inputs, rulesYaml: shipped });
    expect(bound.evaluationIntervalSeconds).toBe(60);
    expect(bound.forSeconds).toBe(120);
    expect(bound.threshold).toBeCloseTo(14.4 * 0.01);
    // 4 + ceil(0.144/0.856 × 60) + 2 × 5 + 60 + 120 + group_wait 30 + 10
    expect(bound.seconds).toBe(4 + 11 + 10 + 60 + 120 + 30 + 10);
  });

  it('follows the file: a longer for:, a slower group or a stricter SLO changes it', () => {
    const base = pageBound({ ...inputs, rulesYaml: shipped }).seconds;
    const longerFor = shipped.replace(/(alert: AuthRealUserRefreshFailureBurn[\s\S]*?for: )2m/, '$15m');
    expect(pageBound({ ...inputs, rulesYaml: longerFor }).seconds).toBe(base + 180);
    const slowerGroup = shipped.replace('interval: 1m', 'interval: 2m');
    // One more minute until the next evaluation; for: 2m is then a single 2m evaluation step.
    expect(pageBound({ ...inputs, rulesYaml: slowerGroup }).seconds).toBe(base + 60);
    const stricter = shipped.replace('vector(0.99)', 'vector(0.999)');
    expect(pageBound({ ...inputs, rulesYaml: stricter }).threshold).toBeCloseTo(0.0144);
    expect(() => pageBound({ ...inputs, rulesYaml: shipped, alert: 'NoSuchAlert' })).toThrow(/NoSuchAlert is not in the rules file/);
  });

  it('is printed the way the demo prints times', () => {
    expect(formatDuration(252)).toBe('4m12s');
    expect(formatDuration(45)).toBe('45s');
  });
});

describe('npm run demo -- --prometheus without the servers', () => {
  it('says how to install them and exits with status 1 before starting anything', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/main.ts', '--prometheus'], {
      cwd: REPOSITORY_ROOT,
      env: { ...process.env, PROMETHEUS: '/nonexistent/prometheus', ALERTMANAGER: '/nonexistent/alertmanager' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/needs prometheus and alertmanager .*not found: install them with `sudo apt-get install prometheus prometheus-alertmanager`/);
    // Nothing started: not even the first line of a run.
    expect(run.stdout).toBe('');
  });
});

describe('the live stack', () => {
  it('fills in only the job name and the targets of the shipped scrape configuration', () => {
    const shipped = (parse(readFileSync(`${REPOSITORY_ROOT}/${PATHS.jsExporterScrape}`, 'utf8')) as { scrape_configs: Record<string, unknown>[] })
      .scrape_configs[0]!;
    const [a, b] = scrapeConfigs([
      { job: 'shop', targets: ['10.0.0.1:9464', '10.0.0.2:9464'] },
      { job: 'admin', targets: ['10.0.0.3:9464'] },
    ]) as Record<string, unknown>[];
    expect(a).toEqual({ ...shipped, job_name: 'shop', static_configs: [{ targets: ['10.0.0.1:9464', '10.0.0.2:9464'] }] });
    expect(b).toMatchObject({ job_name: 'admin', metric_relabel_configs: shipped.metric_relabel_configs });
  });
});
