/**
 * Pages Router code gets its request as a Node `IncomingMessage` (`(req, res)` API routes,
 * `getServerSideProps({ req })`), but what runs inside it often does not: NextAuth's callbacks
 * never see a request, and `getServerSession(req, res, options)` does not hand it on. Wrapping the
 * handler classifies its request once and puts that scope in the active context, where every
 * instrumented call made while serving the request finds it (as calls nested in a wrapped
 * middleware do).
 */
import { context } from '@opentelemetry/api';
import { reportInstrumentationError, safely } from '../engine/engine.js';
import { ambientIn, withAmbient, type Ambient } from '../operation/request-scope.js';
import { freshScope } from '../operation/scope.js';

export type RequestTelemetryOptions = {
  /** A route template for `http.route` (e.g. `/api/auth/[...nextauth]`), or a function deriving one from the request. Never a raw path. */
  route?: string | ((request: unknown) => string | undefined);
};

/** API routes take `(NextApiRequest, NextApiResponse)`, `getServerSideProps` its context. */
type Handler = (...args: any[]) => unknown;

function hasHeaders(value: unknown): value is { headers: object } {
  if (typeof value !== 'object' || value === null) return false;
  const headers = (value as { headers?: unknown }).headers;
  return typeof headers === 'object' && headers !== null;
}

/** The request of `(req, res)`, of `getServerSideProps({ req })`, or of a route handler's `(request)`. */
export function requestOfHandlerArgument(first: unknown): object | undefined {
  if (hasHeaders(first)) return first;
  const req = (first as { req?: unknown } | null | undefined)?.req;
  return hasHeaders(req) ? req : undefined;
}

/** The context the handler runs in: its request's scope, unless an enclosing wrapper already set one. */
function requestContext(request: object, route: RequestTelemetryOptions['route']) {
  const active = context.active();
  if (ambientIn(active)?.scope !== undefined) return active;
  const template = typeof route === 'function' ? safely('hook', () => route(request)) : route;
  const ambient: Ambient = { scope: freshScope(request, template), exchangeHost: undefined, refreshFrame: undefined };
  return withAmbient(active, ambient);
}

/**
 * Wraps a Pages Router API route (`(req, res) => NextAuth(req, res, options)`) or
 * `getServerSideProps`: the SDK calls and NextAuth callbacks it makes are classified from its
 * request. The handler's arguments, `this`, return value and thrown error are passed through.
 */
export function withRequestTelemetry<H extends Handler>(handler: H, options: RequestTelemetryOptions = {}): H {
  if (typeof handler !== 'function') {
    throw new TypeError('nextjs-auth-otel: withRequestTelemetry(handler) expects the API route handler or getServerSideProps function as its first argument.');
  }
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    let runContext;
    try {
      const request = requestOfHandlerArgument(args[0]);
      if (request !== undefined) runContext = requestContext(request, options.route);
    } catch (error) {
      reportInstrumentationError('classify', error);
    }
    if (runContext === undefined) return handler.apply(this, args);
    return context.with(runContext, () => handler.apply(this, args));
  };
  Object.defineProperty(wrapped, 'name', { value: handler.name || 'handler' });
  return wrapped as unknown as H;
}
