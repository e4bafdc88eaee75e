/**
 * Refresh-token exchanges made by hand-rolled rotation code inside a NextAuth / Auth.js `jwt`
 * callback, seen on the wire as nextjs-auth0 v4's are: a `fetch` POST whose form body carries
 * `grant_type=refresh_token`, made while an instrumented callback runs, is one refresh, timed by the
 * exchange and failed with the IdP's own OAuth `error` (`invalid_grant`). Each retry the app's
 * code makes is one more exchange, so the counts match the IdP's. The token diff in the callback
 * stays the fallback for code that does not use `fetch` (axios, a non-OAuth backend).
 *
 * The global `fetch` is wrapped once; outside a `jwt` callback, and for every other request, the
 * original is called with the very same `this` and arguments and its own promise is returned.
 */
import { reportInstrumentationError } from '../engine/engine.js';
import { startOperation, Operation } from '../operation/operation.js';
import { ambientIn } from '../operation/request-scope.js';
import type { OperationResult } from '../operation/result.js';
import { exchangeResult, grantOf, tokenAnswerOf, type FetchLike } from './exchange.js';
import { currentRefreshFrame, type RefreshFrame } from './trace-token-refresh.js';

const WRAPPED = Symbol.for('nextjs-auth-otel.frame-fetch');

/** The refresh grant of a fetch made inside an instrumented `jwt` callback, unless an enclosing SDK call or `traceTokenRefresh` accounts for it. */
function refreshInFrame(init: unknown): { frame: RefreshFrame; refreshToken: string | null } | undefined {
  const frame = currentRefreshFrame();
  if (frame === undefined) return undefined;
  const grant = grantOf(init as { body?: unknown } | undefined);
  if (grant?.get('grant_type') !== 'refresh_token') return undefined;
  if (ambientIn() instanceof Operation) return undefined;
  return { frame, refreshToken: grant.get('refresh_token') };
}

/** Ends the refresh once the frame's late classification (App Router `next/headers`) is done. Never rejects. */
async function settle(frame: RefreshFrame, refresh: Operation, result: () => OperationResult | Promise<OperationResult>): Promise<void> {
  try {
    await frame.classifyLate?.(refresh);
    refresh.end({ ...(await result()), userId: frame.userId });
  } catch (error) {
    reportInstrumentationError('record', error);
    refresh.end({ outcome: 'failure' });
  }
}

function observed(original: FetchLike): FetchLike {
  const wrapped = function (this: unknown, input: unknown, init?: unknown): Promise<Response> {
    let found: ReturnType<typeof refreshInFrame>;
    try {
      found = refreshInFrame(init);
    } catch (error) {
      reportInstrumentationError('other', error);
    }
    // eslint-disable-next-line prefer-rest-params -- the caller's exact arguments, however many
    if (found === undefined) return original.apply(this, arguments as unknown as [unknown, unknown]);
    const { frame, refreshToken } = found;
    frame.traced = true;
    const refresh = startOperation('tokenRefresh', { sdk: frame.sdk, request: frame.request });
    refresh.presentRefreshToken(refreshToken);
    let returned: Promise<Response>;
    try {
      // eslint-disable-next-line prefer-rest-params -- as above
      returned = original.apply(this, arguments as unknown as [unknown, unknown]);
    } catch (thrown) {
      void settle(frame, refresh, () => ({ outcome: 'failure', error: thrown }));
      throw thrown;
    }
    return returned.then(
      async (response) => {
        await settle(frame, refresh, async () => exchangeResult(await tokenAnswerOf(response)));
        return response;
      },
      async (thrown: unknown) => {
        await settle(frame, refresh, () => ({ outcome: 'failure', error: thrown }));
        throw thrown;
      },
    );
  };
  // Next marks its own patched fetch with properties it checks before patching again: keep them.
  Object.assign(wrapped, original);
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  Object.defineProperty(wrapped, 'name', { value: original.name || 'fetch' });
  return wrapped as FetchLike;
}

/** Wraps the global `fetch` once, so exchanges made inside instrumented `jwt` callbacks are recorded. */
export function observeFrameExchanges(): void {
  try {
    const current = globalThis.fetch as (FetchLike & { [WRAPPED]?: boolean }) | undefined;
    if (typeof current !== 'function' || current[WRAPPED] === true) return;
    globalThis.fetch = observed(current) as typeof globalThis.fetch;
  } catch (error) {
    reportInstrumentationError('other', error);
  }
}
