/**
 * NextAuth reports session and sign-in failures only through `logger.error`: v4 calls
 * `error(code, metadata)` with codes such as `JWT_SESSION_ERROR`, Auth.js v5 calls `error(error)`
 * with an `AuthError` whose `.type` is the code and whose `cause.err` is the underlying error.
 */
import type { AuthSdk } from '../../core/telemetry/catalog.js';

export type LoggedError = Readonly<{
  sdk: Extract<AuthSdk, 'next-auth-v4' | 'authjs-v5'>;
  /** `JWT_SESSION_ERROR` (v4) or `JWTSessionError` (v5); may be anything, bounded later. */
  code: string | undefined;
  /** The object carrying the failure (v5: the AuthError itself; v4: the metadata). */
  error: unknown;
  /** The underlying error: what a callback threw, or jose's decryption error. */
  cause: unknown;
}>;

export function parseLoggedError(args: readonly unknown[]): LoggedError {
  const [first, second] = args;
  if (typeof first === 'string') {
    const cause = second instanceof Error ? second : (second as { error?: unknown } | undefined)?.error;
    return { sdk: 'next-auth-v4', code: first, error: second, cause };
  }
  const error = first as { type?: unknown; name?: unknown; cause?: { err?: unknown } } | undefined;
  const code = typeof error?.type === 'string' ? error.type : typeof error?.name === 'string' ? error.name : undefined;
  return { sdk: 'authjs-v5', code, error: first, cause: error?.cause?.err };
}

export type LoggedErrorKind = 'session' | 'signin' | 'callback' | 'other';

const SESSION_CODES = new Set(['JWT_SESSION_ERROR', 'SESSION_ERROR', 'JWTSessionError', 'SessionTokenError']);
const SIGNIN_CODES = new Set(['SIGNIN_OAUTH_ERROR', 'SIGNIN_EMAIL_ERROR', 'SignInError', 'OAuthSignInError', 'EmailSignInError']);
const CALLBACK_CODES = new Set([
  'OAUTH_CALLBACK_ERROR',
  'OAUTH_CALLBACK_HANDLER_ERROR',
  'CALLBACK_OAUTH_ERROR',
  'CALLBACK_CREDENTIALS_JWT_ERROR',
  'CALLBACK_CREDENTIALS_HANDLER_ERROR',
  'CALLBACK_EMAIL_HANDLER_ERROR',
  'CallbackRouteError',
  'OAuthCallbackError',
  'AccessDenied',
  'OAuthAccountNotLinked',
  'CredentialsSignin',
  'InvalidCheck',
]);

export function kindOfLoggedError(code: string | undefined): LoggedErrorKind {
  if (code === undefined) return 'other';
  if (SESSION_CODES.has(code)) return 'session';
  if (SIGNIN_CODES.has(code)) return 'signin';
  if (CALLBACK_CODES.has(code)) return 'callback';
  return 'other';
}

/** Why a session cookie could not be read, from jose's error (NextAuth hides it behind its own code). */
export function invalidReasonOf(cause: unknown): string {
  const err = cause as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  const name = typeof err?.name === 'string' ? err.name : '';
  if (code === 'ERR_JWT_EXPIRED' || name === 'JWTExpired') return 'expired';
  if (code === 'ERR_JWE_DECRYPTION_FAILED' || name === 'JWEDecryptionFailed') return 'undecryptable';
  if (code.startsWith('ERR_JWE') || code.startsWith('ERR_JWT') || code === 'ERR_JOSE_NOT_SUPPORTED' || name === 'JWEInvalid' || name === 'JWTInvalid')
    return 'malformed';
  // v4 throws `new Error("JWT invalid")` and v5 `new Error("Invalid JWT")` when decoding yields nothing.
  if (typeof err?.message === 'string' && /^(JWT invalid|Invalid JWT)$/.test(err.message)) return 'malformed';
  return 'unknown';
}

/**
 * The SDKs' own default `logger.error`, reproduced because giving NextAuth an `error` function
 * replaces theirs: without a user logger, the console output stays what it was.
 */
export function defaultLoggerError(args: readonly unknown[]): void {
  const [first, second] = args;
  if (typeof first === 'string') {
    let metadata = second as Record<string, unknown> | undefined;
    if (metadata instanceof Error) metadata = { message: metadata.message, stack: metadata.stack, name: metadata.name };
    else if (metadata && metadata.error instanceof Error) {
      const inner = metadata.error;
      metadata.error = { message: inner.message, stack: inner.stack, name: inner.name };
      metadata.message ??= inner.message;
    }
    console.error(`[next-auth][error][${first}]`, `\nhttps://next-auth.js.org/errors#${first.toLowerCase()}`, metadata?.message, metadata);
    return;
  }
  const error = first as { type?: unknown; name?: unknown; message?: unknown; stack?: unknown; cause?: unknown } | undefined;
  const name = typeof error?.type === 'string' ? error.type : error?.name;
  const red = '\x1b[31m';
  const reset = '\x1b[0m';
  console.error(`${red}[auth][error]${reset} ${String(name)}: ${String(error?.message)}`);
  const cause = error?.cause;
  if (cause && typeof cause === 'object' && 'err' in cause && (cause as { err: unknown }).err instanceof Error) {
    const { err, ...data } = cause as { err: Error };
    console.error(`${red}[auth][cause]${reset}:`, err.stack);
    if (data) console.error(`${red}[auth][details]${reset}:`, JSON.stringify(data, null, 2));
  } else if (typeof error?.stack === 'string') {
    console.error(error.stack.replace(/.*/, '').substring(1));
  }
}
