import type { Exception, Link, Span, SpanAttributes, SpanAttributeValue, SpanContext, SpanStatus, TimeInput } from '@opentelemetry/api';

/**
 * The span an operation puts in its context, through the public `trace.setSpan`. It stands for
 * the operation's real span, which is started by the first method called on it: a nested span
 * (another instrumentation's, an SDK hook's) reads `spanContext()` to name its parent, and only
 * then is the operation's span started. With `spans: 'notable'` a routine call that nothing
 * nests under therefore never starts a span, and one that something nested under keeps it as
 * that span's parent.
 */
export class DeferredSpan implements Span {
  constructor(private readonly owner: { readonly span: Span }) {}

  spanContext(): SpanContext {
    return this.owner.span.spanContext();
  }

  setAttribute(key: string, value: SpanAttributeValue): this {
    this.owner.span.setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    this.owner.span.setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: SpanAttributes | TimeInput, startTime?: TimeInput): this {
    this.owner.span.addEvent(name, attributesOrStartTime, startTime);
    return this;
  }

  addLink(link: Link): this {
    this.owner.span.addLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.owner.span.addLinks(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.owner.span.setStatus(status);
    return this;
  }

  updateName(name: string): this {
    this.owner.span.updateName(name);
    return this;
  }

  end(endTime?: TimeInput): void {
    this.owner.span.end(endTime);
  }

  isRecording(): boolean {
    return this.owner.span.isRecording();
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.owner.span.recordException(exception, time);
  }
}
