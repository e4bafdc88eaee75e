/**
 * Alert rules under promtool: `promtool check rules` and the scenario tests in
 * dashboards/prometheus/tests/, plus negative controls showing the scenarios catch a rule that
 * loses its user-agent class filter or its traffic guard, or sums per instance instead of per job.
 *
 * promtool comes from Debian's `prometheus` package (2.42). Without it the suite fails in CI and is
 * skipped, with the reason printed, elsewhere.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_NAMES, allAlerts } from '../dashboards/src/alerts.js';
import { PATHS, buildAll, resolveOptions, type BuildOptions } from '../dashboards/src/index.js';
import { THREE_REPLICAS_FILE, scenarioFiles, scenarios } from '../dashboards/src/promtool/scenarios.js';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

function promtoolVersion(): string | undefined {
  const r = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).split('\n')[0] : undefined;
}

const version = promtoolVersion();
if (version === undefined) {
  const reason = `promtool not found (${PROMTOOL}); install Debian's "prometheus" package or set PROMTOOL`;
  if (process.env.CI) throw new Error(`${reason}. It is required in CI.`);
  console.warn(`test/alerts.test.ts skipped: ${reason}`);
}
const describeWithPromtool = version === undefined ? describe.skip : describe;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Writes a generated set to a temporary directory. Scenario files include the Grafana equivalence
 * checks: each Grafana rule's inline expression must return what the recorded Prometheus rule returns.
 */
function generate(overrides: Partial<BuildOptions> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'nextjs-auth-otel-alerts-'));
  dirs.push(dir);
  const files = buildAll(overrides);
  for (const [file, content] of Object.entries(scenarioFiles(resolveOptions(overrides), { grafanaEquivalence: true }))) {
    files[`${PATHS.promtoolTests}/${file}`] = content;
  }
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

function promtool(cwd: string, ...args: string[]) {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

const rulesDir = (root: string) => join(root, dirname(PATHS.prometheusRules));
const testFile = (file: string) => `tests/${file}`;

/** A scenario's expectations, read back from the generated promtool file. */
function expectations(root: string, file: string) {
  const doc = parse(readFileSync(join(rulesDir(root), testFile(file)), 'utf8')) as {
    tests: { alert_rule_test: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[] }[];
  };
  return doc.tests.flatMap((t) => t.alert_rule_test);
}

type AlertCheck = { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] };

/** Each scenario group's name, input series and alert checks, read back from a generated promtool file. */
function groupsOf(root: string, file: string) {
  const doc = parse(readFileSync(join(rulesDir(root), testFile(file)), 'utf8')) as {
    tests: { name: string; input_series: { series: string; values: string }[]; alert_rule_test: AlertCheck[] }[];
  };
  return doc.tests;
}

/** The pages a failed `promtool test rules` run expected and did not get, as `alert at time in group`. */
function missedPages(output: string): string[] {
  return output
    .split(/\n\s+name: /)
    .slice(1)
    .filter((block) => /got:\[\]/.test(block))
    .map((block) => {
      const [, alert, time] = /alertname: (\w+), time: (\w+)/.exec(block)!;
      return `${alert} at ${time} in ${block.slice(0, block.indexOf(',\n'))}`;
    });
}

