import { reportExportError } from './dropped-telemetry.js';
import { metrics, trace, ProxyTracerProvider, type MeterProvider, type TracerProvider } from '@opentelemetry/api';

const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether some other setup (Next's `@vercel/otel`, a NodeSDK) already installed a tracer provider. */
export function hasGlobalTracerProvider(): boolean {
  const global = trace.getTracerProvider();
  const delegate = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  return delegate !== NOOP_TRACER_PROVIDER;
}

type Flushable = { forceFlush?: () => Promise<void> };

const owned: Flushable[] = [];

export function own(provider: Flushable): void {
  owned.push(provider);
}

/**
 * Exports what is buffered now: for serverless and Edge invocations that may be frozen as soon as
 * the response is sent. Flushes the providers this package installed, or the global ones.
 */
export async function flush(): Promise<void> {
  const targets: Flushable[] = owned.length > 0 ? owned : [globalTracerProvider(), metrics.getMeterProvider() as MeterProvider & Flushable];
  await Promise.all(
    targets.map(async (target) => {
      try {
        await target.forceFlush?.();
      } catch (error) {
        // An unreachable collector must not fail the request that flushes; a span processor's
        // flush rejects without telling the SDK's error handler, so it is reported here.
        reportExportError(error);
      }
    }),
  );
}

function globalTracerProvider(): TracerProvider & Flushable {
  const global = trace.getTracerProvider();
  return (global instanceof ProxyTracerProvider ? global.getDelegate() : global) as TracerProvider & Flushable;
}
