/**
 * Steps 1 and 2 of the classification: prefetch and monitor headers, which beat the user agent.
 * Also reads the User-Agent header itself, for the steps that follow.
 */
import type { UserAgentClass } from '../telemetry/catalog.js';
import { headerIn, type HeaderRecord } from '../parsing/headers.js';
import { result, type Classification } from './results.js';
import { MONITOR_HEADER_RULES, PREFETCH_HEADER_RULES, type HeaderSignature } from './user-agent-signatures.js';

/** A header rule, compiled: the header's presence, or a value passing `test`, gives `result`. */
export type HeaderCheck = Readonly<{ header: string; test?: (value: string) => boolean; result: Classification }>;

function headerCheck(cls: UserAgentClass, s: HeaderSignature): HeaderCheck {
  const pattern = s.pattern;
  return pattern === undefined
    ? { header: s.header, result: result(cls, s.rule) }
    : { header: s.header, test: (v) => pattern.test(v), result: result(cls, s.rule) };
}

export const PREFETCH_CHECKS = PREFETCH_HEADER_RULES.map((s) => headerCheck('prefetch', s));
export const MONITOR_CHECKS = MONITOR_HEADER_RULES.map((s) => headerCheck('monitor', s));

/**
 * The headers of the built-in prefetch and monitor rules, spelled out for `mayHoldSignalHeader`
 * (docs/why-it-is-fast.md). A test holds this list equal to the signature tables; should the two
 * ever differ anyway, the shortcut is off and every rule is checked.
 */
export const SIGNAL_HEADER_NAMES = [
  'sec-purpose',
  'purpose',
  'next-router-prefetch',
  'x-middleware-prefetch',
  'x-datadog-origin',
  'sec-datadog',
  'x-abuse-info',
] as const;
const TABLE_HEADER_NAMES = new Set([...PREFETCH_HEADER_RULES, ...MONITOR_HEADER_RULES].map((rule) => rule.header));
const SHORTCUT_MATCHES_TABLES = TABLE_HEADER_NAMES.size === SIGNAL_HEADER_NAMES.length && SIGNAL_HEADER_NAMES.every((name) => TABLE_HEADER_NAMES.has(name));

/** False only when a plain header record (Node's `req.headers`) holds none of the built-in rules' headers. */
export function mayHoldSignalHeader(headers: HeaderRecord): boolean {
  return (
    !SHORTCUT_MATCHES_TABLES ||
    headers['sec-purpose'] !== undefined ||
    headers['purpose'] !== undefined ||
    headers['next-router-prefetch'] !== undefined ||
    headers['x-middleware-prefetch'] !== undefined ||
    headers['x-datadog-origin'] !== undefined ||
    headers['sec-datadog'] !== undefined ||
    headers['x-abuse-info'] !== undefined
  );
}

/** The first check, in order, that the headers pass. */
export function checkHeaders(headers: Headers | HeaderRecord, checks: readonly HeaderCheck[]): Classification | undefined {
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!;
    const value = headerIn(headers, check.header);
    if (value !== undefined && (check.test === undefined || check.test(value))) return check.result;
  }
  return undefined;
}

/**
 * The raw User-Agent value: a string, or whatever odd value a header record holds there (the
 * classifier tells a missing one from an invalid one). An unreadable one is missing.
 */
export function rawUserAgent(headers: Headers | HeaderRecord): unknown {
  let raw: unknown;
  if (typeof (headers as Headers).get === 'function') {
    try {
      raw = (headers as Headers).get('user-agent') ?? undefined;
    } catch {
      // A Headers look-alike that refuses the name: an absent User-Agent, as for any other header.
      raw = undefined;
    }
  } else {
    raw = (headers as HeaderRecord)['user-agent'];
  }
  return Array.isArray(raw) ? raw[0] : raw;
}
