import { describe, expect, it } from 'vitest';
import { DemoArgsError, parseDemoArgs, parseDuration } from '../scripts/demo/args.js';
import { histogramQuantile } from '../scripts/demo/summary.js';

describe('demo options', () => {
  it('parses durations in seconds and minutes, and rejects the rest with a message that says what to write', () => {
    expect(parseDuration('150')).toBe(150);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('2m')).toBe(120);
    expect(() => parseDuration('soon')).toThrow(/150, 90s or 2m/);
    expect(() => parseDuration('5')).toThrow(DemoArgsError);
    expect(() => parseDuration('2h')).toThrow(DemoArgsError);
  });

  it('normalises the Collector endpoint to the OTLP/HTTP base URL', () => {
    expect(parseDemoArgs(['--otlp-endpoint', 'http://localhost:4318/']).otlpEndpoint).toBe('http://localhost:4318');
    expect(parseDemoArgs(['--otlp-endpoint=http://collector:4318/v1/metrics']).otlpEndpoint).toBe('http://collector:4318');
    expect(() => parseDemoArgs(['--otlp-endpoint', 'collector:4318'])).toThrow(/http\(s\) URL|not a URL/);
  });

  it('rejects unknown options and scenarios instead of ignoring them', () => {
    expect(() => parseDemoArgs(['--durration', '60'])).toThrow(/unknown option --durration/);
    expect(() => parseDemoArgs(['--scenario', 'chaos'])).toThrow(/healthy or idp-outage/);
    expect(() => parseDemoArgs(['--users', '0'])).toThrow(DemoArgsError);
    expect(parseDemoArgs([])).toMatchObject({ durationSeconds: 150, users: 8, scenario: 'healthy', instances: 1, prometheus: false, help: false });
  });

  it('turns on live alerting with --prometheus, which takes no value', () => {
    expect(parseDemoArgs(['--prometheus', '--instances', '2'])).toMatchObject({ prometheus: true, instances: 2 });
    expect(() => parseDemoArgs(['--prometheus=yes'])).toThrow(/--prometheus takes no value/);
  });

  it('takes a number of instances within what the machine can run, and says the range otherwise', () => {
    expect(parseDemoArgs(['--instances', '3']).instances).toBe(3);
    expect(parseDemoArgs(['--instances=6']).instances).toBe(6);
    for (const bad of ['0', '7', '2.5', 'three']) expect(() => parseDemoArgs(['--instances', bad])).toThrow(/--instances must be an integer from 1 to 6/);
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket that holds the rank, like PromQL', () => {
    // 10 observations in (0, 60], 10 in (60, 300]
    expect(histogramQuantile(0.5, [60, 300, 900], [10, 10, 0, 0])).toBe(60);
    expect(histogramQuantile(0.75, [60, 300, 900], [10, 10, 0, 0])).toBe(180);
    expect(histogramQuantile(0.25, [60, 300, 900], [10, 10, 0, 0])).toBe(30);
  });

  it('answers the highest bound for ranks in the overflow bucket, and nothing for an empty histogram', () => {
    expect(histogramQuantile(0.99, [60, 300], [0, 1, 5])).toBe(300);
    expect(histogramQuantile(0.5, [60, 300], [0, 0, 0])).toBeUndefined();
  });
});
