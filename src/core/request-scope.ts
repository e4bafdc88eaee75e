import { context, createContextKey } from '@opentelemetry/api';
import type { Classification } from './classifier.js';

export type RequestScope = Readonly<{ classification: Classification; route: string | undefined }>;

/**
 * How SDK calls inside a wrapped middleware learn their request's class. Calls that receive the
 * request object find it in the WeakMap: this works in every runtime, including Next 14 Edge
 * middleware where no context manager may be installed. Calls without a request (App Router
 * forms) fall back to the active OpenTelemetry context.
 */
const scopes = new WeakMap<object, RequestScope>();
export const REQUEST_SCOPE_KEY = createContextKey('nextjs-auth-otel.request-scope');

export function bindRequestScope(request: unknown, scope: RequestScope): void {
  if (typeof request === 'object' && request !== null) scopes.set(request, scope);
}

export function requestScopeOf(request: unknown): RequestScope | undefined {
  if (typeof request === 'object' && request !== null) {
    const scope = scopes.get(request);
    if (scope !== undefined) return scope;
  }
  return context.active().getValue(REQUEST_SCOPE_KEY) as RequestScope | undefined;
}
