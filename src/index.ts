/**
 * `nextjs-auth-otel`: the Edge-safe core. No Node built-ins are imported from here.
 */
export { classifyRequest, createClassifier, syntheticTypeOf } from './core/classifier.js';
export type { Classification, ClassifierOptions } from './core/classifier.js';
export { withAuthTelemetry } from './core/middleware.js';
export type { MiddlewareTelemetryOptions } from './core/middleware.js';
export { configureAuthTelemetry } from './core/engine.js';
export { onRequestError } from './core/request-error.js';
export type { RequestErrorContext, RequestErrorRequest } from './core/request-error.js';
export { traceTokenRefresh } from './core/trace-token-refresh.js';
export type { TraceTokenRefreshOptions } from './core/trace-token-refresh.js';
export { AuthTelemetryConfigError } from './core/config.js';
export type { AuthTelemetryOptions, SpanHookInfo } from './core/config.js';
export * as catalog from './core/catalog.js';
export { prometheusMetricName, prometheusLabel, datadogMetricName, datadogTag, jsPrometheusExporterMetricName } from './core/naming.js';
