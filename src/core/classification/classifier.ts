/**
 * Who sent a request: a real browser, a crawler, an uptime monitor, a prefetch, a command-line
 * client, or we cannot tell. Feeds `auth.user_agent.class` (bounded, on metrics),
 * `auth.user_agent.rule` (spans only) and semconv `user_agent.synthetic.type`.
 *
 * Order, first match wins:
 *   1. prefetch  — `Sec-Purpose` / `Purpose` starting with `prefetch`, `Next-Router-Prefetch` or
 *                  `x-middleware-prefetch` present.
 *   2. monitor   — monitor headers (user rules, then `x-datadog-origin: synthetics*`, `sec-datadog`,
 *                  New Relic `x-abuse-info`). Headers beat the user agent: a Datadog browser test
 *                  sends a plain Chrome UA, and a header-proven monitor with no UA is still a monitor.
 *   --- everything below depends on the user agent only and is memoised per (truncated) UA ---
 *   3. unknown   — UA missing, empty, `-` (`empty-ua`); shorter than 5 characters (`short-ua`)
 *                  unless a monitor or CLI signature names it exactly: Node's fetch sends `node`
 *                  and Ruby's Net::HTTP sends `Ruby`, both CLIs, not unknown.
 *   4. monitor   — user UA rules (`custom:ua:<index>`), then the built-in signatures.
 *   5. cli       — command-line clients and HTTP libraries (before `isbot`, which flags them too).
 *   6. bot       — `isbot`.
 *   7. browser   — `default`.
 *
 * Fast path for steps 4–7: a UA made only of well-known browser tokens (`PLAIN_BROWSER_USER_AGENT`)
 * can only hold a signature inside its platform comment, so only that is searched, and `isbot` is
 * skipped. A test checks that this gives the same answers as the plain rules.
 *
 * The user agent is cut to 512 characters before any matching, so a 100 KB header costs the same
 * as a 512-byte one. Results are shared frozen objects: the cached path allocates nothing.
 * Edge-safe (no Node built-ins) and never throws.
 */
import { isbot } from 'isbot';
import type { UserAgentClass } from '../telemetry/catalog.js';
import { headersOf, type HeaderSource } from '../parsing/headers.js';
import {
  CLI_USER_AGENTS,
  MONITOR_HEADER_RULES,
  MONITOR_USER_AGENTS,
  PLAIN_BROWSER_USER_AGENT,
  PREFETCH_HEADER_RULES,
  type HeaderSignature,
  type UserAgentSignature,
} from './user-agent-signatures.js';

export type Classification = Readonly<{ class: UserAgentClass; rule: string }>;

export type MonitorHeaderRule = Readonly<{
  /** Header name (case-insensitive). */
  name: string;
  /** Absent: the header's presence is enough. String: case-insensitive substring. RegExp: tested as given. */
  value?: string | RegExp;
}>;

export type ClassifierOptions = Readonly<{
  /** Extra monitor user agents, checked before the built-ins. String: case-insensitive substring. */
  monitorUserAgents?: readonly (string | RegExp)[];
  /** Extra monitor headers, checked before the built-ins. */
  monitorHeaders?: readonly MonitorHeaderRule[];
  /** Maximum number of memoised user agents (approximate LRU). Default 1000; 0 disables the cache. */
  cacheSize?: number;
}>;

export interface Classifier {
  (source: HeaderSource): Classification;
  /** Classifies a bare user-agent string (no header rules). */
  userAgent(ua: string | null | undefined): Classification;
  /** Number of user agents currently memoised; never more than the configured `cacheSize`. */
  cacheSize(): number;
  clearCache(): void;
}

/** Longest user agent the classifier looks at. */
export const MAX_USER_AGENT_LENGTH = 512;
/** Shorter user agents are `unknown` unless a monitor or CLI signature matches them exactly. */
export const MIN_USER_AGENT_LENGTH = 5;
export const DEFAULT_CACHE_SIZE = 1000;

