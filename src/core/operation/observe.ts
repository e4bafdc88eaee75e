import { context } from '@opentelemetry/api';
import type { SpanName } from '../telemetry/catalog.js';
import { reportInstrumentationError } from '../engine/engine.js';
import { startOperation, type Operation } from './operation.js';
import type { CallTarget, OperationResult } from './result.js';

type Interpreted = OperationResult | Promise<OperationResult>;

export type Interpretation<T> = {
  /** May be async when facts are only reachable asynchronously (App Router `cookies()`). */
  result: (value: T, operation: Operation) => Interpreted;
  error: (thrown: unknown, operation: Operation) => Interpreted;
};

/** Interprets and ends the operation; never rejects, whatever the interpretation does. */
async function settle<T>(interpret: (value: T, operation: Operation) => Interpreted, value: T, operation: Operation): Promise<void> {
  try {
    operation.end(await interpret(value, operation));
  } catch (error) {
    reportInstrumentationError('other', error);
    operation.end({ outcome: 'error' });
  }
}

/** Ends the operation now when the interpretation is synchronous; otherwise returns when it will have. */
function settleSync<T>(interpret: (value: T, operation: Operation) => Interpreted, value: T, operation: Operation): Promise<void> | undefined {
  let interpreted: Interpreted;
  try {
    interpreted = interpret(value, operation);
  } catch (error) {
    reportInstrumentationError('other', error);
    interpreted = { outcome: 'error' };
  }
  if (isPromiseLike(interpreted)) return settle(() => interpreted, value, operation);
  operation.end(interpreted);
  return undefined;
}

/**
 * Records an operation recognised only from its effects (an event, a log line, a rotated token):
 * started now, or at `startedAt`, and ended with what `interpret` makes of it. Never rejects.
 */
export function recordObserved(kind: SpanName, target: CallTarget, interpret: (operation: Operation) => Interpreted, startedAt?: number): Promise<void> {
  return settle((_value: undefined, operation) => interpret(operation), undefined, startOperation(kind, target, startedAt));
}

/**
 * Runs an SDK call inside an operation. The caller gets exactly what the SDK returned or threw:
 * the same value, the same error object.
 */
export function observeCall<T>(kind: SpanName, target: CallTarget, call: (operation: Operation) => T, interpretation: Interpretation<Awaited<T>>): T {
  const operation = startOperation(kind, target);
  let returned: T;
  try {
    // The operation goes in as `context.with`'s argument: no closure per call (docs/why-it-is-fast.md).
    returned = context.with(operation.context, call, undefined, operation);
  } catch (thrown) {
    void settleSync(interpretation.error, thrown, operation);
    throw thrown;
  }
  if (isPromiseLike(returned)) {
    return returned.then(
      (value) => {
        const pending = settleSync(interpretation.result, value as Awaited<T>, operation);
        return pending === undefined ? value : pending.then(() => value);
      },
      (thrown: unknown) => {
        const pending = settleSync(interpretation.error, thrown, operation);
        if (pending === undefined) throw thrown;
        return pending.then(() => {
          throw thrown;
        });
      },
    ) as T;
  }
  void settleSync(interpretation.result, returned as Awaited<T>, operation);
  return returned;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
