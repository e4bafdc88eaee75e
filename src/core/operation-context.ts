import { INVALID_SPAN_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import { REQUEST_SCOPE_KEY, type RequestScope } from './request-scope.js';

/**
 * The key under which the API stores the active span. The API keeps it private, so it is read
 * off `trace.setSpan` once, through a context that only records the key it is given.
 */
export const SPAN_KEY: symbol | undefined = (() => {
  let captured: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue(key) {
      captured = key;
      return probe;
    },
    deleteValue: () => probe,
  };
  try {
    trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  } catch {
    return undefined;
  }
  return captured;
})();

/** What the context needs of an operation: its span, started on first use, and its request scope. */
export interface ContextOwner {
  readonly span: Span;
  readonly scope: RequestScope;
}

/**
 * An operation's context. It answers the span key with the operation's span, which is only
 * started when something asks for it: a nested span (another instrumentation's, or a child
 * operation) needs it as its parent, and the operation itself needs it when it ends with a span.
 * Until then a call costs no span and no copy of the parent context's value map; with
 * `spans: 'notable'`, a successful session read never starts one.
 *
 * Values set on it (an exchange host, another library's keys) are layered onto the parent
 * context without starting the span.
 */
export class OperationContext implements Context {
  constructor(
    private readonly owner: ContextOwner,
    /** The parent context plus whatever was set on this one; never holds the owner's span. */
    private readonly base: Context,
  ) {}

  getValue(key: symbol): unknown {
    if (key === SPAN_KEY) return this.owner.span;
    if (key === REQUEST_SCOPE_KEY) return this.owner.scope;
    return this.base.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    if (key === SPAN_KEY) return this.base.setValue(REQUEST_SCOPE_KEY, this.owner.scope).setValue(key, value);
    if (key === REQUEST_SCOPE_KEY) return trace.setSpan(this.base, this.owner.span).setValue(key, value);
    return new OperationContext(this.owner, this.base.setValue(key, value));
  }

  deleteValue(key: symbol): Context {
    if (key === SPAN_KEY) return this.base.setValue(REQUEST_SCOPE_KEY, this.owner.scope);
    if (key === REQUEST_SCOPE_KEY) return trace.setSpan(this.base, this.owner.span);
    return new OperationContext(this.owner, this.base.deleteValue(key));
  }
}
