/**
 * `nextjs-auth-otel`: the Edge-safe core. No Node built-ins are imported from here.
 */
export { classifyRequest, createClassifier, syntheticTypeOf } from './core/classification/classifier.js';
export type { Classification, ClassifierOptions } from './core/classification/classifier.js';
export { withAuthTelemetry } from './core/next/middleware.js';
export type { MiddlewareTelemetryOptions } from './core/next/middleware.js';
export { withRequestTelemetry } from './core/next/request-telemetry.js';
export type { RequestTelemetryOptions } from './core/next/request-telemetry.js';
export { configureAuthTelemetry } from './core/engine/engine.js';
export { onRequestError } from './core/next/request-error.js';
export type { RequestErrorContext, RequestErrorRequest } from './core/next/request-error.js';
export { traceTokenRefresh } from './core/refresh/trace-token-refresh.js';
export type { TraceTokenRefreshOptions } from './core/refresh/trace-token-refresh.js';
export { AuthTelemetryConfigError } from './core/engine/config.js';
export type { AuthTelemetryOptions, RefreshTokenLedgerOptions, SpanHookInfo } from './core/engine/config.js';
export type { KeyValueLedgerStore, RefreshLedgerStore, UnstorageLike } from './core/refresh/ledger-store.js';
export type { SessionClaimStore } from './core/affected/claim-store.js';
export * as catalog from './core/telemetry/catalog.js';
export { prometheusMetricName, prometheusLabel, datadogMetricName, datadogTag, jsPrometheusExporterMetricName } from './core/telemetry/naming.js';
