/**
 * Steps 3–7 of the classification: what the user agent alone says (empty, short, monitor, CLI,
 * bot, browser). A function of the cut user agent only, so its answers can be memoised.
 */
import { isbot } from 'isbot';
import type { UserAgentClass } from '../telemetry/catalog.js';
import type { UserAgentRule } from './custom-rules.js';
import { BOT, BROWSER, EMPTY_UA, SHORT_UA, result, type Classification } from './results.js';
import { CLI_USER_AGENTS, MONITOR_USER_AGENTS, PLAIN_BROWSER_USER_AGENT, type UserAgentSignature } from './user-agent-signatures.js';

/** Shorter user agents are `unknown` unless a monitor or CLI signature matches them exactly. */
export const MIN_USER_AGENT_LENGTH = 5;

/**
 * A signature table compiled to at most two alternations: signatures anchored with `^` in one
 * `^(?:…)` regex, the rest in another. When one matches, sticky copies of the table's patterns,
 * tried at the match position in table order, tell which signature it was.
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

function byCustomRule(rules: readonly UserAgentRule[], ua: string): Classification | undefined {
  for (let i = 0; i < rules.length; i++) {
    if (rules[i]!.pattern.test(ua)) return rules[i]!.result;
  }
  return undefined;
}

/** Steps 3–7 for a user agent already cut to `MAX_USER_AGENT_LENGTH`. */
export function matchUserAgent(ua: string, customRules: readonly UserAgentRule[]): Classification {
  const trimmed = ua.trim();
  if (trimmed === '' || trimmed === '-') return EMPTY_UA;
  const custom = byCustomRule(customRules, trimmed);
  if (custom !== undefined) return custom;
  if (trimmed.length < MIN_USER_AGENT_LENGTH) {
    return find(MONITOR_TABLE, trimmed) ?? find(CLI_TABLE, trimmed) ?? SHORT_UA;
  }
  // Outside its platform comment a plain browser UA is browser vocabulary only, so the
  // signatures can only match inside the comment, and isbot would pass it.
  const plain = PLAIN_BROWSER_USER_AGENT.exec(trimmed);
  if (plain !== null) {
    const comment = plain[1]!;
    return find(MONITOR_TABLE, comment) ?? find(CLI_TABLE, comment) ?? BROWSER;
  }
  return find(MONITOR_TABLE, trimmed) ?? find(CLI_TABLE, trimmed) ?? (isbot(trimmed) ? BOT : BROWSER);
}
