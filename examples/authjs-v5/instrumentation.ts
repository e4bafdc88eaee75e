// instrumentation.ts with the lost-rotation ledger shared by every instance: Redis from Node.js,
// and from Edge (no TCP) the same records through an unstorage storage server over HTTP. Without
// the variables, each instance keeps its own ledger in memory.
import type { Storage } from 'unstorage';

async function sharedLedgerStore(): Promise<Storage | undefined> {
  const { createStorage } = await import('unstorage');
  if (process.env.NEXT_RUNTIME === 'nodejs' && process.env.AUTH_LEDGER_REDIS_URL) {
    const { default: redisDriver } = await import('unstorage/drivers/redis');
    // Connected at startup, so the first refresh's classification does not wait for the connection.
    return createStorage({ driver: redisDriver({ url: process.env.AUTH_LEDGER_REDIS_URL, preConnect: true }) });
  }
  if (process.env.NEXT_RUNTIME === 'edge' && process.env.AUTH_LEDGER_HTTP_URL) {
    const { default: httpDriver } = await import('unstorage/drivers/http');
    return createStorage({ driver: httpDriver({ base: process.env.AUTH_LEDGER_HTTP_URL }) });
  }
  return undefined;
}

export async function register(): Promise<void> {
  const { registerAuthTelemetry } = await import('nextjs-auth-otel/register');
  const store = await sharedLedgerStore();
  await registerAuthTelemetry({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'nextjs-app',
    // Your own uptime checks, so they never count as real users:
    monitorUserAgents: ['internal-healthcheck/'],
    // The salt must be the same secret on every instance sharing the store.
    refreshTokenLedger: store ? { store, salt: process.env.AUTH_TELEMETRY_LEDGER_SALT } : undefined,
  });
}
