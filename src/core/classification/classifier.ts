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
 *   --- everything below depends on the user agent only and is memoised per (cut) UA ---
 *   3. unknown   — UA missing, empty, `-` (`empty-ua`); shorter than 5 characters (`short-ua`)
 *                  unless a monitor or CLI signature names it exactly: Node's fetch sends `node`
 *                  and Ruby's Net::HTTP sends `Ruby`, both CLIs, not unknown.
 *   4. monitor   — user UA rules (`custom:ua:<index>`), then the built-in signatures.
 *   5. cli       — command-line clients and HTTP libraries (before `isbot`, which flags them too).
 *   6. bot       — `isbot`.
 *   7. browser   — `default`.
 *
 * Steps 1–2 live in `header-signals.ts` (with the app's rules from `custom-rules.ts`), steps 3–7
 * in `user-agent-match.ts`, the memo in `memo.ts`. The user agent is cut to 512 characters before
 * any matching. Results are shared frozen objects (`results.ts`). Edge-safe (no Node built-ins)
 * and never throws.
 */
import type { UserAgentClass } from '../telemetry/catalog.js';
import { headersOf, type HeaderRecord, type HeaderSource } from '../parsing/headers.js';
import { customHeaderChecks, customUserAgentRules, type MonitorHeaderRule } from './custom-rules.js';
import { MONITOR_CHECKS, PREFETCH_CHECKS, checkHeaders, mayHoldSignalHeader, rawUserAgent, type HeaderCheck } from './header-signals.js';
import { UserAgentMemo } from './memo.js';
import { EMPTY_UA, INVALID_INPUT, type Classification } from './results.js';
import { matchUserAgent } from './user-agent-match.js';

export type { Classification } from './results.js';
export type { MonitorHeaderRule } from './custom-rules.js';
export { MIN_USER_AGENT_LENGTH } from './user-agent-match.js';

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
export const DEFAULT_CACHE_SIZE = 1000;

/** `user_agent.synthetic.type` (semconv): `bot` for crawlers, `test` for monitors, unset otherwise. */
export function syntheticTypeOf(cls: UserAgentClass | undefined): 'bot' | 'test' | undefined {
  if (cls === 'bot') return 'bot';
  if (cls === 'monitor') return 'test';
  return undefined;
}

function capacityOf(requested: unknown): number {
  return typeof requested === 'number' && Number.isFinite(requested) && requested >= 0 ? Math.floor(requested) : DEFAULT_CACHE_SIZE;
}

/** The app's monitor header checks, and those followed by the built-in ones. */
type MonitorChecks = Readonly<{ custom: readonly HeaderCheck[]; all: readonly HeaderCheck[] }>;

/** Steps 1 and 2: prefetch rules, then the app's monitor headers, then the built-in ones. */
function classifyBySignalHeaders(headers: Headers | HeaderRecord, monitors: MonitorChecks): Classification | undefined {
  if (typeof (headers as Headers).get !== 'function' && !mayHoldSignalHeader(headers as HeaderRecord)) {
    return monitors.custom.length > 0 ? checkHeaders(headers, monitors.custom) : undefined;
  }
  return checkHeaders(headers, PREFETCH_CHECKS) ?? checkHeaders(headers, monitors.all);
}

/** Steps 1–7 for a request's headers; odd input is classified, never thrown. */
function classifyHeaders(source: HeaderSource, monitors: MonitorChecks, fromUserAgent: (ua: string) => Classification): Classification {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return INVALID_INPUT;
  const headers = headersOf(source);
  if (headers === undefined || Array.isArray(headers)) return INVALID_INPUT;
  const byHeader = classifyBySignalHeaders(headers, monitors);
  if (byHeader !== undefined) return byHeader;
  const ua = rawUserAgent(headers);
  if (ua === undefined || ua === null) return EMPTY_UA;
  return typeof ua === 'string' ? fromUserAgent(ua) : INVALID_INPUT;
}

export function createClassifier(options: ClassifierOptions = {}): Classifier {
  const opts = options ?? {};
  const custom = customHeaderChecks(opts.monitorHeaders);
  const monitors: MonitorChecks = { custom, all: [...custom, ...MONITOR_CHECKS] };
  const customUserAgents = customUserAgentRules(opts.monitorUserAgents);
  const memo = new UserAgentMemo(capacityOf(opts.cacheSize));
  const compute = (ua: string) => matchUserAgent(ua, customUserAgents);
  // A longer user agent is classified by its cut, not memoised: the cut is a slice, which can keep
  // the whole header alive, so a cache entry could hold kilobytes. Real browsers stay far below it.
  const fromUserAgent = (raw: string) => (raw.length <= MAX_USER_AGENT_LENGTH ? memo.get(raw, compute) : compute(raw.slice(0, MAX_USER_AGENT_LENGTH)));

  const classify = ((source: HeaderSource): Classification => {
    try {
      return classifyHeaders(source, monitors, fromUserAgent);
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
  classify.cacheSize = () => memo.size();
  classify.clearCache = () => memo.clear();
  return classify;
}

let defaultClassifier: Classifier | undefined;

/** Classifies with a shared default classifier (built-in rules, 1000-entry cache). */
export function classifyRequest(source: HeaderSource): Classification {
  defaultClassifier ??= createClassifier();
  return defaultClassifier(source);
}
