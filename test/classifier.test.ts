import crawlers from 'crawler-user-agents';
import { isbot } from 'isbot';
import UserAgent from 'user-agents';
import { describe, expect, it } from 'vitest';
import { USER_AGENT_CLASSES, type UserAgentClass } from '../src/core/telemetry/catalog.js';
import { MAX_USER_AGENT_LENGTH, classifyRequest, createClassifier, syntheticTypeOf, type Classification } from '../src/core/classification/classifier.js';
import type { HeaderSource } from '../src/core/parsing/headers.js';
import { SIGNAL_HEADER_NAMES } from '../src/core/classification/header-signals.js';
import {
  CLI_USER_AGENTS,
  MONITOR_HEADER_RULES,
  MONITOR_USER_AGENTS,
  PLAIN_BROWSER_USER_AGENT,
  PREFETCH_HEADER_RULES,
} from '../src/core/classification/user-agent-signatures.js';
import { CHROME_LINUX, CHROME_WIN, buildCorpus, RELABELLED_PATTERNS } from './fixtures/ua-corpus.js';

const corpus = buildCorpus();

type Score = { cls: UserAgentClass; support: number; predicted: number; tp: number; precision: number; recall: number };

function score(results: readonly { expected: UserAgentClass; actual: UserAgentClass }[]): Score[] {
  return USER_AGENT_CLASSES.map((cls) => {
    const support = results.filter((r) => r.expected === cls).length;
    const predicted = results.filter((r) => r.actual === cls).length;
    const tp = results.filter((r) => r.expected === cls && r.actual === cls).length;
    return {
      cls,
      support,
      predicted,
      tp,
      precision: predicted === 0 ? (support === 0 ? 1 : 0) : tp / predicted,
      recall: support === 0 ? 1 : tp / support,
    };
  });
}

function table(scores: readonly Score[]): string {
  const rows = scores.map(
    (s) =>
      `${s.cls.padEnd(9)} ${String(s.support).padStart(7)} ${String(s.predicted).padStart(9)} ${String(s.tp).padStart(5)} ` +
      `${s.precision.toFixed(4).padStart(9)} ${s.recall.toFixed(4).padStart(7)}`,
  );
  return ['class     support predicted    tp precision  recall', ...rows].join('\n');
}

