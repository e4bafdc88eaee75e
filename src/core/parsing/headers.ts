/**
 * Reading headers and cookies from every request shape the SDKs hand us: Web `Request` /
 * `NextRequest`, `Headers`, Node's `IncomingMessage` / `NextApiRequest`, and plain header records.
 */

import { setCookieName, setCookieStoresValue } from './parse.js';

export type HeaderRecord = Record<string, string | string[] | undefined>;
export type HeaderSource = Request | Headers | { headers: Headers | HeaderRecord } | HeaderRecord;

function isHeaders(value: unknown): value is Headers {
  return typeof value === 'object' && value !== null && typeof (value as Headers).get === 'function';
}

/** The headers object of any supported request shape, or the source itself when it is one. */
export function headersOf(source: HeaderSource | null | undefined): Headers | HeaderRecord | undefined {
  if (source === null || typeof source !== 'object') return undefined;
  if (isHeaders(source)) return source;
  const inner = (source as { headers?: unknown }).headers;
  if (inner !== null && typeof inner === 'object') return inner as Headers | HeaderRecord;
  return source as HeaderRecord;
}

/** A header value (first value when repeated), or undefined. Never throws. */
export function readHeader(source: HeaderSource | null | undefined, name: string): string | undefined {
  try {
    const headers = headersOf(source);
    return headers === undefined ? undefined : headerIn(headers, name);
  } catch {
    // Odd request shapes (throwing getters, proxies) read as an absent header.
    return undefined;
  }
}

/**
 * A header of an unwrapped headers object (`headersOf`): its first string value, or undefined. A
 * `get` that throws (an odd Headers look-alike) reads as an absent header; a record's throwing
 * getter is left to the caller, as an unreadable request.
 */
export function headerIn(headers: Headers | HeaderRecord, name: string): string | undefined {
  let value: unknown;
  if (isHeaders(headers)) {
    try {
      value = headers.get(name);
    } catch {
      // Refused by an odd Headers look-alike: absent, like any header it does not have.
      return undefined;
    }
  } else {
    value = headers[name] ?? headers[name.toLowerCase()];
  }
  if (Array.isArray(value)) value = value[0];
  return typeof value === 'string' ? value : undefined;
}

/** One cookie's raw value from the `Cookie` header; undefined when absent. */
export function readCookie(source: HeaderSource | null | undefined, name: string): string | undefined {
  const header = readHeader(source, 'cookie');
  if (!header) return undefined;
  return cookieFromHeader(header, name);
}

export function cookieFromHeader(header: string, name: string): string | undefined {
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const key = header.slice(start, eq).trim();
      if (key === name) return header.slice(eq + 1, end).trim();
    }
    start = end + 1;
  }
  return undefined;
}

/** The `Set-Cookie` values on a response of any supported shape (Web `Response`, Node `ServerResponse`). */
export function setCookiesOf(response: unknown): string[] {
  try {
    if (typeof response !== 'object' || response === null) return [];
    const headers = (response as { headers?: unknown }).headers;
    if (isHeaders(headers)) {
      const getSetCookie = (headers as Headers & { getSetCookie?: () => string[] }).getSetCookie;
      if (typeof getSetCookie === 'function') return getSetCookie.call(headers);
      const joined = headers.get('set-cookie');
      return joined ? [joined] : [];
    }
    const getHeader = (response as { getHeader?: (name: string) => unknown }).getHeader;
    if (typeof getHeader === 'function') {
      const value = getHeader.call(response, 'set-cookie');
      if (Array.isArray(value)) return value.map(String);
      return typeof value === 'string' ? [value] : [];
    }
  } catch {
    // Odd response shapes have no cookies we can see.
  }
  return [];
}

/** Whether a response sets (not clears) a cookie named `name` or one of its chunks `name.N`. */
export function setsCookie(response: unknown, name: string): boolean {
  for (const cookie of setCookiesOf(response)) {
    const cookieName = setCookieName(cookie);
    if (cookieName !== name && !(cookieName.startsWith(name + '.') && /^\d+$/.test(cookieName.slice(name.length + 1)))) continue;
    if (setCookieStoresValue(cookie)) return true;
  }
  return false;
}

/**
 * A cookie the framework already parsed, or `null` when the source carries no parsed cookies:
 * `NextRequest.cookies` (parsed when Next built the request, and what the SDKs read themselves)
 * or the Pages Router's `req.cookies` record.
 */
function parsedCookie(source: HeaderSource | null | undefined, name: string): string | undefined | null {
  try {
    const cookies = (source as { cookies?: unknown } | null | undefined)?.cookies;
    if (typeof cookies !== 'object' || cookies === null) return null;
    const get = (cookies as { get?: unknown }).get;
    if (typeof get === 'function') {
      const value = (get.call(cookies, name) as { value?: unknown } | undefined)?.value;
      return typeof value === 'string' ? value : undefined;
    }
    if (Object.getPrototypeOf(cookies) !== Object.prototype && Object.getPrototypeOf(cookies) !== null) return null;
    const value = (cookies as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  } catch {
    // An unreadable cookie store: fall back to the `Cookie` header, as for no store at all.
    return null;
  }
}

/** A session cookie's value from a request: the cookie itself or its first chunk `name.0`. */
export function readSessionCookie(source: HeaderSource | null | undefined, name: string): string | undefined {
  const parsed = parsedCookie(source, name);
  if (parsed !== null) return parsed ?? parsedCookie(source, name + '.0') ?? undefined;
  const header = readHeader(source, 'cookie');
  if (!header) return undefined;
  return cookieFromHeader(header, name) ?? cookieFromHeader(header, name + '.0');
}
