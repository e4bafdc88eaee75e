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