describe('signature tables', () => {
  it('the plain-record shortcut names exactly the headers of the prefetch and monitor rules, and each one still classifies', () => {
    const tableHeaders = [...PREFETCH_HEADER_RULES, ...MONITOR_HEADER_RULES].map((rule) => rule.header);
    expect(new Set(SIGNAL_HEADER_NAMES)).toEqual(new Set(tableHeaders));
    const classify = createClassifier({ cacheSize: 0 });
    const valueFor: Record<string, string> = {
      'x-datadog-origin': 'synthetics',
      'x-abuse-info': 'synthetic monitor',
      purpose: 'prefetch',
      'sec-purpose': 'prefetch',
    };
    for (const header of tableHeaders) {
      const record = { 'user-agent': CHROME_LINUX, [header]: valueFor[header] ?? '1' };
      expect(classify(record), header).toEqual(classify(new Headers(record)));
      expect(classify(record).class, header).not.toBe('browser');
    }
  });

  const tables = { MONITOR_USER_AGENTS, CLI_USER_AGENTS };

  /** A `|` outside any group or character class would split the table's joined alternation. */
  function hasTopLevelAlternation(source: string): boolean {
    let depth = 0;
    let inClass = false;
    for (let i = 0; i < source.length; i++) {
      const ch = source[i];
      if (ch === '\\') i++;
      else if (inClass) inClass = ch !== ']';
      else if (ch === '[') inClass = true;
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
      else if (ch === '|' && depth === 0) return true;
    }
    return false;
  }

  for (const [name, signatures] of Object.entries(tables)) {
    it(`${name}: case-insensitive, joinable, stable rule names`, () => {
      for (const { rule, pattern } of signatures) {
        expect(pattern.flags, rule).toBe('i');
        expect(hasTopLevelAlternation(pattern.source), rule).toBe(false);
        expect(rule).toMatch(/^ua:[a-z0-9-]+$/);
      }
    });
  }

  it('header rules use lower-case names and stable rule names', () => {
    for (const { rule, header } of [...PREFETCH_HEADER_RULES, ...MONITOR_HEADER_RULES]) {
      expect(header).toBe(header.toLowerCase());
      expect(rule).toMatch(/^(prefetch|header):[a-z0-9-]+$/);
    }
  });

  it('covers every monitor and CLI named in the facts', () => {
    const classify = createClassifier();
    const monitors = [
      'Datadog/Synthetics',
      'kube-probe/1.29',
      'ELB-HealthChecker/2.0',
      'Amazon-Route53-Health-Check-Service (ref x)',
      'CloudWatchSynthetics/arn',
      'GoogleHC/1.0',
      'GoogleStackdriverMonitoring-UptimeChecks(https://x)',
      'Edge Health Probe',
      'AlwaysOn',
      'HealthCheck/1.0',
      'Azure Traffic Manager Endpoint Monitor',
      'x AppInsights',
      'Pingdom.com_bot_version_1.4_(x)',
      'Mozilla/5.0 (compatible; pingbot/2.0)',
      'UptimeRobot/2.0',
      'StatusCake_Uptime_Checker/1.0',
      'Mozilla/5.0 (StatusCake)',
      'Better Stack Better Uptime Bot',
      'Checkly/1.0',
      'Mozilla/5.0 (Checkly, https://www.checklyhq.com)',
      'Site24x7',
      'Catchpoint',
      'RuxitSynthetic/1.0',
      'synthetic-monitoring-agent/v0.1',
      'Grafana k6/0.50.0',
      'k6/0.45.0',
      'Blackbox Exporter/0.24.0',
      'Uptime-Kuma/1.23.0',
      'Cloudflare-Healthchecks/1.0',
      'Cloudflare-Traffic-Manager/1.0',
      'SentryUptimeBot/1.0',
      'OhDear/1.1',
      'FreshpingBot/1.0',
      'Zabbix',
      'PRTG Network Monitor',
      'Consul Health Check',
      'vercel-screenshot-bot',
      'vercel-favicon-bot',
      `${CHROME_LINUX} NewRelicSynthetics/1.0`,
      `${CHROME_LINUX} DatadogSynthetics`,
    ];
    for (const ua of monitors) expect(classify({ 'user-agent': ua }).class, ua).toBe('monitor');
    const clis = [
      'curl/8.7.1',
      'Wget/1.21',
      'python-requests/2.32.3',
      'python-httpx/0.27.0',
      'Python/3.12 aiohttp/3.9.5',
      'Go-http-client/1.1',
      'node',
      'undici',
      'axios/1.7.2',
      'okhttp/4.12.0',
      'Java/17.0.10',
      'Apache-HttpClient/4.5.14 (Java/17)',
      'PostmanRuntime/7.39.0',
      'insomnia/9.2.0',
      'HTTPie/3.2.2',
      'libwww-perl/6.77',
      'Ruby',
      'Faraday v2.9.0',
      'got (https://github.com/sindresorhus/got)',
      'node-fetch',
      'Deno/1.44.4',
      'Bun/1.1.17',
      'Python-urllib/3.12',
      'Dart/3.4 (dart:io)',
      'reqwest/0.12.5',
      'Python/3.11',
      'PycURL/7.45.3 libcurl/8.6.0',
      'lwp-request/6.77 libwww-perl/6.77',
    ];
    for (const ua of clis) expect(classify({ 'user-agent': ua }).class, ua).toBe('cli');
  });
});

