/**
 * What can be learnt from a session cookie without its secret. nextjs-auth0 v3 writes
 * `iat` (created), `uat` (updated) and `exp` into the JWE's unencrypted protected header, so the
 * session age and the reason a present cookie is unreadable can be told from the header alone.
 */
import { base64UrlDecode } from './parse.js';

export type JweHeaderTimes = Readonly<{ iat: number | undefined; uat: number | undefined; exp: number | undefined }>;

const MALFORMED = null;
const CACHE_LIMIT = 512;
// Keyed by the header segment only: it changes whenever iat/uat/exp do, and it carries no secret.
const headerCache = new Map<string, JweHeaderTimes | typeof MALFORMED>();

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The timestamps of a JWE protected header segment, or null when it is not one; cached by the segment. */
function headerTimes(segment: string): JweHeaderTimes | null {
  const cached = headerCache.get(segment);
  if (cached !== undefined) return cached;
  let parsed: JweHeaderTimes | typeof MALFORMED = MALFORMED;
  try {
    const header = JSON.parse(base64UrlDecode(segment)) as Record<string, unknown>;
    if (header !== null && typeof header === 'object' && typeof header.enc === 'string') {
      parsed = Object.freeze({
        iat: numberOrUndefined(header.iat),
        uat: numberOrUndefined(header.uat),
        exp: numberOrUndefined(header.exp),
      });
    }
  } catch {
    // The cookie comes from the client: an unparsable header is an outcome (`malformed`), not a failure.
    parsed = MALFORMED;
  }
  if (headerCache.size >= CACHE_LIMIT) headerCache.clear();
  headerCache.set(segment, parsed);
  return parsed;
}

function dotsIn(value: string): number {
  let dots = 0;
  for (let i = value.indexOf('.'); i !== -1; i = value.indexOf('.', i + 1)) dots++;
  return dots;
}

/**
 * The timestamps of a compact JWE's protected header, or null when it is not a well-formed JWE.
 * With `whole: false` the value may be the first chunk of a chunked cookie (`appSession.0`), which
 * carries the whole header but not the rest of the JWE. The cache is keyed by the header alone,
 * so the structure of the rest is checked on every call: two cookies written in the same second
 * share their header, and one may be a chunk.
 */
export function readJweHeaderTimes(jwe: string | undefined, whole = true): JweHeaderTimes | null {
  if (typeof jwe !== 'string' || jwe.length === 0) return MALFORMED;
  const dot = jwe.indexOf('.');
  if (dot <= 0) return MALFORMED;
  const times = headerTimes(jwe.slice(0, dot));
  return times !== null && whole && dotsIn(jwe) !== 4 ? MALFORMED : times;
}

/** Seconds since the session was created, from a v3-style header; undefined when unknown. */
export function sessionAgeFromJwe(jwe: string | undefined, nowSeconds = Date.now() / 1000): number | undefined {
  // The cookie or its first chunk: either carries the header.
  const times = readJweHeaderTimes(jwe, false);
  if (!times || times.iat === undefined) return undefined;
  return Math.max(0, nowSeconds - times.iat);
}

export type InvalidCookieReason = 'expired' | 'malformed' | 'undecryptable' | 'unknown';

/**
 * Why the SDK could not read a cookie that was present. With timestamps in the header (v3) an
 * unexpired, well-formed cookie can only have failed decryption: tampering or a rotated secret.
 * Without them (v4 keeps `exp` encrypted) a well-formed cookie's reason is `unknown`.
 */
export function invalidCookieReason(jwe: string | undefined, nowSeconds = Date.now() / 1000): InvalidCookieReason {
  const times = readJweHeaderTimes(jwe);
  if (times === null) return 'malformed';
  if (times.exp !== undefined && times.exp <= nowSeconds) return 'expired';
  return times.exp !== undefined || times.iat !== undefined ? 'undecryptable' : 'unknown';
}
