/**
 * Reading headers and cookies from every request shape the SDKs hand us: Web `Request` /
 * `NextRequest`, `Headers`, Node's `IncomingMessage` / `NextApiRequest`, and plain header records.
 */

type HeaderRecord = Record<string, string | string[] | undefined>;
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
    if (headers === undefined) return undefined;
    if (isHeaders(headers)) return headers.get(name) ?? undefined;
    const value = headers[name] ?? headers[name.toLowerCase()];
    if (Array.isArray(value)) return value[0];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
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
