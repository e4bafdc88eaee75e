import type { Attributes, Span } from '@opentelemetry/api';
import { ATTRIBUTES, OAUTH_ERROR_TYPE, type SpanName } from '../telemetry/catalog.js';
import { bounded } from '../telemetry/bounded.js';
import type { MetricFacts, Recorder } from '../telemetry/recorder.js';
import type { UserHasher } from '../telemetry/user-hash.js';
import type { NormalizedError } from '../parsing/errors.js';
import { refreshFailureKind } from '../parsing/failure-kind.js';
import type { OperationResult } from './result.js';

/*
 * The parts of `Operation.record`, the end of every instrumented call: plain functions over the
 * values it already holds, so splitting it adds no closure or allocation per call.
 */

/** Adds the result's error and detail values to the operation's facts, bounded. */
export function addResultFacts(facts: MetricFacts, kind: SpanName, result: OperationResult, normalized: NormalizedError | undefined): void {
  if (normalized !== undefined) {
    // A failed exchange is best described by the IdP's answer (`invalid_grant`), the rest by the SDK's code.
    const refused = kind === 'tokenRefresh' && normalized.oauthCode !== undefined;
    facts.errorCode = refused ? normalized.oauthCode : normalized.code;
    facts.errorType = refused ? OAUTH_ERROR_TYPE : normalized.type;
  } else if (result.errorCode !== undefined) {
    facts.errorCode = bounded('errorCode', result.errorCode);
  }
  if (result.errorType !== undefined) facts.errorType = bounded('errorType', result.errorType);
  if (result.invalidReason !== undefined) facts.invalidReason = bounded('invalidReason', result.invalidReason);
  if (result.handlerKind !== undefined) facts.handlerKind = bounded('handlerKind', result.handlerKind);
  if (result.routeType !== undefined) facts.routeType = bounded('routeType', result.routeType);
  if (kind === 'tokenRefresh' && result.outcome === 'failure') {
    const status = result.statusCode ?? (facts.errorType !== undefined && /^\d{3}$/.test(facts.errorType) ? Number(facts.errorType) : undefined);
    facts.failureKind = refreshFailureKind([facts.errorCode, normalized?.oauthCode, normalized?.code], status, result.error);
  }
}

/** Adds the kind's counter and records its histogram; returns the counter's attributes, for the span to reuse. */
export function recordMetrics(
  recorder: Recorder,
  kind: SpanName,
  spec: { counter?: string; histogram?: string },
  facts: MetricFacts,
  result: OperationResult,
  durationSeconds: number,
): Attributes | undefined {
  const metricAttributes = spec.counter !== undefined ? recorder.add(spec.counter as never, facts) : undefined;
  switch (kind) {
    case 'sessionRead':
      if (result.outcome === 'found' && result.sessionAge !== undefined) recorder.record('sessionAge', facts, result.sessionAge);
      if (result.cookieBytes !== undefined && result.cookieChunks !== undefined) {
        recorder.record('sessionCookieSize', facts, result.cookieBytes);
        recorder.record('sessionCookieChunks', facts, result.cookieChunks);
      }
      break;
    case 'tokenGet':
      if (result.tokenExpiresIn !== undefined) recorder.record('tokenRemainingLifetime', facts, result.tokenExpiresIn);
      break;
    case 'tokenRefresh':
    case 'middleware':
      recorder.record(spec.histogram as 'tokenRefreshDuration' | 'middlewareDuration', facts, durationSeconds);
      break;
  }
  return metricAttributes;
}

/** Sets the metric attributes plus the span-only details (rule, ages, OAuth error, user hash) on a recording span. */
export function annotateSpan(
  span: Span,
  result: OperationResult,
  facts: MetricFacts,
  metricAttributes: Attributes | undefined,
  rule: string,
  normalized: NormalizedError | undefined,
  hasher: UserHasher | undefined,
): void {
  span.setAttributes(metricAttributes ?? attributesOfFacts(facts));
  span.setAttribute(ATTRIBUTES.userAgentRule.key, rule);
  if (result.sessionAge !== undefined) span.setAttribute(ATTRIBUTES.sessionAge.key, Math.round(result.sessionAge));
  if (result.tokenExpiresIn !== undefined) span.setAttribute(ATTRIBUTES.tokenExpiresIn.key, Math.round(result.tokenExpiresIn));
  if (result.statusCode !== undefined) span.setAttribute(ATTRIBUTES.statusCode.key, result.statusCode);
  const oauthError = normalized?.oauthCode;
  if (oauthError !== undefined) span.setAttribute(ATTRIBUTES.oauthError.key, oauthError);
  const causeName = normalized?.causeName;
  if (causeName !== undefined) span.setAttribute(ATTRIBUTES.errorCause.key, bounded('errorCause', causeName));
  if (hasher !== undefined && typeof result.userId === 'string') span.setAttribute(ATTRIBUTES.userHash.key, hasher.hash(result.userId));
}

function attributesOfFacts(facts: MetricFacts): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of Object.keys(facts) as (keyof MetricFacts)[]) {
    const value = facts[name];
    if (value !== undefined) attributes[ATTRIBUTES[name].key] = value;
  }
  return attributes;
}
