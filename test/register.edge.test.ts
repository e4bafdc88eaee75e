// @vitest-environment edge-runtime
import { describe, expect, inject, it } from 'vitest';
import { latestCumulative, type ReceivedMetricPoint, type ReceivedSpan } from '../testkit/otlp-receiver.js';
import { METRICS, SPANS } from '../src/core/telemetry/catalog.js';

describe('registerAuthTelemetry (Edge runtime)', () => {
  it('exports through fetch from the Edge runtime, flushing via event.waitUntil()', async () => {
    expect(typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('string');
    const otlp = inject('otlp');
    await fetch(`${otlp.dumpUrl}/reset`);
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
    process.env.NEXT_RUNTIME = 'edge';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=prod,team=auth%20platform,malformed';
    const { registerAuthTelemetry } = await import('../src/register/edge.js');
    const { withAuthTelemetry } = await import('../src/core/next/middleware.js');
    const registration = await registerAuthTelemetry({ serviceName: 'edge-app' });
    expect(registration).toEqual({ runtime: 'edge', ownsTracerProvider: true, ownsMeterProvider: true });

    const pending: Promise<unknown>[] = [];
    const event = { waitUntil: (promise: Promise<unknown>) => pending.push(promise) };
    const middleware = withAuthTelemetry(async () => new Response(null, { status: 401 }));
    const response = await middleware(new Request('https://app.test/api/orders', { headers: { 'user-agent': 'Datadog/Synthetics' } }), event);
    expect(response.status).toBe(401);
    expect(pending).toHaveLength(1);
    await Promise.all(pending);

    const { spans, metricPoints } = (await (await fetch(otlp.dumpUrl)).json()) as { spans: ReceivedSpan[]; metricPoints: ReceivedMetricPoint[] };
    const span = spans.find((s) => s.name === SPANS.middleware.name);
    expect(span?.attributes).toMatchObject({ 'auth.runtime': 'edge', 'auth.outcome': 'unauthorized', 'auth.user_agent.class': 'monitor' });
    expect(span?.resource['service.name']).toBe('edge-app');
    // Each isolate is its own instance: a random id from Web Crypto, and the environment's attributes.
    expect(span?.resource['service.instance.id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(span?.resource).toMatchObject({ 'deployment.environment.name': 'prod', team: 'auth platform' });
    expect(new Set(metricPoints.map((p) => p.resource['service.instance.id']))).toEqual(new Set([span?.resource['service.instance.id']]));
    expect(latestCumulative(metricPoints, METRICS.middlewareRuns.name, { 'auth.runtime': 'edge', 'auth.outcome': 'unauthorized' })).toBe(1);
  });
});
