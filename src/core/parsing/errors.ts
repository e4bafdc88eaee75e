import { OAUTH_ERROR_TYPE, OTHER } from '../telemetry/catalog.js';
import { bounded, isAllowed } from '../telemetry/bounded.js';

export type NormalizedError = Readonly<{
  /** `auth.error.code`: the SDK's code from the allowlist, else `other`. */
  code: string;
  /** The OAuth error of a failed token exchange (`invalid_grant`, …), when one is present. */
  oauthCode: string | undefined;
  /** `error.type`: the error's class name from the allowlist, else `other`. */
  type: string;
  /** Class name of the cause, for spans only (e.g. `MissingStateCookieError`). */
  causeName: string | undefined;
}>;

type ErrorLike = { code?: unknown; error?: unknown; name?: unknown; cause?: unknown; type?: unknown };

function asObject(value: unknown): ErrorLike | undefined {
  return typeof value === 'object' && value !== null ? (value as ErrorLike) : undefined;
}

function className(err: ErrorLike): string | undefined {
  if (typeof err.name === 'string' && err.name !== 'Error') return err.name;
  const ctor = (err as { constructor?: { name?: unknown } }).constructor;
  if (ctor && typeof ctor.name === 'string' && ctor.name !== 'Object') return ctor.name;
  return typeof err.name === 'string' ? err.name : undefined;
}

/** The OAuth error code behind a failed exchange: v3 `cause.error`, v4 `cause.code`, or the error's own. */
function oauthCodeOf(err: ErrorLike): string | undefined {
  const cause = asObject(err.cause);
  for (const candidate of [cause?.error, cause?.code, err.error]) {
    if (typeof candidate === 'string' && candidate.length > 0) return bounded('errorCode', candidate);
  }
  return undefined;
}

/** Maps anything thrown (or returned as an error) to the bounded attribute values. Never throws. */
export function normalizeError(thrown: unknown): NormalizedError {
  try {
    if (typeof thrown === 'string') {
      return { code: bounded('errorCode', thrown), oauthCode: undefined, type: OTHER, causeName: undefined };
    }
    const err = asObject(thrown);
    if (err === undefined) return { code: OTHER, oauthCode: undefined, type: OTHER, causeName: undefined };
    const name = className(err);
    // Auth.js v5 errors carry their kind in `.type`; nextjs-auth0 and jose carry it in `.code`.
    const codeCandidate = isAllowed('errorCode', err.code) ? err.code : isAllowed('errorCode', err.type) ? err.type : err.error;
    const cause = asObject(err.cause);
    return {
      code: bounded('errorCode', codeCandidate),
      oauthCode: oauthCodeOf(err),
      // A thrown token-endpoint body (`throw await response.json()`) has no class: it is an OAuth error response.
      type: name === undefined && typeof err.error === 'string' ? OAUTH_ERROR_TYPE : bounded('errorType', name),
      causeName: cause ? className(cause) : undefined,
    };
  } catch {
    // The thrown value is the app's or the SDK's and may be anything (a proxy, throwing getters): `other`.
    return { code: OTHER, oauthCode: undefined, type: OTHER, causeName: undefined };
  }
}

/** Next.js signals redirects and 404s by throwing; those are control flow, not failures. */
export function isNextControlFlow(thrown: unknown): boolean {
  const digest = asObject(thrown) && (thrown as { digest?: unknown }).digest;
  return typeof digest === 'string' && (digest.startsWith('NEXT_REDIRECT') || digest === 'NEXT_NOT_FOUND' || digest.startsWith('NEXT_HTTP_ERROR_FALLBACK'));
}