describe('labelled corpus', () => {
  it('is large and covers every class', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    for (const cls of USER_AGENT_CLASSES)
      expect(
        corpus.some((e) => e.expected === cls),
        cls,
      ).toBe(true);
    const patterns = new Set(crawlers.map((c) => c.pattern));
    expect(RELABELLED_PATTERNS.filter((p) => !patterns.has(p))).toEqual([]);
  });

  it('meets the precision and recall targets per class', () => {
    const classify = createClassifier();
    const results = corpus.map((e) => ({ ...e, actual: classify(e.headers).class, rule: classify(e.headers).rule }));
    const scores = score(results);
    const misses = results
      .filter((r) => r.actual !== r.expected)
      .map((r) => `  ${r.expected} -> ${r.actual} (${r.rule}) [${r.source}] ${JSON.stringify(r.headers).slice(0, 160)}`);
    console.log(`\nUser-agent classifier, ${results.length} labelled requests\n${table(scores)}\n\nMisclassified:\n${misses.join('\n')}\n`);

    const target: Record<UserAgentClass, { precision: number; recall: number }> = {
      monitor: { precision: 0.98, recall: 0.98 },
      cli: { precision: 0.98, recall: 0.98 },
      prefetch: { precision: 0.98, recall: 0.98 },
      browser: { precision: 0.98, recall: 0.98 },
      bot: { precision: 0.95, recall: 0.95 },
      // Precision relaxed: the corpus holds one real 4-character crawler UA ("ZmEu", a vulnerability
      // scanner) that the "shorter than 5 characters is unknown" rule classifies as unknown (isbot
      // flags every short string, so it cannot tell). Against only 7 labelled unknowns that single
      // entry caps precision at 7/8; the next test pins it to exactly that case.
      unknown: { precision: 0.85, recall: 0.98 },
    };
    for (const s of scores) {
      expect(s.precision, `${s.cls} precision`).toBeGreaterThanOrEqual(target[s.cls].precision);
      expect(s.recall, `${s.cls} recall`).toBeGreaterThanOrEqual(target[s.cls].recall);
    }
  });

  it('only calls something unknown when its user agent is missing, blank or shorter than 5 characters', () => {
    const classify = createClassifier();
    for (const e of corpus) {
      const r = classify(e.headers);
      if (r.class !== 'unknown') continue;
      const ua = (e.headers['user-agent'] ?? '').trim();
      expect(ua.length < 5 || ua === '-', JSON.stringify(e.headers)).toBe(true);
    }
  });

  /**
   * The rules as documented, evaluated the slow, obvious way: every signature on its own over the
   * whole (cut) user agent, the leftmost match winning and ties going to the earlier row, anchored
   * signatures first; then isbot. The classifier's joined alternations, sticky rule lookup and
   * plain-browser shortcut must give exactly the same answers.
   */
  function reference(raw: string): { class: UserAgentClass; rule: string } {
    const ua = raw.slice(0, MAX_USER_AGENT_LENGTH).trim();
    if (ua === '' || ua === '-') return { class: 'unknown', rule: 'empty-ua' };
    for (const [cls, signatures] of [
      ['monitor', MONITOR_USER_AGENTS],
      ['cli', CLI_USER_AGENTS],
    ] as const) {
      for (const anchored of [true, false]) {
        let best: { rule: string; index: number } | undefined;
        for (const { rule, pattern } of signatures) {
          if (pattern.source.startsWith('^') !== anchored) continue;
          const m = pattern.exec(ua);
          if (m !== null && (best === undefined || m.index < best.index)) best = { rule, index: m.index };
        }
        if (best !== undefined) return { class: cls, rule: best.rule };
      }
    }
    if (ua.length < 5) return { class: 'unknown', rule: 'short-ua' };
    return isbot(ua) ? { class: 'bot', rule: 'isbot' } : { class: 'browser', rule: 'default' };
  }

  it('gives the same answers as the rules evaluated one by one, shortcut included', () => {
    const all = new Set<string>();
    for (const e of corpus) if (e.headers['user-agent'] !== undefined) all.add(e.headers['user-agent']);
    for (const d of UserAgent.top(Number.MAX_SAFE_INTEGER)) all.add(d.userAgent);
    for (const c of crawlers) for (const ua of c.instances) all.add(ua);
    // Signatures hidden in the one free-form part of a plain browser UA, and near-misses.
    for (const token of ['Catchpoint', 'Zabbix', 'PRTG', 'uptime', 'Rigor', 'AlwaysOn', 'AlwaysOnline', 'Googlebot', 'K']) {
      all.add(`Mozilla/5.0 (Linux; Android 10; ${token}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36`);
      all.add(`Mozilla/5.0 (Linux; U; Android 4.0.2; en-us; ${token}) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30`);
    }
    const classify = createClassifier({ cacheSize: 0 });
    let shortcut = 0;
    for (const ua of all) {
      const result = classify.userAgent(ua);
      expect(result, ua).toEqual(reference(ua));
      if (PLAIN_BROWSER_USER_AGENT.test(ua)) {
        shortcut++;
        // Unless a signature in its comment made it a monitor, isbot must agree it is a browser.
        if (result.class === 'browser') expect(isbot(ua), ua).toBe(false);
      }
    }
    // Most real browser UAs take the shortcut (that is its point); no crawler instance does.
    expect(shortcut).toBeGreaterThan(800);
    for (const c of crawlers) for (const ua of c.instances) expect(PLAIN_BROWSER_USER_AGENT.test(ua), ua).toBe(false);
  });
});

