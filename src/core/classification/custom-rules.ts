/** The app's own monitor rules (`monitorUserAgents`, `monitorHeaders`), checked before the built-in ones. */
import type { HeaderCheck } from './header-signals.js';
import { result, type Classification } from './results.js';

export type MonitorHeaderRule = Readonly<{
  /** Header name (case-insensitive). */
  name: string;
  /** Absent: the header's presence is enough. String: case-insensitive substring. RegExp: tested as given. */
  value?: string | RegExp;
}>;

export type UserAgentRule = Readonly<{ pattern: RegExp; result: Classification }>;

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

/** Malformed rules (no name, empty name) are skipped. */
export function customHeaderChecks(rules: readonly MonitorHeaderRule[] | undefined): HeaderCheck[] {
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

/** Rule names carry the rule's index in the option, so skipped malformed rules do not shift them. */
export function customUserAgentRules(rules: readonly (string | RegExp)[] | undefined): UserAgentRule[] {
  const out: UserAgentRule[] = [];
  (rules ?? []).forEach((rule, index) => {
    if (typeof rule === 'string' ? rule === '' : !(rule instanceof RegExp)) return;
    out.push({ pattern: toPattern(rule), result: result('monitor', `custom:ua:${index}`) });
  });
  return out;
}