describeWithPromtool(`alert rules under ${version?.split(' (')[0]}`, () => {
  const root = generate();

  it('promtool check rules accepts prometheus-rules.yaml', () => {
    const r = promtool(rulesDir(root), 'check', 'rules', 'prometheus-rules.yaml');
    expect(r.output).toContain('SUCCESS');
    expect(r.status, r.output).toBe(0);
  });

  it('every alert carries severity, summary, description and runbook_url, and each recording rule precedes its alerts', () => {
    const doc = parse(readFileSync(join(root, PATHS.prometheusRules), 'utf8')) as {
      groups: { name: string; rules: Record<string, unknown>[] }[];
    };
    const alerts = doc.groups.flatMap((g) => g.rules.filter((r) => 'alert' in r));
    expect(alerts.map((a) => a.alert).sort()).toEqual(Object.values(ALERT_NAMES).sort());
    for (const a of alerts) {
      expect(Object.keys(a.labels as object)).toContain('severity');
      expect(Object.keys(a.annotations as object).sort()).toEqual(['description', 'runbook_url', 'summary']);
    }
    for (const g of doc.groups) {
      const firstAlert = g.rules.findIndex((r) => 'alert' in r);
      const records = g.rules.filter((r) => 'record' in r).map((r) => r.record as string);
      if (firstAlert >= 0)
        expect(
          g.rules.slice(firstAlert).some((r) => 'record' in r),
          g.name,
        ).toBe(false);
      // Alerts read only recording rules of their own group (same evaluation, no lag).
      for (const a of g.rules.filter((r) => 'alert' in r)) {
        for (const used of String(a.expr).match(/\b\w+:\w+:\w+\b|\b\w+:\w+\b/g) ?? []) {
          if (used.includes(':')) expect(records, `${a.alert} uses ${used}`).toContain(used);
        }
      }
    }
  });

  it('AuthRealUserRefreshFailureBurn is the 1h/5m x14.4 and 6h/30m x6 burn rate on the browser class with a traffic guard', () => {
    const rules = readFileSync(join(root, PATHS.prometheusRules), 'utf8');
    for (const w of ['5m', '30m', '1h', '6h']) {
      expect(rules).toContain(`rate(auth_token_refreshes_total{auth_user_agent_class="browser", auth_outcome="failure"}[${w}])`);
    }
    expect(rules).toMatch(/rate1h > on\(\) group_left\(\) \(14\.4 \*/);
    expect(rules).toMatch(/rate6h > on\(\) group_left\(\) \(6 \*/);
    expect(rules).toContain('expr: vector(0.99)');
    expect(rules).toContain('browser_increase1h >= 100)');
  });

  for (const sc of scenarios(resolveOptions())) {
    it(`scenario ${sc.file}: ${sc.title}`, () => {
      const r = promtool(rulesDir(root), 'test', 'rules', testFile(sc.file));
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS');
    });
  }

  it('the scenarios assert what the issue asks: storm pages nobody, 10 % for 20 min pages, low traffic is silent', () => {
    const critical = Object.values(ALERT_NAMES).filter((n) => allAlerts(resolveOptions()).find((a) => a.alert === n)?.severity === 'critical');
    const storm = expectations(root, 'bot-storm.yaml');
    for (const name of critical) {
      const checks = storm.filter((t) => t.alertname === name);
      expect(checks.length).toBeGreaterThanOrEqual(4);
      expect(checks.every((t) => t.exp_alerts.length === 0)).toBe(true);
    }
    expect(storm.some((t) => t.alertname === ALERT_NAMES.noise && t.exp_alerts[0]?.exp_labels.severity === 'info')).toBe(true);

    const burn = expectations(root, 'real-user-burn.yaml');
    expect(burn).toContainEqual(
      expect.objectContaining({
        eval_time: '20m',
        alertname: ALERT_NAMES.burn,
        exp_alerts: [expect.objectContaining({ exp_labels: { job: 'shop', severity: 'critical' } })],
      }),
    );

    const low = expectations(root, 'low-traffic.yaml');
    expect(low.length).toBeGreaterThan(0);
    expect(low.every((t) => t.exp_alerts.length === 0)).toBe(true);
  });

  it(`${THREE_REPLICAS_FILE} mirrors every one-instance group on three replicas (a counter reset, a series going stale) with the same pages`, () => {
    const three = groupsOf(root, THREE_REPLICAS_FILE);
    const pages = (checks: AlertCheck[]) => checks.map((c) => [c.eval_time, c.alertname, c.exp_alerts.map((a) => a.exp_labels)]);
    const oneInstanceFiles = scenarios(resolveOptions())
      .map((sc) => sc.file)
      .filter((f) => f !== THREE_REPLICAS_FILE);
    for (const group of oneInstanceFiles.flatMap((f) => groupsOf(root, f))) {
      const mirror = three.find((g) => g.name.endsWith(`: ${group.name}`));
      expect(mirror, group.name).toBeDefined();
      expect(pages(mirror!.alert_rule_test), group.name).toEqual(pages(group.alert_rule_test));
      const instances = new Set(mirror!.input_series.map((s) => /instance="([^"]+)"/.exec(s.series)![1]));
      expect(instances.size, group.name).toBe(3);
      expect(
        mirror!.input_series.some((s) => s.values.endsWith(' stale')),
        group.name,
      ).toBe(true);
      // A run that starts again from 0 after the first: a restart.
      expect(
        mirror!.input_series.some((s) => / 0\+/.test(s.values)),
        group.name,
      ).toBe(true);
    }
    expect(three.length).toBe(oneInstanceFiles.flatMap((f) => groupsOf(root, f)).length + 1);
  });

  describe('negative controls: the scenarios fail when a safeguard is removed', () => {
    it('without the browser-class filter the bot/monitor storm pages (bot-storm.yaml goes red)', () => {
      const variant = generate({ dropClassFilter: true });
      const rules = readFileSync(join(variant, PATHS.prometheusRules), 'utf8');
      expect(rules).not.toMatch(/auth_token_refreshes_total\{auth_user_agent_class="browser"/);
      expect(promtool(rulesDir(variant), 'check', 'rules', 'prometheus-rules.yaml').status).toBe(0);

      const storm = promtool(rulesDir(variant), 'test', 'rules', testFile('bot-storm.yaml'));
      expect(storm.status).not.toBe(0);
      expect(storm.output).toContain(`alertname: ${ALERT_NAMES.burn}`);
      expect(storm.output).toMatch(/got:\[\s*0:\s*Labels:\{alertname="AuthRealUserRefreshFailureBurn", job="shop", severity="critical"\}/);
      // Only the storm goes red: the rules still page on real-user failures.
      expect(promtool(rulesDir(variant), 'test', 'rules', testFile('real-user-burn.yaml')).status).toBe(0);
      expect(promtool(rulesDir(variant), 'test', 'rules', testFile('low-traffic.yaml')).status).toBe(0);
    });

    it('without the traffic guard a trickle of failures pages (low-traffic.yaml goes red)', () => {
      const variant = generate({ dropTrafficGuard: true });
      const rules = readFileSync(join(variant, PATHS.prometheusRules), 'utf8');
      expect(rules).not.toContain('browser_increase1h >=');
      expect(promtool(rulesDir(variant), 'check', 'rules', 'prometheus-rules.yaml').status).toBe(0);

      const low = promtool(rulesDir(variant), 'test', 'rules', testFile('low-traffic.yaml'));
      expect(low.status).not.toBe(0);
      expect(low.output).toContain(`alertname: ${ALERT_NAMES.burn}`);
      expect(low.output).toContain('fail at 100% (long window)');
      expect(promtool(rulesDir(variant), 'test', 'rules', testFile('bot-storm.yaml')).status).toBe(0);
    });

    it("summed per instance (by (job, instance)) the rules miss the pages only the job's sum triggers (three-replicas.yaml goes red)", () => {
      const variant = generate({ perInstance: true });
      const rules = readFileSync(join(variant, PATHS.prometheusRules), 'utf8');
      expect(rules).toContain('sum by (job, instance) (rate(auth_token_refreshes_total');
      expect(promtool(rulesDir(variant), 'check', 'rules', 'prometheus-rules.yaml').status).toBe(0);

      const r = promtool(rulesDir(variant), 'test', 'rules', testFile(THREE_REPLICAS_FILE));
      expect(r.status).not.toBe(0);
      const missed = missedPages(r.output);
      // The job passes the traffic guard, no replica does.
      expect(missed).toContainEqual(expect.stringMatching(new RegExp(`^${ALERT_NAMES.burn} at 45m in .*traffic guard`)));
      // 7.5 middleware errors in 5 minutes over the job; fewer than 5 on each replica.
      expect(missed).toContainEqual(expect.stringMatching(new RegExp(`^${ALERT_NAMES.middleware} at 30m in .*just above the minimum`)));
      // Failures that moved between replicas cross both windows only in the job's sum.
      expect(missed).toContainEqual(expect.stringMatching(new RegExp(`^${ALERT_NAMES.burn} at 6h40m in Failures move between replicas`)));
      // With one instance the same rules only add an instance label: no page is missed.
      for (const file of ['real-user-burn.yaml', 'middleware-errors.yaml']) {
        const one = promtool(rulesDir(variant), 'test', 'rules', testFile(file));
        expect(one.output).toContain('instance="shop-7f9c4d-x2k8p"');
        expect(missedPages(one.output)).toEqual([]);
      }
    });
  });

  it('session-cookie-size.yaml goes red when the cookie alert counts chunked cookies or bots (its negative control catches both)', () => {
    const rulesFile = join(rulesDir(root), 'prometheus-rules.yaml');
    const rules = readFileSync(rulesFile, 'utf8');
    const cookieRule = rules.slice(rules.indexOf(`alert: ${ALERT_NAMES.cookieSize}`) - 200, rules.indexOf(`alert: ${ALERT_NAMES.cookieSize}`) + 1200);
    expect(cookieRule).toContain('le="6144"');
    const variants = {
      // Alerting at one cookie's 4 KiB instead of near the header limit: chunked sessions would page.
      atOneCookie: rules.replaceAll(
        'auth_session_cookie_size_bytes_bucket{auth_user_agent_class="browser", le="6144"}',
        'auth_session_cookie_size_bytes_bucket{auth_user_agent_class="browser", le="4096"}',
      ),
      // Without the class filter, crawlers replaying huge cookies would.
      allClasses: rules.replaceAll('auth_session_cookie_size_bytes_count{auth_user_agent_class="browser"}', 'auth_session_cookie_size_bytes_count'),
    };
    for (const [name, mutated] of Object.entries(variants)) {
      expect(mutated, name).not.toBe(rules);
      const dir = generate();
      writeFileSync(join(rulesDir(dir), 'prometheus-rules.yaml'), mutated);
      const r = promtool(rulesDir(dir), 'test', 'rules', testFile('session-cookie-size.yaml'));
      expect(r.status, name).not.toBe(0);
      expect(r.output, name).toContain(`alertname: ${ALERT_NAMES.cookieSize}`);
      expect(r.output, name).toContain('Negative control');
    }
  });

  it('the SLO is configurable: --slo=0.995 regenerates every rule and the scenarios still hold', () => {
    const variant = generate({ slo: 0.995 });
    const rules = readFileSync(join(variant, PATHS.prometheusRules), 'utf8');
    expect(rules).toContain('expr: vector(0.995)');
    expect(readFileSync(join(variant, PATHS.grafanaAlerts), 'utf8')).toContain('> 0.072)');
    expect(readFileSync(join(variant, PATHS.datadogMonitors), 'utf8')).toContain('> 0.072"');
    expect(promtool(rulesDir(variant), 'check', 'rules', 'prometheus-rules.yaml').status).toBe(0);
    for (const sc of scenarios(resolveOptions({ slo: 0.995 }))) {
      const r = promtool(rulesDir(variant), 'test', 'rules', testFile(sc.file));
      expect(r.status, `${sc.file}\n${r.output}`).toBe(0);
    }
  });
});
