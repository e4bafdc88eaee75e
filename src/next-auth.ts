/**
 * `nextjs-auth-otel/next-auth`: NextAuth v4 (`AuthOptions`) and Auth.js v5 (next-auth 5) configurations.
 */
export { instrumentNextAuth, CREATED_AT } from './adapters/next-auth/instrument.js';
export type { InstrumentNextAuthOptions, NextAuthSdk } from './adapters/next-auth/instrument.js';
export { traceTokenRefresh } from './core/refresh/trace-token-refresh.js';
export type { TraceTokenRefreshOptions } from './core/refresh/trace-token-refresh.js';
export { withAuthTelemetry } from './core/next/middleware.js';
export type { MiddlewareTelemetryOptions } from './core/next/middleware.js';
export { withRequestTelemetry } from './core/next/request-telemetry.js';
export type { RequestTelemetryOptions } from './core/next/request-telemetry.js';
