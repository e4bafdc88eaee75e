export { registerAuthTelemetry, authMetricReaders, flush } from './register/node.js';
export type { AuthTelemetryRegistration, RegisterAuthTelemetryOptions } from './register/options.js';
