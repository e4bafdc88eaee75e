/**
 * The `jwt` callback: it runs on every session read, and it is where apps rotate refresh tokens.
 * Exchanges with the token endpoint made through `fetch` are recorded on the wire
 * (core/refresh/frame-exchange.ts); otherwise a rotation is recognised by comparing the token
 * before and after the user's code.
 */
import { reportInstrumentationError, safely } from '../../core/engine/engine.js';
import { recordObserved } from '../../core/operation/observe.js';
import type { OperationResult } from '../../core/operation/result.js';
import { secondsUntil, subOf, epochSeconds } from '../../core/parsing/parse.js';
import { defaultErrorOf, failure, runInRefreshFrame, type RefreshFrame } from '../../core/refresh/trace-token-refresh.js';
import type { AnyFunction } from '../wrap.js';
import { CREATED_AT, callbackErrors, classifyFromAppRouter, isPromiseLike, own, remember, type NextAuthContext, type Token } from './context.js';

type Snapshot = { access: unknown; expiresAt: number | undefined; refresh: unknown; error: unknown };
type JwtParams = { token?: unknown; account?: unknown; user?: unknown; trigger?: unknown };

export function wrapJwt(ctx: NextAuthContext, userJwt: AnyFunction | undefined): AnyFunction {
  return own(function jwt(this: unknown, params: JwtParams) {
    const startedAt = performance.now();
    let before: Snapshot | undefined;
    let signIn = false;
    const frame: RefreshFrame = {
      sdk: ctx.sdk(),
      request: ctx.request,
      classifyLate: classifyFromAppRouter,
      userId: safely('other', () => subOf(params?.token)),
      traced: false,
    };
    try {
      signIn = Boolean(params?.account) || Boolean(params?.user) || params?.trigger === 'signIn' || params?.trigger === 'signUp';
      before = signIn ? undefined : snapshot(ctx, params?.token);
    } catch (error) {
      reportInstrumentationError('other', error);
    }
    const settle = (value: unknown) =>
      afterJwt(ctx, params, value, before, frame, startedAt, signIn).catch((error: unknown) => {
        reportInstrumentationError('record', error);
      });
    let returned: unknown;
    try {
      returned = runInRefreshFrame(frame, () => (userJwt ? userJwt.call(this, params) : params?.token));
    } catch (thrown) {
      remember(callbackErrors, thrown);
      throw thrown;
    }
    if (isPromiseLike(returned)) {
      return Promise.resolve(returned).then(
        (value) => settle(value).then(() => value),
        (thrown: unknown) => {
          remember(callbackErrors, thrown);
          throw thrown;
        },
      );
    }
    // Synchronous callbacks: the stamp must land before NextAuth encodes the token.
    return settle(returned).then(() => returned);
  });
}

function snapshot(ctx: NextAuthContext, token: unknown): Snapshot | undefined {
  if (typeof token !== 'object' || token === null) return undefined;
  try {
    const t = token as Token;
    return { access: ctx.accessTokenOf(t), expiresAt: epochSeconds(ctx.expiresAtOf(t)), refresh: ctx.refreshTokenOf(t), error: defaultErrorOf(t) };
  } catch (error) {
    reportInstrumentationError('other', error);
    return undefined;
  }
}

/** Keeps the sign-in time in the token across writes. */
function stampCreatedAt(token: Token, incoming: Token | undefined, signIn: boolean): void {
  if (token[CREATED_AT] !== undefined) return;
  const carried = incoming?.[CREATED_AT];
  if (signIn) token[CREATED_AT] = Math.floor(Date.now() / 1000);
  else if (carried !== undefined) token[CREATED_AT] = carried;
}

/** Runs after the user's jwt callback; recording never delays or changes what it returned beyond the stamp. */
async function afterJwt(
  ctx: NextAuthContext,
  params: JwtParams,
  returned: unknown,
  before: Snapshot | undefined,
  frame: RefreshFrame,
  startedAt: number,
  signIn: boolean,
): Promise<void> {
  if (typeof returned !== 'object' || returned === null) return;
  const token = returned as Token;
  stampCreatedAt(token, params.token as Token | undefined, signIn);
  // Sign-ins are not refreshes; an exchange seen on the wire, or a refresh function wrapped with
  // traceTokenRefresh, has recorded itself: the token diff is only the fallback.
  if (signIn || frame.traced || before === undefined) return;
  const after = snapshot(ctx, token);
  if (after === undefined) return;
  const rotated = (before.access !== undefined && after.access !== before.access) || (before.expiresAt !== undefined && after.expiresAt !== before.expiresAt);
  const newError = after.error !== undefined && after.error !== before.error;
  // An error carried over unchanged in the very token object NextAuth passed in is an old failure,
  // not a new attempt (apps that stop refreshing once `error` is set return `token` as is).
  const failedAgain = after.error !== undefined && returned !== params.token;
  let result: OperationResult;
  if (rotated) result = newError ? failure(after.error) : { outcome: 'success', tokenExpiresIn: secondsUntil(after.expiresAt) };
  else if (newError || failedAgain) result = failure(after.error);
  else return;
  result.userId = subOf(token);
  await recordObserved(
    'tokenRefresh',
    { sdk: ctx.sdk(), request: ctx.request },
    async (operation) => {
      operation.presentRefreshToken(before.refresh);
      await classifyFromAppRouter(operation);
      return result;
    },
    startedAt,
  );
}
