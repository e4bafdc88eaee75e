/**
 * Seeing refresh-token exchanges where they really happen: on the wire to the IdP's token
 * endpoint. SDKs that take a custom `fetch` (nextjs-auth0 v4) call it exactly when an exchange
 * starts, so a refresh span starts and ends with the exchange itself, and exists only when one
 * took place. The SDK call that caused it (a token request, an auth route) is found through the
 * active context; without one the exchange is still recorded on its own.
 */
import { OAUTH_ERROR_TYPE, type AuthSdk } from '../telemetry/catalog.js';
import { reportInstrumentationError } from '../engine/engine.js';
import { startOperation, type Operation } from '../operation/operation.js';
import { ambientIn } from '../operation/request-scope.js';
import type { OperationResult } from '../operation/result.js';

/** The SDK call an exchange belongs to, and what was seen of the exchange. */
export class ExchangeHost {
  /** The OAuth `error` of a failed token-endpoint answer (bounded later by the engine). */
  oauthError: string | undefined;
  /** The HTTP status of a failed token-endpoint answer: a 503 tells an outage from a refusal. */
  failedStatus: number | undefined;
  /** A token-endpoint request other than a refresh (e.g. a connection token exchange) happened. */
  exchanged = false;
  /** The new access token's lifetime from the IdP's answer, for calls whose result does not carry it (auth routes). */
  tokenExpiresIn: number | undefined;

  constructor(readonly operation: Operation) {}

  /** The `auth.token.refresh` child, started when a refresh grant left for the token endpoint. */
  get refresh(): Operation | undefined {
    return this.operation.refreshed;
  }

  /** Ends the refresh child, if one started, with what the SDK finally made of it. */
  settleRefresh(ok: boolean, details: { error?: unknown; tokenExpiresIn?: number; userId?: string } = {}): void {
    const refresh = this.refresh;
    if (refresh === undefined) return;
    if (ok) {
      refresh.end({ outcome: 'success', tokenExpiresIn: details.tokenExpiresIn ?? this.tokenExpiresIn, userId: details.userId });
      return;
    }
    // The thrown error carries the OAuth code in its cause; an auth route's response does not,
    // so the token endpoint's own answer is the fallback.
    const answered = details.error === undefined && this.oauthError !== undefined;
    refresh.end({
      outcome: 'failure',
      error: details.error,
      errorCode: details.error === undefined ? (this.oauthError ?? 'failed_to_refresh_token') : undefined,
      statusCode: this.failedStatus,
      errorType: answered ? OAUTH_ERROR_TYPE : undefined,
    });
  }
}

/** Runs `fn` as `operation`'s SDK call, so exchanges it makes are attributed to it. */
export function runAsExchangeHost<T>(operation: Operation, fn: (host: ExchangeHost) => T): { host: ExchangeHost; result: T } {
  const host = new ExchangeHost(operation);
  operation.hostExchanges(host);
  return { host, result: operation.run(() => fn(host)) };
}

