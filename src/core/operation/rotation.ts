/**
 * What follows from a refresh-token exchange once its operation ends: the ledger's record of it,
 * a reuse (a race or a lost rotation), new tokens that never reached the cookie, and the sessions
 * a failure affected.
 */
import { ATTRIBUTES, METRICS, type AffectedOutcome, type ReuseKind } from '../telemetry/catalog.js';
import { bounded } from '../telemetry/bounded.js';
import { engine, reportInstrumentationError } from '../engine/engine.js';
import { normalizeError } from '../parsing/errors.js';
import type { MetricFacts } from '../telemetry/recorder.js';
import type { Exchange } from '../refresh/refresh-ledger.js';
import type { Operation } from './operation.js';
import type { OperationResult } from './result.js';

/** Counts a session once per bucket in `auth.sessions.affected`; without an identity there is nothing to count. */
export function countAffected(outcome: AffectedOutcome, facts: MetricFacts, identity: string | undefined): void {
  if (identity === undefined || identity === '') return;
  const current = engine();
  void current.affected.note(current.recorder, outcome, facts, identity, (error) => reportInstrumentationError('record', error));
}

function failureCode(result: OperationResult): string | undefined {
  if (result.error !== undefined) {
    const normalized = normalizeError(result.error);
    return normalized.oauthCode ?? normalized.code;
  }
  return result.errorCode !== undefined ? bounded('errorCode', result.errorCode) : undefined;
}

/** Records the exchange in the ledger; a failure is classified, synchronously when the ledger can. Never rejects. */
export function settleRotation(operation: Operation, result: OperationResult, exchange: Exchange, endedAt: number): Promise<void> | undefined {
  try {
    const ledger = engine().refreshLedger;
    const epochEnd = Date.now() - (performance.now() - endedAt);
    if (result.outcome === 'success') {
      ledger.succeeded(exchange, epochEnd);
      return undefined;
    }
    const kind = ledger.failed(exchange, epochEnd);
    if (!(kind instanceof Promise)) {
      reused(operation, kind, result);
      return undefined;
    }
    return kind.then(
      (found) => reused(operation, found, result),
      (error: unknown) => reportInstrumentationError('ledger', error),
    );
  } catch (error) {
    reportInstrumentationError('ledger', error);
    return undefined;
  }
}

/** A failed refresh that presented a token already exchanged: a race, or a lost rotation (also unpersisted). */
function reused(operation: Operation, kind: ReuseKind | undefined, result: OperationResult): void {
  if (kind === undefined) return;
  try {
    const facts = operation.facts('failure');
    facts.reuseKind = bounded('reuseKind', kind);
    facts.errorCode = failureCode(result);
    engine().recorder.add('refreshReuses', facts);
    operation.span.setAttribute(ATTRIBUTES.reuseKind.key, facts.reuseKind);
    operation.span.addEvent(METRICS.refreshReuses.name, { [ATTRIBUTES.reuseKind.key]: facts.reuseKind }, performance.now());
  } catch (error) {
    reportInstrumentationError('record', error);
  }
  if (kind === 'lost_rotation') operation.unpersisted('token_reused', result.error, result.errorCode);
}

/** A refresh whose new tokens never reached the session cookie: counted, and noted in the ledger unless the token was reused. */
export function recordUnpersisted(operation: Operation, exchange: Exchange | undefined, reason: string, error?: unknown, errorCode?: string): void {
  try {
    if (reason !== 'token_reused' && exchange !== undefined) engine().refreshLedger.unpersisted(exchange);
  } catch (failure) {
    reportInstrumentationError('ledger', failure);
  }
  try {
    const failed = error !== undefined || errorCode !== undefined;
    const facts = operation.facts(failed ? 'failure' : 'success');
    facts.unpersistedReason = bounded('unpersistedReason', reason);
    facts.errorCode = failureCode({ outcome: 'failure', error, errorCode });
    engine().recorder.add('refreshUnpersisted', facts);
    if (reason === 'token_reused') countAffected('lost_rotation', facts, exchange?.fingerprint);
    if (engine().spans === 'none') return;
    operation.span.addEvent(METRICS.refreshUnpersisted.name, { [ATTRIBUTES.unpersistedReason.key]: facts.unpersistedReason }, performance.now());
  } catch (failure) {
    reportInstrumentationError('record', failure);
  }
}