const shared = new Map<string, Classification>();
/** One frozen object per (class, rule): callers may compare by identity, nothing is allocated per call. */
function result(cls: UserAgentClass, rule: string): Classification {
  const key = cls + '\u0000' + rule;
  let value = shared.get(key);
  if (value === undefined) {
    value = Object.freeze({ class: cls, rule });
    shared.set(key, value);
  }
  return value;
}

const INVALID_INPUT = result('unknown', 'invalid-input');
const EMPTY_UA = result('unknown', 'empty-ua');
const SHORT_UA = result('unknown', 'short-ua');
const BOT = result('bot', 'isbot');
const BROWSER = result('browser', 'default');

/** `user_agent.synthetic.type` (semconv): `bot` for crawlers, `test` for monitors, unset otherwise. */
export function syntheticTypeOf(cls: UserAgentClass | undefined): 'bot' | 'test' | undefined {
  if (cls === 'bot') return 'bot';
  if (cls === 'monitor') return 'test';
  return undefined;
}

/**
 * A signature table compiled to at most two alternations — signatures anchored with `^` in one
 * `^(?:…)` regex (fails at the first character), the rest in another — so a whole table costs one
 * or two regex passes. Alternatives are joined bare (no per-signature groups, which stop V8 from
 * optimising the alternation); the matching signature is then found with sticky copies at the
 * match position, in table order, which is the alternative the engine picked. That second step
 * only runs when a signature matched.
 */
type TablePart = Readonly<{ regex: RegExp; sticky: readonly RegExp[]; results: readonly Classification[] }>;

function compile(cls: UserAgentClass, signatures: readonly UserAgentSignature[]): readonly TablePart[] {
  const anchored = signatures.filter((s) => s.pattern.source.startsWith('^'));
  const floating = signatures.filter((s) => !s.pattern.source.startsWith('^'));
  const part = (list: readonly UserAgentSignature[], source: string): TablePart => ({
    regex: new RegExp(source, 'i'),
    sticky: list.map((s) => new RegExp(s.pattern.source, 'iy')),
    results: list.map((s) => result(cls, s.rule)),
  });
  const parts: TablePart[] = [];
  if (anchored.length > 0) parts.push(part(anchored, `^(?:${anchored.map((s) => s.pattern.source.slice(1)).join('|')})`));
  if (floating.length > 0) parts.push(part(floating, floating.map((s) => s.pattern.source).join('|')));
  return parts;
}

function find(parts: readonly TablePart[], ua: string): Classification | undefined {
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    const m = part.regex.exec(ua);
    if (m === null) continue;
    for (let i = 0; i < part.sticky.length; i++) {
      const sticky = part.sticky[i]!;
      sticky.lastIndex = m.index;
      if (sticky.test(ua)) return part.results[i];
    }
  }
  return undefined;
}

const MONITOR_TABLE = compile('monitor', MONITOR_USER_AGENTS);
const CLI_TABLE = compile('cli', CLI_USER_AGENTS);

type HeaderCheck = Readonly<{ header: string; test?: (value: string) => boolean; result: Classification }>;

function headerCheck(cls: UserAgentClass, s: HeaderSignature): HeaderCheck {
  const pattern = s.pattern;
  return pattern === undefined
    ? { header: s.header, result: result(cls, s.rule) }
    : { header: s.header, test: (v) => pattern.test(v), result: result(cls, s.rule) };
}

const PREFETCH_CHECKS = PREFETCH_HEADER_RULES.map((s) => headerCheck('prefetch', s));
const MONITOR_CHECKS = MONITOR_HEADER_RULES.map((s) => headerCheck('monitor', s));

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A stateless copy: `g` / `y` would make `test` depend on the previous call's `lastIndex`. */
function stateless(pattern: RegExp): RegExp {
  return pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern;
}

