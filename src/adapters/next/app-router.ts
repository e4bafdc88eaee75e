/**
 * The App Router call forms (`getSession()` with no arguments) have no request object; the
 * request's headers and cookies are reachable only through `next/headers`. Loaded lazily so the
 * package never imports Next at module load, and only called after the SDK itself has read the
 * cookies, so an instrumented page never becomes dynamic because of us.
 */
type CookieStore = { get(name: string): { value: string } | undefined; getAll?(): { name: string; value: string }[] };
type NextHeadersModule = {
  headers: () => Headers | Promise<Headers>;
  cookies: () => CookieStore | Promise<CookieStore>;
};

let loading: Promise<NextHeadersModule | undefined> | undefined;

function loadNextHeaders(): Promise<NextHeadersModule | undefined> {
  loading ??= import('next/headers').then(
    (module) => module as unknown as NextHeadersModule,
    // Not a Next app (or no App Router): there is nothing to read, which is not a failure.
    () => undefined,
  );
  return loading;
}

export type AppRouterRequest = Readonly<{ headers: Headers; cookies: CookieStore }>;

/** The current App Router request's headers and cookies, or undefined outside a request. */
export async function appRouterRequest(): Promise<AppRouterRequest | undefined> {
  const module = await loadNextHeaders();
  if (module === undefined) return undefined;
  try {
    const [headers, cookies] = await Promise.all([module.headers(), module.cookies()]);
    return { headers, cookies };
  } catch {
    // Called outside a request (build, Pages Router): there is no App Router request to read.
    return undefined;
  }
}

/** A session cookie as seen through `cookies()`: the value or its first chunk, joined with all chunks for comparison. */
export function sessionCookieSnapshot(cookies: CookieStore, name: string): { first: string | undefined; all: string } {
  const whole = cookies.get(name)?.value;
  if (whole !== undefined) return { first: whole, all: whole };
  const chunks: string[] = [];
  for (let i = 0; ; i++) {
    const chunk = cookies.get(`${name}.${i}`)?.value;
    if (chunk === undefined) break;
    chunks.push(chunk);
  }
  return { first: chunks[0], all: chunks.join('') };
}
