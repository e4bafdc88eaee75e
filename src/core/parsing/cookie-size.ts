/**
 * How big a session cookie is, measured whole. The SDKs split a session that does not fit in one
 * cookie (4096 bytes) into numbered chunks: `appSession.0`, `appSession.1` (nextjs-auth0 v3),
 * `__session__0` (v4), `next-auth.session-token.0` (NextAuth, Auth.js). What reaches the proxy
 * and the server is all of them in one `Cookie` header, so every chunk counts.
 */
import type { OperationResult } from '../operation/result.js';
import { readHeader, type HeaderSource } from './headers.js';

export type CookieSize = Readonly<{ bytes: number; chunks: number }>;

/** Whether `key` is the cookie `name` itself or one of its chunks (`name.N`, `name__N`). */
function isPartOf(key: string, name: string): boolean {
  if (key === name) return true;
  if (!key.startsWith(name)) return false;
  const rest = key.charCodeAt(name.length) === 46 /* . */ ? key.slice(name.length + 1) : key.startsWith('__', name.length) ? key.slice(name.length + 2) : '';
  return rest.length > 0 && rest.length <= 3 && /^\d+$/.test(rest);
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Bytes of `name=value` as UTF-8. Cookie values are ASCII in practice, so the native scan decides
 * and the per-character count runs only for a stray character. A cookie store may hand over an
 * entry without a string value (Next 16's `cookies()` in a Server Component did): it counts as empty.
 */
function pairBytes(key: string, value: unknown): number {
  const bytes = key.length + 1;
  if (typeof value !== 'string') return bytes;
  if (!NON_ASCII.test(value)) return bytes + value.length;
  let extra = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) extra += c < 0x800 ? 1 : c >= 0xd800 && c <= 0xdbff ? (i++, 2) : 2;
  }
  return bytes + value.length + extra;
}

/** The session cookie among name/value pairs, or undefined when none of its parts is there. */
export function sessionCookieSize(pairs: Iterable<readonly [string, unknown]>, name: string): CookieSize | undefined {
  let bytes = 0;
  let chunks = 0;
  for (const [key, value] of pairs) {
    if (typeof key !== 'string' || !isPartOf(key, name)) continue;
    bytes += pairBytes(key, value);
    chunks++;
  }
  return chunks === 0 ? undefined : { bytes, chunks };
}

/**
 * The session cookie in a raw `Cookie` header. Header values are byte strings (one character per
 * byte on the wire), so a pair's length is its size; only the parts that mention the name are looked at.
 */
export function requestCookieSize(request: unknown, name: string): CookieSize | undefined {
  const header = readHeader(request as HeaderSource, 'cookie');
  if (!header || !header.includes(name)) return undefined;
  let bytes = 0;
  let chunks = 0;
  for (const part of header.split(';')) {
    if (!part.includes(name)) continue;
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    if (!isPartOf(key, name)) continue;
    bytes += key.length + 1 + part.slice(eq + 1).trim().length;
    chunks++;
  }
  return chunks === 0 ? undefined : { bytes, chunks };
}

/** The session cookie in a `cookies()` store (App Router) or `NextRequest.cookies`. */
export function storeCookieSize(store: { getAll?: () => { name: string; value: string }[] } | undefined, name: string): CookieSize | undefined {
  const all = typeof store?.getAll === 'function' ? store.getAll() : [];
  return sessionCookieSize(
    all.map((c) => [c.name, c.value] as const),
    name,
  );
}

/** Adds the cookie's size to a session read that had one (found or unreadable). */
export function withCookieSize(result: OperationResult, size: CookieSize | undefined): OperationResult {
  if (size === undefined || (result.outcome !== 'found' && result.outcome !== 'invalid')) return result;
  result.cookieBytes = size.bytes;
  result.cookieChunks = size.chunks;
  return result;
}