function toPattern(value: string | RegExp): RegExp {
  return typeof value === 'string' ? new RegExp(escapeRegExp(value), 'i') : stateless(value);
}

function customHeaderChecks(rules: readonly MonitorHeaderRule[] | undefined): HeaderCheck[] {
  const checks: HeaderCheck[] = [];
  for (const rule of rules ?? []) {
    if (!rule || typeof rule.name !== 'string' || rule.name === '') continue;
    const header = rule.name.toLowerCase();
    const res = result('monitor', `custom:header:${header}`);
    if (rule.value === undefined) checks.push({ header, result: res });
    else {
      const pattern = toPattern(rule.value);
      checks.push({ header, test: (v) => pattern.test(v), result: res });
    }
  }
  return checks;
}

function customUserAgentRules(rules: readonly (string | RegExp)[] | undefined): { pattern: RegExp; result: Classification }[] {
  const out: { pattern: RegExp; result: Classification }[] = [];
  (rules ?? []).forEach((rule, index) => {
    if (typeof rule === 'string' ? rule === '' : !(rule instanceof RegExp)) return;
    out.push({ pattern: toPattern(rule), result: result('monitor', `custom:ua:${index}`) });
  });
  return out;
}

type HeaderBag = Headers | Record<string, unknown>;

/**
 * One header of an already-unwrapped headers object (`headersOf`): the first string value, else
 * undefined. Web `Headers` are asked directly rather than through `readHeader`, which re-unwraps
 * the source and retries the lower-cased name on every miss; we look up eight headers on every
 * request, and undici's `Headers.get` is already ~130 ns each. Names here are always lower case,
 * so both give the same answer. A throwing `get` (an odd Headers-like object) reads as absent,
 * as `readHeader` does.
 */
function headerValue(headers: HeaderBag, web: boolean, name: string): string | undefined {
  let value: unknown;
  if (web) {
    try {
      value = (headers as Headers).get(name);
    } catch {
      // A Headers look-alike that refuses a name: odd input, read as an absent header.
      return undefined;
    }
  } else {
    value = (headers as Record<string, unknown>)[name];
  }
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

function checkHeaders(headers: HeaderBag, web: boolean, checks: readonly HeaderCheck[]): Classification | undefined {
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!;
    const value = headerValue(headers, web, check.header);
    if (value !== undefined && (check.test === undefined || check.test(value))) return check.result;
  }
  return undefined;
}

/** Cuts to `MAX_USER_AGENT_LENGTH` for matching and cache lookups. */
function truncate(ua: string): string {
  return ua.length <= MAX_USER_AGENT_LENGTH ? ua : ua.slice(0, MAX_USER_AGENT_LENGTH);
}

