// instrumentation.ts with @vercel/otel: its providers export everything, the auth metrics included.
import { registerOTel } from '@vercel/otel';
import { authMetricReaders } from 'nextjs-auth-otel/register';

export function register(): void {
  registerOTel({
    serviceName: 'my-app',
    // One id per instance (process or Edge isolate): without it, replicas overwrite each other's series.
    attributes: { 'service.instance.id': crypto.randomUUID() },
    metricReaders: authMetricReaders(),
  });
}
