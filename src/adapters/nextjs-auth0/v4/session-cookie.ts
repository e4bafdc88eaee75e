/** The v4 session cookie, read without the secret: present or not, and why v4 may have refused it. */
import { base64UrlJson } from '../../../core/parsing/parse.js';
import { sessionCookieSize, type CookieSize } from '../../../core/parsing/cookie-size.js';

/** What the request's cookies say about the session cookie: absent, or present with its value and its size (every chunk). */
export type CookieFacts = { present: false } | { present: true; value: string | undefined; size?: CookieSize };

const CHUNK = /^(.*)__(\d+)$/;

/**
 * The session cookie as v4 reads it: the cookie itself, else its `name__N` chunks joined. An
 * incomplete chunk set is present but has no value (v4 treats it as no session).
 */
function sessionCookieFrom(entries: Iterable<[string, string]>, name: string): CookieFacts {
  const pairs = [...entries];
  const chunks: [number, string][] = [];
  for (const [key, value] of pairs) {
    if (key === name) {
      if (value !== '') return { present: true, value, size: sessionCookieSize(pairs, name) };
      continue;
    }
    const chunk = CHUNK.exec(key);
    if (chunk !== null && chunk[1] === name) chunks.push([Number(chunk[2]), value]);
  }
  if (chunks.length === 0) return { present: false };
  chunks.sort((a, b) => a[0] - b[0]);
  const complete = chunks[chunks.length - 1]![0] === chunks.length - 1;
  return { present: true, value: complete ? chunks.map((c) => c[1]).join('') : undefined, size: sessionCookieSize(pairs, name) };
}

function* cookiePairs(header: string): Iterable<[string, string]> {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    yield [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  }
}

export function cookieFactsOfHeader(header: string | undefined, name: string): CookieFacts {
  if (!header || !header.includes(name)) return { present: false };
  return sessionCookieFrom(cookiePairs(header), name);
}

export type CookieStore = { getAll?: () => { name: string; value: string }[] };

export function cookieFactsOfStore(cookies: CookieStore, name: string): CookieFacts {
  const all = typeof cookies.getAll === 'function' ? cookies.getAll() : [];
  return sessionCookieFrom(
    all.map((c) => [c.name, c.value] as [string, string]),
    name,
  );
}

export function sameCookie(a: CookieFacts, b: CookieFacts): boolean {
  if (!a.present || !b.present) return a.present === b.present;
  return a.value === b.value;
}

/**
 * Why a present session cookie gave no session. v4 writes a compact JWE with only
 * `{"alg":"dir","enc":"A256GCM"}` in the clear (`exp` is inside the ciphertext), so:
 * - broken structure (truncated, a missing chunk, a mangled header) is `malformed`;
 * - a well-formed JWE that v4 cannot have written (another algorithm) is `undecryptable`;
 * - a well-formed v4 JWE is expired, encrypted with another secret or tampered with inside the
 *   ciphertext: without the secret these look the same, so `unknown`.
 */
export function v4InvalidCookieReason(value: string | undefined): 'malformed' | 'undecryptable' | 'unknown' {
  if (value === undefined || value === '') return 'malformed';
  const parts = value.split('.');
  if (parts.length !== 5) return 'malformed';
  const header = base64UrlJson(parts[0]!);
  if (header === undefined || typeof header.alg !== 'string' || typeof header.enc !== 'string') return 'malformed';
  if (header.alg !== 'dir' || header.enc !== 'A256GCM') return 'undecryptable';
  // `dir` has no encrypted key; A256GCM has a 96-bit IV and a 128-bit tag.
  if (parts[1] !== '' || parts[2]!.length !== 16 || parts[4]!.length !== 22 || parts[3]!.length === 0) return 'malformed';
  return 'unknown';
}