/** The SDK call in progress in this context, if an adapter made it one. */
export function activeExchangeHost(): ExchangeHost | undefined {
  return ambientIn()?.exchangeHost;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fetch's own parameter types differ between Node, Edge and DOM typings
export type FetchLike = (input: any, init?: any) => Promise<Response>;

/** The grant parameters of a token-endpoint request body, when it is form-encoded. */
export function grantOf(init: { method?: unknown; body?: unknown } | undefined): URLSearchParams | undefined {
  const body = init?.body;
  if (body instanceof URLSearchParams) return body;
  if (typeof body === 'string' && body.includes('grant_type=')) return new URLSearchParams(body);
  return undefined;
}

/** The token response's JSON body, read from a clone so the SDK still reads the original; undefined when unreadable. */
export async function tokenResponseBody(response: Response): Promise<{ error?: unknown; expires_in?: unknown } | undefined> {
  try {
    const body = (await response.clone().json()) as unknown;
    return typeof body === 'object' && body !== null ? body : undefined;
  } catch {
    // The IdP answered without a JSON body (an HTML error page): nothing more to read.
    return undefined;
  }
}

/** What the token endpoint answered to an exchange. */
export type TokenAnswer = { ok: boolean; status: number; oauthError: string | undefined; tokenExpiresIn: number | undefined };

export async function tokenAnswerOf(response: Response): Promise<TokenAnswer> {
  const body = await tokenResponseBody(response);
  const error = body?.error;
  const expiresIn = body?.expires_in;
  return {
    ok: response.ok,
    status: response.status,
    oauthError: !response.ok && typeof error === 'string' ? error : undefined,
    tokenExpiresIn: response.ok && typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? expiresIn : undefined,
  };
}

/** A refresh recorded on its own, as the token endpoint answered it: failed with the IdP's OAuth code, or with the new token's lifetime. */
export function exchangeResult(answer: TokenAnswer): OperationResult {
  if (answer.ok) return { outcome: 'success', statusCode: answer.status, tokenExpiresIn: answer.tokenExpiresIn };
  const error = answer.oauthError;
  return { outcome: 'failure', errorCode: error ?? 'other', errorType: error === undefined ? undefined : OAUTH_ERROR_TYPE, statusCode: answer.status };
}

/** A token-endpoint request as the wrapper saw it leave: the SDK call it belongs to, and its refresh. */
type Seen = { host: ExchangeHost | undefined; refresh: Operation | undefined; standalone: boolean };

/**
 * The request options of exchanges already being observed. One exchange can pass two observed
 * fetches (the SDK's internal fetch, patched, around a `customFetch` the app made observed), and
 * both see the very same options object: only the first records it.
 */
const observedRequests = new WeakSet<object>();

/** True the first time an exchange's options are seen: the caller observes it, later layers pass it on. */
function claimObservation(init: object): boolean {
  if (observedRequests.has(init)) return false;
  observedRequests.add(init);
  return true;
}

/** A refresh (the active SDK call's, or one on its own) or another grant of the active call; undefined for anything else. */
function recognise(sdk: AuthSdk, init: { body?: unknown } | undefined): Seen | undefined {
  const grant = grantOf(init);
  const grantType = grant?.get('grant_type');
  if (grant === undefined || grantType === undefined || grantType === null || !claimObservation(init!)) return undefined;
  const host = activeExchangeHost();
  if (grantType !== 'refresh_token') {
    if (host === undefined) return undefined;
    host.exchanged = true;
    return { host, refresh: undefined, standalone: false };
  }
  // A DPoP nonce retry sends the same grant again: still one exchange.
  const refresh = host !== undefined ? host.operation.refresh() : startOperation('tokenRefresh', { sdk });
  refresh.presentRefreshToken(grant.get('refresh_token'));
  return { host, refresh, standalone: host === undefined };
}

/** Notes the answer on the SDK call (its refresh ends with the call), or ends a refresh recorded on its own. */
async function settleExchange({ host, refresh, standalone }: Seen, response: Response): Promise<void> {
  // A successful grant other than a refresh has nothing to report.
  if (response.ok && refresh === undefined) return;
  const answer = await tokenAnswerOf(response);
  if (host !== undefined) {
    if (answer.ok) host.tokenExpiresIn = answer.tokenExpiresIn;
    else {
      host.oauthError = answer.oauthError;
      host.failedStatus = answer.status;
    }
  }
  if (standalone) refresh!.end(exchangeResult(answer));
}

/**
 * Wraps an SDK's fetch. The SDK gets the very response (or rejection) the original fetch
 * produced; the body of a token response is read from a clone only.
 */
export function observeTokenEndpoint<F extends FetchLike>(sdk: AuthSdk, original: F): F {
  const observed = function (this: unknown, input: unknown, init?: { method?: unknown; body?: unknown }): Promise<Response> {
    let seen: Seen | undefined;
    try {
      seen = recognise(sdk, init);
    } catch (error) {
      reportInstrumentationError('other', error);
    }
    const failed = (thrown: unknown) => {
      if (seen?.standalone) seen.refresh!.end({ outcome: 'failure', error: thrown });
    };
    let returned: Promise<Response>;
    try {
      returned = original.call(this, input, init);
    } catch (thrown) {
      failed(thrown);
      throw thrown;
    }
    if (seen === undefined) return returned;
    const exchange = seen;
    return returned.then(
      async (response) => {
        await settleExchange(exchange, response).catch((error: unknown) => reportInstrumentationError('record', error));
        return response;
      },
      (thrown: unknown) => {
        failed(thrown);
        throw thrown;
      },
    );
  };
  return observed as unknown as F;
}
