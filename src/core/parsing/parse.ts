/**
 * The small parsers every adapter needs, defined once: token and session fields, base64url
 * segments, `Set-Cookie` values and HTTP statuses. Pure functions, no telemetry.
 */
import type { OperationResult } from '../operation/result.js';

/** A base64url segment (JWT, JWE) decoded to a binary string; throws on invalid input. */
export function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  return atob(base64 + '==='.slice((base64.length + 3) % 4));
}

/** A base64url segment holding a JSON object, or undefined when it is not one. */
export function base64UrlJson(segment: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(base64UrlDecode(segment)) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    // Not base64url JSON: client-supplied input, so an expected answer, not a failure.
    return undefined;
  }
}

/**
 * An expiry in epoch seconds, whichever unit the app stored: tutorials use both `Date.now()`
 * milliseconds and OAuth `expires_at` seconds; anything after 5138 AD in seconds is milliseconds.
 */
export function epochSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value > 1e11 ? value / 1000 : value;
  if (typeof value === 'string' && value !== '') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed / 1000;
  }
  if (value instanceof Date) return value.getTime() / 1000;
  return undefined;
}

/** Seconds from now until an expiry (negative once past); undefined when it is not a time. */
export function secondsUntil(value: unknown): number | undefined {
  const at = epochSeconds(value);
  return at === undefined ? undefined : at - Date.now() / 1000;
}

/** Seconds since a creation time (never negative); undefined when it is not a time. */
export function secondsSince(value: unknown): number | undefined {
  const at = epochSeconds(value);
  return at === undefined ? undefined : Math.max(0, Date.now() / 1000 - at);
}

/** The subject of a session (`session.user.sub`, nextjs-auth0) or of a token (`token.sub`, NextAuth). */
export function subOf(holder: unknown): string | undefined {
  if (typeof holder !== 'object' || holder === null) return undefined;
  const own = (holder as { sub?: unknown }).sub;
  if (typeof own === 'string') return own;
  const user = (holder as { user?: unknown }).user;
  const sub = typeof user === 'object' && user !== null ? (user as { sub?: unknown }).sub : undefined;
  return typeof sub === 'string' ? sub : undefined;
}

/** The cookie name a `Set-Cookie` value sets, or '' when it has none. */
export function setCookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return eq <= 0 ? '' : setCookie.slice(0, eq).trim();
}

/** A `Set-Cookie` that stores a value, as opposed to one that deletes the cookie (empty, `Max-Age<=0`, `Expires` past). */
export function setCookieStoresValue(setCookie: string): boolean {
  const eq = setCookie.indexOf('=');
  if (eq <= 0) return false;
  const semicolon = setCookie.indexOf(';');
  const value = setCookie.slice(eq + 1, semicolon === -1 ? undefined : semicolon).trim();
  if (value === '') return false;
  if (/;\s*max-age\s*=\s*(0|-\d+)\s*(;|$)/i.test(setCookie)) return false;
  const expires = /;\s*expires\s*=\s*([^;]+)/i.exec(setCookie);
  return expires === null || !(Date.parse(expires[1]!) <= Date.now());
}

/** The numeric `status` of a response-like value. */
export function statusOf(response: unknown): number | undefined {
  const status = (response as { status?: unknown } | null | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * What an HTTP status says about the call that produced it. A 5xx is always an error named by
 * its status; the outcomes for success and for a refusal depend on who answered: an auth route
 * (`success`, any 4xx an `error`) or a middleware (`pass`, 401/403 `unauthorized`, other 4xx `pass`).
 */
export type StatusOutcomes = Readonly<{ ok: string; unauthorized: string; clientError: string }>;
export const HANDLER_STATUS: StatusOutcomes = { ok: 'success', unauthorized: 'unauthorized', clientError: 'error' };
export const MIDDLEWARE_STATUS: StatusOutcomes = { ok: 'pass', unauthorized: 'unauthorized', clientError: 'pass' };

export function statusResult(status: number | undefined, outcomes: StatusOutcomes): OperationResult {
  if (status === undefined) return { outcome: outcomes.ok };
  if (status >= 500) return { outcome: 'error', statusCode: status, errorType: String(status) };
  if (status === 401 || status === 403) return { outcome: outcomes.unauthorized, statusCode: status };
  if (status >= 400) return { outcome: outcomes.clientError, statusCode: status };
  if (status >= 300) return { outcome: 'redirect', statusCode: status };
  return { outcome: outcomes.ok, statusCode: status };
}
