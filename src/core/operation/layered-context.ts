import type { Context } from '@opentelemetry/api';

/**
 * A context that adds one value on top of another (docs/why-it-is-fast.md). An operation layers
 * its ambient, then its stand-in span: the public `trace.setSpan` calls `setValue` on this object,
 * which adds one more layer. Lookups walk the few layers an operation adds, then ask the context
 * underneath.
 */
export class LayeredContext implements Context {
  constructor(
    private readonly below: Context,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}

  getValue(key: symbol): unknown {
    return key === this.key ? this.value : this.below.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new LayeredContext(this, key, value);
  }

  deleteValue(key: symbol): Context {
    // A layer holding `undefined` hides the value below, as a deletion does.
    return new LayeredContext(this, key, undefined);
  }
}
