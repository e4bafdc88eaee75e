import type { UserAgentClass } from '../telemetry/catalog.js';

export type Classification = Readonly<{ class: UserAgentClass; rule: string }>;

const shared = new Map<string, Classification>();

/** One frozen object per (class, rule): callers may compare by identity, nothing is allocated per call. */
export function result(cls: UserAgentClass, rule: string): Classification {
  const key = cls + '\u0000' + rule;
  let value = shared.get(key);
  if (value === undefined) {
    value = Object.freeze({ class: cls, rule });
    shared.set(key, value);
  }
  return value;
}

export const INVALID_INPUT = result('unknown', 'invalid-input');
export const EMPTY_UA = result('unknown', 'empty-ua');
export const SHORT_UA = result('unknown', 'short-ua');
export const BOT = result('bot', 'isbot');
export const BROWSER = result('browser', 'default');
