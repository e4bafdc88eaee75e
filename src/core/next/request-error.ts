/**
 * Next.js ≥ 15 calls `onRequestError` (exported from `instrumentation.ts`) for every error that
 * escapes a render, a route handler, a server action, middleware or (Next 16) proxy. Auth errors
 * among them are the ones no adapter saw being handled: a `getAccessToken()` in a Server Component
 * that threw, nextjs-auth0 4.5.1's `JWTExpired` 500. They are counted by route type; anything
 * else is left to the app's own error reporting.
 */
import { AUTH_ERROR_TYPES, NEXTJS_AUTH0_V4_ERROR_CODES, OTHER, type AuthSdk } from '../telemetry/catalog.js';
import { reportInstrumentationError } from '../engine/engine.js';
import { normalizeError, type NormalizedError } from '../parsing/errors.js';
import { startOperation } from '../operation/operation.js';

/** The second argument Next passes: the request, with plain-object headers. */
export type RequestErrorRequest = Readonly<{ path?: string; method?: string; headers?: Record<string, string | string[] | undefined> }>;
/** The third argument Next passes. */
export type RequestErrorContext = Readonly<{
  routerKind?: string;
  routePath?: string;
  routeType?: string;
  renderSource?: string;
  revalidateReason?: string;
}>;

const AUTH_ERROR_TYPE_SET: ReadonlySet<string> = new Set(AUTH_ERROR_TYPES);

const V4_CODES: ReadonlySet<string> = new Set(NEXTJS_AUTH0_V4_ERROR_CODES);

function sdkOf(error: NormalizedError): AuthSdk {
  const { code, type } = error;
  if (code.startsWith('ERR_') && !code.startsWith('ERR_JW')) return 'nextjs-auth0-v3';
  if (V4_CODES.has(code) || type === 'SdkError') return 'nextjs-auth0-v4';
  if (type === 'AuthError' || /^[A-Z][a-zA-Z]+Error$/.test(code) || code === 'AccessDenied' || code === 'MissingSecret') return 'authjs-v5';
  if (/^[A-Z_]+_ERROR$/.test(code)) return 'next-auth-v4';
  return 'custom';
}

/** An auth error itself, or one carrying an auth error as its cause. */
function authErrorOf(error: unknown): { error: object; normalized: NormalizedError } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    const normalized = normalizeError(current);
    if (normalized.code !== OTHER || AUTH_ERROR_TYPE_SET.has(normalized.type)) return { error: current, normalized };
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * For `instrumentation.ts`: `export { onRequestError } from 'nextjs-auth-otel';`, or call it from
 * your own `onRequestError`. Records an `auth.request.error` span and `auth.request.errors` for
 * auth errors; ignores the rest. Never throws.
 */
export function onRequestError(error: unknown, request?: RequestErrorRequest, errorContext?: RequestErrorContext): void {
  try {
    const found = authErrorOf(error);
    if (found === undefined) return;
    const headers = request?.headers ?? undefined;
    const route = typeof errorContext?.routePath === 'string' ? errorContext.routePath : undefined;
    const operation = startOperation('requestError', { sdk: sdkOf(found.normalized), request: headers, route });
    // Every request error carries a route type, `other` when Next gave none.
    operation.end({ outcome: 'error', error: found.error, routeType: typeof errorContext?.routeType === 'string' ? errorContext.routeType : OTHER });
  } catch (error) {
    reportInstrumentationError('record', error);
  }
}