describe('rule order', () => {
  const classify = createClassifier();

  it('a Datadog browser test with a Chrome UA is a monitor, not a browser', () => {
    expect(classify({ 'user-agent': `${CHROME_LINUX} DatadogSynthetics` })).toEqual({
      class: 'monitor',
      rule: 'ua:datadog-synthetics',
    });
    expect(classify({ 'user-agent': CHROME_LINUX, 'x-datadog-origin': 'synthetics-browser' })).toEqual({
      class: 'monitor',
      rule: 'header:x-datadog-origin',
    });
    expect(classify({ 'user-agent': CHROME_LINUX, 'sec-datadog': 'Request sent by a Datadog Synthetics Browser Test - test_id: abc-def-ghi' }).rule).toBe(
      'header:sec-datadog',
    );
    expect(classify({ 'user-agent': CHROME_LINUX, 'x-abuse-info': 'Request sent by a synthetic monitor - monitor id: 1' }).rule).toBe('header:x-abuse-info');
    expect(classify({ 'user-agent': CHROME_LINUX, 'x-abuse-info': 'report abuse to abuse@example.com' }).class).toBe('browser');
    expect(classify({ 'user-agent': CHROME_LINUX, 'x-datadog-origin': 'rum' }).class).toBe('browser');
  });

  it('curl is a cli even though isbot flags it', () => {
    expect(isbot('curl/8.7.1')).toBe(true);
    expect(classify({ 'user-agent': 'curl/8.7.1' })).toEqual({ class: 'cli', rule: 'ua:curl' });
  });

  it('monitors beat CLIs and bots: kube-probe and HeadlessChrome canaries', () => {
    expect(classify({ 'user-agent': 'kube-probe/1.29' })).toEqual({ class: 'monitor', rule: 'ua:kube-probe' });
    const canary =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/128.0.0.0 Safari/537.36 CloudWatchSynthetics/arn:aws:synthetics:eu-west-1:1:canary:x';
    expect(isbot(canary)).toBe(true);
    expect(classify({ 'user-agent': canary })).toEqual({ class: 'monitor', rule: 'ua:cloudwatch-synthetics' });
    expect(classify({ 'user-agent': 'curl/8.7.1', 'x-abuse-info': 'Request sent by a synthetic monitor' }).class).toBe('monitor');
  });

  it('prefetch beats monitor (headers and user agent)', () => {
    expect(classify({ 'user-agent': `${CHROME_LINUX} DatadogSynthetics`, 'sec-purpose': 'prefetch;prerender' })).toEqual({
      class: 'prefetch',
      rule: 'prefetch:sec-purpose',
    });
    expect(classify({ 'user-agent': CHROME_LINUX, 'x-datadog-origin': 'synthetics', purpose: 'prefetch' }).rule).toBe('prefetch:purpose');
    expect(classify({ 'user-agent': 'kube-probe/1.29', 'next-router-prefetch': '1' }).rule).toBe('prefetch:next-router-prefetch');
    expect(classify({ 'user-agent': 'curl/8', 'x-middleware-prefetch': '1' }).rule).toBe('prefetch:x-middleware-prefetch');
    expect(classify({ 'user-agent': CHROME_WIN, 'sec-purpose': 'PREFETCH' }).class).toBe('prefetch');
    expect(classify({ 'user-agent': CHROME_WIN, 'sec-purpose': 'prerender' }).class).toBe('browser');
  });

  it('header-proven monitors win even without a user agent; missing, blank and short UAs are unknown', () => {
    expect(classify({ 'x-datadog-origin': 'synthetics' }).class).toBe('monitor');
    expect(classify({})).toEqual({ class: 'unknown', rule: 'empty-ua' });
    expect(classify({ 'user-agent': '' }).rule).toBe('empty-ua');
    expect(classify({ 'user-agent': '-' }).rule).toBe('empty-ua');
    expect(classify({ 'user-agent': '   ' }).rule).toBe('empty-ua');
    expect(classify({ 'user-agent': 'abcd' })).toEqual({ class: 'unknown', rule: 'short-ua' });
    // Exactly what Node's fetch and Ruby's Net::HTTP send: short, but named by a CLI signature.
    expect(classify({ 'user-agent': 'node' })).toEqual({ class: 'cli', rule: 'ua:node' });
    expect(classify({ 'user-agent': 'Ruby' })).toEqual({ class: 'cli', rule: 'ua:ruby' });
    expect(classify({ 'user-agent': 'curl' })).toEqual({ class: 'cli', rule: 'ua:curl' });
  });

  it('reports crawlers through isbot and everything else as a browser', () => {
    expect(classify({ 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' })).toEqual({
      class: 'bot',
      rule: 'isbot',
    });
    expect(classify({ 'user-agent': CHROME_WIN })).toEqual({ class: 'browser', rule: 'default' });
  });
});

describe('512-character cut', () => {
  const filler = ' Safari/537.36'.repeat(40);

  it('does not see a signature that starts after character 512', () => {
    const classify = createClassifier();
    const prefix = (CHROME_WIN + filler).slice(0, MAX_USER_AGENT_LENGTH);
    const ua = `${prefix} DatadogSynthetics`;
    expect(ua.indexOf('DatadogSynthetics')).toBeGreaterThanOrEqual(MAX_USER_AGENT_LENGTH);
    expect(classify({ 'user-agent': ua }).class).not.toBe('monitor');
    expect(classify({ 'user-agent': ua })).toBe(classify({ 'user-agent': prefix }));
    // …while the same signature inside the first 512 characters is found.
    expect(classify({ 'user-agent': `${CHROME_WIN} DatadogSynthetics${filler}` }).class).toBe('monitor');
  });

  it('classifies a 100 KB user agent exactly like its first 512 characters, sharing one cache entry', () => {
    const classify = createClassifier();
    for (const base of [CHROME_WIN, 'curl/8.7.1', 'Mozilla/5.0 (compatible; Googlebot/2.1)', `${CHROME_LINUX} DatadogSynthetics`]) {
      const huge = (base + filler).padEnd(100_000, 'x');
      const head = huge.slice(0, MAX_USER_AGENT_LENGTH);
      const before = classify.cacheSize();
      const a = classify({ 'user-agent': huge });
      expect(classify({ 'user-agent': head })).toBe(a);
      expect(classify({ 'user-agent': huge.slice(0, 50_000) })).toBe(a);
      expect(classify.cacheSize()).toBe(before + 1);
    }
  });

  it('does not memoise a user agent longer than the cut: its slice would keep the whole header alive', () => {
    const classify = createClassifier();
    const huge = (CHROME_WIN + filler).padEnd(100_000, 'x');
    expect(classify({ 'user-agent': huge }).class).toBe('browser');
    expect(classify.cacheSize()).toBe(0);
  });
});

describe('options', () => {
  it('custom monitor user agents: case-insensitive substrings and RegExps, checked before the built-ins', () => {
    const classify = createClassifier({ monitorUserAgents: ['MyUptimeChecker', /^curl\/7\./g, '', 'Acme-Probe'] });
    expect(classify({ 'user-agent': 'myuptimechecker/2.0' })).toEqual({ class: 'monitor', rule: 'custom:ua:0' });
    // A global RegExp must not remember lastIndex between calls.
    for (const v of ['7.1', '7.2', '7.3']) expect(classify({ 'user-agent': `curl/${v}` }).rule).toBe('custom:ua:1');
    expect(classify({ 'user-agent': 'curl/8.7.1' }).rule).toBe('ua:curl');
    expect(classify({ 'user-agent': `${CHROME_WIN} Acme-Probe` }).rule).toBe('custom:ua:3');
    // Before the built-in monitor signatures too.
    expect(createClassifier({ monitorUserAgents: ['kube'] })({ 'user-agent': 'kube-probe/1.29' }).rule).toBe('custom:ua:0');
  });

  it('custom monitor headers: presence, substring and RegExp values, before the built-ins, after prefetch', () => {
    const classify = createClassifier({
      monitorHeaders: [
        { name: 'X-Synthetic-Check' },
        { name: 'x-probe', value: 'Uptime' },
        { name: 'x-run', value: /^canary-\d+$/ },
        { name: 'x-datadog-origin' },
      ],
    });
    expect(classify({ 'user-agent': CHROME_WIN, 'x-synthetic-check': '' })).toEqual({
      class: 'monitor',
      rule: 'custom:header:x-synthetic-check',
    });
    expect(classify({ 'user-agent': CHROME_WIN, 'x-probe': 'my-uptime-runner' }).rule).toBe('custom:header:x-probe');
    expect(classify({ 'user-agent': CHROME_WIN, 'x-probe': 'nope' }).class).toBe('browser');
    expect(classify({ 'user-agent': CHROME_WIN, 'x-run': 'canary-42' }).rule).toBe('custom:header:x-run');
    expect(classify({ 'user-agent': CHROME_WIN, 'x-run': 'canary-x' }).class).toBe('browser');
    expect(classify({ 'user-agent': CHROME_WIN, 'x-datadog-origin': 'anything' }).rule).toBe('custom:header:x-datadog-origin');
    expect(classify({ 'user-agent': CHROME_WIN, 'x-synthetic-check': '1', 'sec-purpose': 'prefetch' }).class).toBe('prefetch');
    expect(classify(new Headers({ 'User-Agent': CHROME_WIN, 'X-Synthetic-Check': '1' })).class).toBe('monitor');
  });

  it('ignores malformed options instead of throwing', () => {
    const classify = createClassifier({
      monitorUserAgents: [null, 42, undefined] as unknown as string[],
      monitorHeaders: [null, { name: 42 }, { name: '' }] as unknown as { name: string }[],
      cacheSize: -5,
    });
    expect(classify({ 'user-agent': CHROME_WIN }).class).toBe('browser');
    expect(createClassifier(undefined)({ 'user-agent': 'curl/8' }).class).toBe('cli');
  });
});

describe('cache', () => {
  const uas = Array.from({ length: 1000 }, (_, i) => `Mozilla/5.0 (compatible; ExampleBot/${i}.0)`);

  it('never holds more than cacheSize user agents', () => {
    for (const size of [1, 2, 7, 10, 64]) {
      const classify = createClassifier({ cacheSize: size });
      for (const ua of uas) {
        classify({ 'user-agent': ua });
        classify({ 'user-agent': uas[0]! }); // a hot entry, promoted again and again
        expect(classify.cacheSize()).toBeLessThanOrEqual(size);
      }
      expect(classify.cacheSize()).toBeGreaterThan(0);
    }
  });

  it('defaults to 1000 entries; 0 disables it; clearCache empties it', () => {
    const classify = createClassifier();
    for (let i = 0; i < 5000; i++) classify({ 'user-agent': `agent-${i}/1.0` });
    expect(classify.cacheSize()).toBeLessThanOrEqual(1000);
    expect(classify.cacheSize()).toBeGreaterThanOrEqual(500);
    classify.clearCache();
    expect(classify.cacheSize()).toBe(0);
    const uncached = createClassifier({ cacheSize: 0 });
    for (const ua of uas.slice(0, 10)) uncached({ 'user-agent': ua });
    expect(uncached.cacheSize()).toBe(0);
    expect(uncached({ 'user-agent': 'curl/8' })).toEqual({ class: 'cli', rule: 'ua:curl' });
  });

  it('keeps a user agent that stays in use', () => {
    const classify = createClassifier({ cacheSize: 10 });
    const hot = 'curl/8.7.1';
    classify({ 'user-agent': hot });
    for (const ua of uas) {
      classify({ 'user-agent': ua });
      classify({ 'user-agent': hot });
    }
    // Still memoised: the entry count does not move when it is asked for again.
    const size = classify.cacheSize();
    classify({ 'user-agent': hot });
    expect(classify.cacheSize()).toBe(size);
  });

  it('returns shared, frozen results', () => {
    const classify = createClassifier();
    const a = classify({ 'user-agent': CHROME_WIN });
    const b = classify({ 'user-agent': CHROME_WIN });
    const c = createClassifier({ cacheSize: 0 })({ 'user-agent': CHROME_WIN });
    expect(a).toBe(b);
    expect(a).toBe(c);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(classify({}))).toBe(true);
  });
});

