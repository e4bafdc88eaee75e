/**
 * Terminal or transient: whether a failed refresh could succeed later with the same refresh token.
 * Decided from the OAuth error first (the IdP's own word), then from the failure itself: an HTTP
 * 429 / 5xx, a timeout, a network error, or an answer that is not an OAuth response at all.
 */
import { DEFAULT_REFRESH_FAILURE_KIND, TERMINAL_REFRESH_ERRORS, TRANSIENT_REFRESH_ERRORS, type RefreshFailureKind } from '../telemetry/catalog.js';

const TERMINAL = new Set<string>(TERMINAL_REFRESH_ERRORS);
const TRANSIENT = new Set<string>(TRANSIENT_REFRESH_ERRORS);

/**
 * Error classes of timeouts, aborted requests and token-endpoint answers that are not OAuth
 * responses: oauth4webapi's `OperationProcessingError`, and the `SyntaxError` of a hand-rolled
 * refresh that parses a gateway's HTML error page as JSON.
 */
const TRANSIENT_ERROR_NAMES = new Set([
  'AbortError',
  'TimeoutError',
  'OperationProcessingError',
  'SyntaxError',
  'ConnectTimeoutError',
  'HeadersTimeoutError',
  'SocketError',
]);

/** Node and undici network error codes (undici's `fetch failed` TypeError carries them on its cause). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** openid-client 5 (nextjs-auth0 v3 on Node) reports a non-OAuth answer as `expected 200 OK, got: 503 Service Unavailable`. */
const STATUS_IN_TEXT = /\bgot: (\d{3})\b/;

/**
 * oauth4webapi 2 (nextjs-auth0 v3 on Edge) throws an `OperationProcessingError` with these messages
 * for an answer that is not an OAuth response, and nothing else to tell it by: a bundler that
 * minifies class names (Next's middleware build) renames the class, so its message is all that is left.
 */
const NON_OAUTH_ANSWER = /is not a conform Token Endpoint response|failed to parse "response" body as JSON/;

const isTransientStatus = (status: number | undefined): boolean => status !== undefined && (status === 429 || (status >= 500 && status <= 599));

function statusIn(err: Record<string, unknown>): number | undefined {
  for (const candidate of [err.status, err.statusCode, (err.response as { status?: unknown } | undefined)?.status]) {
    if (typeof candidate === 'number') return candidate;
  }
  for (const text of [err.error, err.message]) {
    const match = typeof text === 'string' ? STATUS_IN_TEXT.exec(text) : null;
    if (match !== null) return Number(match[1]);
  }
  return undefined;
}

/** Whether the thrown value, or a cause under it, is a timeout, a network error, a 429 / 5xx or a non-OAuth answer. */
function looksTransient(thrown: unknown): boolean {
  let current: unknown = thrown;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const err = current as Record<string, unknown>;
    if (typeof err.name === 'string' && TRANSIENT_ERROR_NAMES.has(err.name)) return true;
    if (typeof err.code === 'string' && NETWORK_CODES.has(err.code)) return true;
    if (isTransientStatus(statusIn(err))) return true;
    if (typeof err.message === 'string' && NON_OAUTH_ANSWER.test(err.message)) return true;
    current = err.cause;
  }
  return false;
}

/**
 * The kind of a failed refresh, from its codes (the bounded OAuth error and SDK code), the HTTP
 * status the IdP answered with when it is known, and the failure itself. Never throws.
 */
export function refreshFailureKind(codes: readonly (string | undefined)[], status: number | undefined, thrown: unknown): RefreshFailureKind {
  try {
    for (const code of codes) if (code !== undefined && TERMINAL.has(code)) return 'terminal';
    for (const code of codes) if (code !== undefined && TRANSIENT.has(code)) return 'transient';
    if (isTransientStatus(status) || looksTransient(thrown)) return 'transient';
  } catch {
    // A thrown value with throwing getters tells nothing more: the default below.
  }
  return DEFAULT_REFRESH_FAILURE_KIND;
}
