/** What every adapter does to the functions it wraps: recognise a request, name the wrapper. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a wrapped SDK function returns whatever the SDK returns, unchanged
export type AnyFunction = (...args: any[]) => any;

/** A request object of any supported shape (Web `Request`, `NextRequest`, Node `IncomingMessage`). */
export function isRequestLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'headers' in value && ('url' in value || 'method' in value);
}

/** Gives a wrapper the wrapped function's name, so stack traces and `fn.name` read the same. */
export function named<F extends AnyFunction>(fn: F, name: string): F {
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}

/** The `code` of a thrown value, if it has one. */
export function codeOf(thrown: unknown): unknown {
  try {
    return typeof thrown === 'object' && thrown !== null ? (thrown as { code?: unknown }).code : undefined;
  } catch {
    // A throwing `code` getter on an app's error: no code, and the error itself still reaches the app.
    return undefined;
  }
}
