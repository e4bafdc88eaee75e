export { registerAuthTelemetry, authMetricReaders, flush } from './register/edge.js';
export type { AuthTelemetryRegistration, RegisterAuthTelemetryOptions } from './register/options.js';