export function createClassifier(options: ClassifierOptions = {}): Classifier {
  const opts = options ?? {};
  const headerChecks = [...customHeaderChecks(opts.monitorHeaders), ...MONITOR_CHECKS];
  const customUserAgents = customUserAgentRules(opts.monitorUserAgents);
  const requested = opts.cacheSize;
  const capacity = typeof requested === 'number' && Number.isFinite(requested) && requested >= 0 ? Math.floor(requested) : DEFAULT_CACHE_SIZE;
  /**
   * Bounded, approximately-LRU memo in two generations (the quick-lru scheme): hits in `young`
   * cost one `Map.get`; hits in `old` move the entry to `young`; when `young` is full it becomes
   * `old` and the previous `old` is dropped. Entries used within the last generation survive, and
   * `young.size + old.size <= capacity` always holds. An exact LRU's move-to-front
   * (`delete` + `set` on every hit) costs ~100 ns, the whole budget of a cached classification.
   */
  const generation = Math.max(1, Math.floor(capacity / 2));
  const keepOld = capacity >= 2;
  let young = new Map<string, Classification>();
  let old = new Map<string, Classification>();

  function remember(ua: string, value: Classification): void {
    if (young.size >= generation) {
      old = keepOld ? young : new Map();
      young = new Map();
    }
    young.set(ua, value);
  }

  function byCustomSignature(ua: string): Classification | undefined {
    for (let i = 0; i < customUserAgents.length; i++) {
      const rule = customUserAgents[i]!;
      if (rule.pattern.test(ua)) return rule.result;
    }
    return undefined;
  }

  /** Steps 3–7: a function of the (truncated) user agent only. */
  function compute(ua: string): Classification {
    const trimmed = ua.trim();
    if (trimmed === '' || trimmed === '-') return EMPTY_UA;
    const custom = byCustomSignature(trimmed);
    if (custom !== undefined) return custom;
    if (trimmed.length < MIN_USER_AGENT_LENGTH) {
      return find(MONITOR_TABLE, trimmed) ?? find(CLI_TABLE, trimmed) ?? SHORT_UA;
    }
    // Fast path: outside its platform comment a plain browser UA is browser vocabulary only, so
    // the signatures can only match inside the comment, and isbot would pass it.
    const plain = PLAIN_BROWSER_USER_AGENT.exec(trimmed);
    if (plain !== null) {
      const comment = plain[1]!;
      return find(MONITOR_TABLE, comment) ?? find(CLI_TABLE, comment) ?? BROWSER;
    }
    return find(MONITOR_TABLE, trimmed) ?? find(CLI_TABLE, trimmed) ?? (isbot(trimmed) ? BOT : BROWSER);
  }

  function fromUserAgent(raw: string): Classification {
    const ua = truncate(raw);
    if (capacity === 0) return compute(ua);
    const hit = young.get(ua);
    if (hit !== undefined) return hit;
    const aged = old.get(ua);
    if (aged !== undefined) {
      old.delete(ua);
      remember(ua, aged);
      return aged;
    }
    const value = compute(ua);
    remember(ua, value);
    return value;
  }

  const classify = ((source: HeaderSource): Classification => {
    try {
      if (source === null || typeof source !== 'object' || Array.isArray(source)) return INVALID_INPUT;
      const headers = headersOf(source) as HeaderBag | undefined;
      if (headers === undefined || Array.isArray(headers)) return INVALID_INPUT;
      const web = typeof (headers as Headers).get === 'function';
      // Prefetch rules, then custom monitor headers, then built-in ones.
      const byHeader = checkHeaders(headers, web, PREFETCH_CHECKS) ?? checkHeaders(headers, web, headerChecks);
      if (byHeader !== undefined) return byHeader;
      let raw: unknown;
      if (web) {
        try {
          raw = (headers as Headers).get('user-agent') ?? undefined;
        } catch {
          // As in `headerValue`: an unreadable User-Agent is an empty one.
          raw = undefined;
        }
      } else {
        raw = (headers as Record<string, unknown>)['user-agent'];
      }
      const ua = Array.isArray(raw) ? raw[0] : raw;
      if (ua === undefined || ua === null) return EMPTY_UA;
      if (typeof ua !== 'string') return INVALID_INPUT;
      return fromUserAgent(ua);
    } catch {
      // Unreadable headers (throwing getters, proxies) are a class of their own, seen on every metric.
      return INVALID_INPUT;
    }
  }) as Classifier;

  classify.userAgent = (ua) => {
    try {
      if (ua === null || ua === undefined) return EMPTY_UA;
      return typeof ua === 'string' ? fromUserAgent(ua) : INVALID_INPUT;
    } catch {
      // As above: odd input is classified, not failed.
      return INVALID_INPUT;
    }
  };
  classify.cacheSize = () => young.size + old.size;
  classify.clearCache = () => {
    young = new Map();
    old = new Map();
  };
  return classify;
}

let defaultClassifier: Classifier | undefined;

/** Classifies with a shared default classifier (built-in rules, 1000-entry cache). */
export function classifyRequest(source: HeaderSource): Classification {
  defaultClassifier ??= createClassifier();
  return defaultClassifier(source);
}
