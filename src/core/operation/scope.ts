import type { Context } from '@opentelemetry/api';
import type { Classification } from '../classification/classifier.js';
import { engine, reportInstrumentationError } from '../engine/engine.js';
import type { HeaderSource } from '../parsing/headers.js';
import type { Operation } from './operation.js';
import { requestScopeIn, type RequestScope } from './request-scope.js';
import type { CallTarget } from './result.js';

/** The scope of a call with no request to classify, or whose classification failed. */
export const UNCLASSIFIED: Classification = Object.freeze({ class: 'unknown', rule: 'no-request' } as const);

/** The request scope an operation starts with: its parent's, the one bound to its request, or a fresh classification. */
export function resolveScope(target: CallTarget, parent: Operation | undefined, parentContext: Context): RequestScope {
  if (parent !== undefined) return parent.scope;
  const existing = requestScopeIn(target.request, parentContext);
  if (existing !== undefined) {
    if (target.sdk !== 'custom') existing.observedSdk ??= target.sdk;
    return existing;
  }
  // Not bound to the request object (see `adoptScope` and docs/why-it-is-fast.md). Calls nested in this one find the scope in its context; a wrapped
  // middleware makes its scope the run's (`adoptRequestScope`); two sibling calls on one request
  // outside a middleware (getAccessToken, then touchSession) each classify the same headers, to
  // the same shared result.
  return freshScope(target.request, target.route);
}

/** A new scope for `request` (its class from its headers; `unknown` without one) and an app-supplied route template. */
export function freshScope(request: unknown, route: string | undefined): RequestScope {
  let classification = UNCLASSIFIED;
  if (request !== undefined && request !== null) {
    try {
      classification = engine().classify(request as HeaderSource);
    } catch (error) {
      reportInstrumentationError('classify', error);
    }
  }
  return { classification, route: engine().routes.accept(route) };
}