describe('input shapes', () => {
  const classify = createClassifier();
  const curl = { class: 'cli', rule: 'ua:curl' };

  it('reads Request, Headers, Node-style { headers } and plain records', () => {
    expect(classify(new Request('https://example.com/', { headers: { 'User-Agent': 'curl/8.7.1' } }))).toEqual(curl);
    expect(classify(new Headers({ 'user-agent': 'curl/8.7.1' }))).toEqual(curl);
    expect(classify({ headers: { host: 'example.com', 'user-agent': 'curl/8.7.1' } })).toEqual(curl);
    expect(classify({ headers: new Headers({ 'user-agent': 'curl/8.7.1' }) })).toEqual(curl);
    expect(classify({ 'user-agent': 'curl/8.7.1' })).toEqual(curl);
    expect(classify({ 'user-agent': ['curl/8.7.1', 'Wget/1.21'] })).toEqual(curl);
    expect(classify({ headers: { 'user-agent': 'kube-probe/1.29', 'sec-purpose': ['prefetch'] } }).class).toBe('prefetch');
    expect(classify(new Request('https://example.com/', { headers: { 'Sec-Purpose': 'prefetch;prerender' } })).class).toBe('prefetch');
    expect(classifyRequest({ 'user-agent': 'curl/8.7.1' })).toEqual(curl);
  });

  it('never throws on odd input', () => {
    const throwing = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    const odd: unknown[] = [
      null,
      undefined,
      42,
      'curl/8.7.1',
      Symbol('x'),
      () => 1,
      10n,
      [],
      [['user-agent', 'curl/8']],
      { headers: null },
      { headers: 5 },
      { headers: [] },
      { 'user-agent': 42 },
      { 'user-agent': [42] },
      { 'user-agent': [] },
      { 'user-agent': null },
      { 'user-agent': { toString: () => 'curl/8' } },
      { 'sec-purpose': 7, 'user-agent': 'curl/8' },
      { get: () => 42 },
      {
        get() {
          throw new Error('boom');
        },
      },
      throwing,
      { headers: throwing },
      Object.create(null),
    ];
    for (const input of odd) {
      let result: Classification | undefined;
      expect(() => (result = classify(input as HeaderSource))).not.toThrow();
      expect(USER_AGENT_CLASSES).toContain(result!.class);
      expect(typeof result!.rule).toBe('string');
    }
    const invalid = [null, undefined, 42, 'curl/8.7.1', [], { 'user-agent': 42 }, { 'user-agent': [42] }, throwing];
    invalid.forEach((input, i) => {
      expect(classify(input as HeaderSource).rule, `invalid input #${i}`).toMatch(/^(invalid-input|empty-ua)$/);
    });
    expect(classify(null as unknown as HeaderSource)).toEqual({ class: 'unknown', rule: 'invalid-input' });
    expect(classify({ 'sec-purpose': 7, 'user-agent': 'curl/8' } as unknown as HeaderSource)).toEqual(curl);
    expect(classify.userAgent(42 as unknown as string)).toEqual({ class: 'unknown', rule: 'invalid-input' });
    expect(classify.userAgent(undefined)).toEqual({ class: 'unknown', rule: 'empty-ua' });
  });
});

describe('syntheticTypeOf', () => {
  it('maps bots to `bot`, monitors to `test`, everything else to unset', () => {
    expect(syntheticTypeOf('bot')).toBe('bot');
    expect(syntheticTypeOf('monitor')).toBe('test');
    for (const cls of ['browser', 'prefetch', 'cli', 'unknown'] as const) expect(syntheticTypeOf(cls)).toBeUndefined();
  });
});
