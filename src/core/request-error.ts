/**
 * Next.js ≥ 15 calls `onRequestError` (exported from `instrumentation.ts`) for every error that
 * escapes a render, a route handler, a server action, middleware or (Next 16) proxy. Auth errors
 * among them are the ones no adapter saw being handled: a `getAccessToken()` in a Server Component
 * that threw, the 4.5.1 `JWTExpired` 500 of seed 002. They are counted by route type; anything
 * else is left to the app's own error reporting.
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { ATTRIBUTES, AUTH_ERROR_TYPES, INSTRUMENTATION_SCOPE, NEXTJS_AUTH0_V4_ERROR_CODES, OTHER, SPANS, type AuthSdk } from './catalog.js';
import { bounded } from './bounded.js';
import { syntheticTypeOf, type Classification } from './classifier.js';
import { countInstrumentationError, engine } from './engine.js';
import { normalizeError, type NormalizedError } from './errors.js';
import type { HeaderSource } from './headers.js';
import type { MetricFacts } from './recorder.js';
import { currentRuntime } from './runtime.js';
import { VERSION } from './version.js';

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
function authErrorOf(error: unknown): NormalizedError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    const normalized = normalizeError(current);
    if (normalized.code !== OTHER || AUTH_ERROR_TYPE_SET.has(normalized.type)) return normalized;
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
    const normalized = authErrorOf(error);
    if (normalized === undefined) return;
    let classification: Classification = { class: 'unknown', rule: 'no-request' };
    const headers = request?.headers;
    if (headers !== undefined && headers !== null) {
      try {
        classification = engine().classify(headers as HeaderSource);
      } catch {
        countInstrumentationError('classify');
      }
    }
    const facts: MetricFacts = {
      sdk: sdkOf(normalized),
      outcome: 'error',
      userAgentClass: classification.class,
      syntheticType: syntheticTypeOf(classification.class),
      runtime: currentRuntime(),
      route: engine().routes.accept(typeof errorContext?.routePath === 'string' ? errorContext.routePath : undefined),
      errorCode: normalized.code,
      errorType: normalized.type,
      routeType: bounded('routeType', errorContext?.routeType),
    };
    const attributes = engine().recorder.add('requestErrors', facts);
    const span = trace.getTracer(INSTRUMENTATION_SCOPE, VERSION).startSpan(SPANS.requestError.name, { kind: SpanKind.INTERNAL, attributes }, context.active());
    if (span.isRecording()) {
      span.setAttribute(ATTRIBUTES.userAgentRule.key, classification.rule);
      if (normalized.oauthCode !== undefined) span.setAttribute(ATTRIBUTES.oauthError.key, normalized.oauthCode);
      if (normalized.causeName !== undefined) span.setAttribute(ATTRIBUTES.errorCause.key, normalized.causeName.slice(0, 64));
      // The bounded code, never the message: messages may carry user data.
      span.setStatus({ code: SpanStatusCode.ERROR, message: facts.errorCode ?? facts.errorType ?? 'error' });
    }
    span.end();
  } catch {
    countInstrumentationError('record');
  }
}
