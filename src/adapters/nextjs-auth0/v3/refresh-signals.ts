import { safely } from '../../../core/engine/engine.js';
import type { AnyFunction } from '../../wrap.js';
import type { V3Session } from './context.js';

export type RefreshSignals = { exchangeStarting: () => void; exchanged: (session: V3Session | undefined) => void };

/**
 * Options that report the SDK's own refresh signals: v3 reads `authorizationParams` exactly when
 * it starts the refresh-token exchange, and calls `afterRefresh` once the exchange succeeded.
 * The SDK sees the caller's values unchanged; `afterRefresh` returns what the caller's would.
 *
 * One class, so every call's options object has the same shape (docs/why-it-is-fast.md). v3
 * reads both members straight off the options object, never from a copy.
 */
export class SignallingAccessTokenRequest {
  readonly #base: Record<string, unknown>;
  readonly #signals: RefreshSignals;

  constructor(userOptions: unknown, signals: RefreshSignals) {
    const base = (typeof userOptions === 'object' && userOptions !== null ? userOptions : {}) as Record<string, unknown>;
    this.#base = base;
    this.#signals = signals;
    for (const key in base) {
      if (key !== 'authorizationParams' && key !== 'afterRefresh' && Object.hasOwn(base, key)) (this as Record<string, unknown>)[key] = base[key];
    }
  }

  get authorizationParams(): unknown {
    // Telemetry never interferes with the exchange.
    safely('record', () => this.#signals.exchangeStarting());
    return this.#base.authorizationParams;
  }

  afterRefresh(...hookArgs: unknown[]): unknown {
    const session = hookArgs[hookArgs.length - 1] as V3Session | undefined;
    safely('record', () => this.#signals.exchanged(session));
    const userAfterRefresh = this.#base.afterRefresh;
    return typeof userAfterRefresh === 'function' ? (userAfterRefresh as AnyFunction).apply(this, hookArgs) : session;
  }
}
