import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

type AsyncLocalStorageLike<T> = { getStore(): T | undefined; run<R>(store: T, fn: () => R): R };

/**
 * Next's Edge runtime exposes `AsyncLocalStorage` as a global (no `node:async_hooks` import), so
 * spans started inside middleware can find their parent.
 */
export function edgeContextManager(): ContextManager | undefined {
  const Als = (globalThis as { AsyncLocalStorage?: new () => AsyncLocalStorageLike<Context> }).AsyncLocalStorage;
  if (typeof Als !== 'function') return undefined;
  const storage = new Als();
  const manager: ContextManager = {
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.apply(thisArg, args)),
    bind: (ctx, target) => {
      if (typeof target !== 'function') return target;
      return function (this: unknown, ...args: unknown[]) {
        return storage.run(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
      } as typeof target;
    },
    enable: () => manager,
    disable: () => manager,
  };
  return manager;
}
