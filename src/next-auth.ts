/**
 * `nextjs-auth-otel/next-auth`: NextAuth v4 (`AuthOptions`) and Auth.js v5 (next-auth 5) configurations.
 */
export { instrumentNextAuth, CREATED_AT } from './adapters/next-auth/instrument.js';
export type { InstrumentNextAuthOptions, NextAuthSdk } from './adapters/next-auth/instrument.js';
export { traceTokenRefresh } from './core/trace-token-refresh.js';
export type { TraceTokenRefreshOptions } from './core/trace-token-refresh.js';
export { withAuthTelemetry } from './core/middleware.js';
export type { MiddlewareTelemetryOptions } from './core/middleware.js';
