// instrumentation.ts: copy this file to the root (or `src/`) of your Next.js app.
// Next 14 also needs `experimental: { instrumentationHook: true }` in next.config.js.
//
// Exports OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318) from both the
// Node.js and the Edge runtime. If another setup (e.g. @vercel/otel) already registered a tracer
// provider, it is kept and only the auth metrics are added.
export async function register(): Promise<void> {
  const { registerAuthTelemetry } = await import('nextjs-auth-otel/register');
  await registerAuthTelemetry({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'nextjs-app',
    // Your own uptime checks, so they never count as real users:
    monitorUserAgents: ['internal-healthcheck/'],
  });
}
