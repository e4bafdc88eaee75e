/**
 * The demo's verdict over several instances: every instance's series keeps its own `instance`
 * label and the shipped rules sum their rates, as Prometheus does with replicas.
 */
import { describe, expect, it } from 'vitest';
import { METRICS } from '../src/core/telemetry/catalog.js';
import { evaluateAlerts, projectedSeries } from '../scripts/demo/verdict.js';
import type { ReceivedMetricPoint } from '../testkit/otlp-receiver.js';

const CI = process.env.CI === 'true';
const haveRules = (() => {
  const verdict = evaluateAlerts([], 60);
  if (!verdict.evaluated && CI) throw new Error(`promtool is required on CI: ${verdict.reason}`);
  if (!verdict.evaluated) console.warn(`Skipping the promtool verdict test on this machine (CI fails instead): ${verdict.reason}`);
  return verdict.evaluated;
})();

/** One instance's cumulative browser refresh counters after `minutes` of `perMinute` refreshes, `failureShare` of them failing. */
function instancePoints(instance: string, minutes: number, perMinute: number, failureShare: number): ReceivedMetricPoint[] {
  const point = (outcome: string, value: number): ReceivedMetricPoint => ({
    name: METRICS.tokenRefreshes.name,
    description: '',
    unit: METRICS.tokenRefreshes.unit,
    type: 'sum',
    temporality: 'cumulative',
    isMonotonic: true,
    attributes: { 'auth.sdk': 'nextjs-auth0-v3', 'auth.outcome': outcome, 'auth.user_agent.class': 'browser', 'auth.runtime': 'edge' },
    value,
    resource: { 'service.name': 'shop', 'service.instance.id': instance },
    scope: { name: 'nextjs-auth-otel' },
    startTimeUnixNano: '0',
    timeUnixNano: String(minutes * 60e9),
    exportIndex: 0,
  });
  const total = perMinute * minutes;
  return [point('success', total * (1 - failureShare)), point('failure', total * failureShare)];
}

describe('demo verdict across instances', () => {
  // Each replica refreshes 60 times an hour, under the alert's 100-an-hour traffic guard; three together pass it.
  const replicas = ['a1', 'b2', 'c3'].flatMap((id) => instancePoints(id, 10, 1, 0.2));

  it('keeps every instance apart in the series Prometheus evaluates', () => {
    const series = projectedSeries(replicas, 600);
    expect(new Set(series.map((s) => s.labels.instance))).toEqual(new Set(['a1', 'b2', 'c3']));
    expect(new Set(series.map((s) => s.series)).size).toBe(series.length);
  });

  it.skipIf(!haveRules)('pages on the sum over instances, where one instance alone stays under the traffic guard', () => {
    const three = evaluateAlerts(replicas, 600);
    expect(three.evaluated && three.instances).toBe(3);
    expect(three.evaluated && three.firing.map((r) => r.alert)).toContain('AuthRealUserRefreshFailureBurn');

    const one = evaluateAlerts(instancePoints('a1', 10, 1, 0.2), 600);
    expect(one.evaluated && one.firing.map((r) => r.alert)).not.toContain('AuthRealUserRefreshFailureBurn');
  });
});
