import { DiagLogLevel, diag, type DiagLogger } from '@opentelemetry/api';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureAuthTelemetry, engine, reportInstrumentationError, safely } from '../src/core/engine/engine.js';
import { observeCall } from '../src/core/operation/observe.js';
import { TestTelemetry } from './support/telemetry.js';

const telemetry = new TestTelemetry();
beforeAll(() => {
  // A recording span, so the span hook runs.
  telemetry.install();
});

type Logged = { level: string; message: string; args: unknown[] };

/** A diag logger that keeps what it is told, so a test can see the message, not just the count. */
function installLogger(): Logged[] {
  const logged: Logged[] = [];
  const keep =
    (level: string) =>
    (message: string, ...args: unknown[]) =>
      void logged.push({ level, message, args });
  const logger: DiagLogger = { error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug'), verbose: keep('verbose') };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return logged;
}

const errorsUnder = (stage: 'hook' | 'record' | 'export') => engine().recorder.counterTotal('instrumentationErrors', { stage });

describe('safely', () => {
  let logged: Logged[];
  beforeEach(() => {
    logged = installLogger();
  });
  afterEach(() => {
    diag.disable();
  });

  it('counts a throwing step under its stage, logs it through diag, and returns the fallback', () => {
    const failure = new Error('plugin bug');
    const before = errorsUnder('hook');
    const value = safely(
      'hook',
      () => {
        throw failure;
      },
      'fallback',
    );
    expect(value).toBe('fallback');
    expect(errorsUnder('hook') - before).toBe(1);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'warn', message: 'nextjs-auth-otel: hook failed; the app is unaffected' });
    expect(logged[0]!.args[0], 'the error itself reaches the logger').toBe(failure);
  });

  it('returns undefined for a throwing step without a fallback', () => {
    expect(
      safely('record', () => {
        throw new TypeError('no fallback');
      }),
    ).toBeUndefined();
    expect(logged).toHaveLength(1);
  });

  it('neither counts nor logs a step that succeeds, and returns its value', () => {
    const value = { kept: true };
    const before = engine().recorder.counterTotal('instrumentationErrors');
    expect(safely('record', () => value, 'fallback')).toBe(value);
    expect(engine().recorder.counterTotal('instrumentationErrors')).toBe(before);
    expect(logged).toEqual([]);
  });

  it('never throws, even when the diag logger does', () => {
    diag.setLogger(
      {
        error: () => undefined,
        warn: () => {
          throw new Error('broken logger');
        },
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    const before = errorsUnder('export');
    expect(() => reportInstrumentationError('export', new Error('exporter down'))).not.toThrow();
    expect(errorsUnder('export') - before).toBe(1);
  });

  it('a throwing spanHook on an instrumented call is logged under `hook`, and the app still gets its value', async () => {
    configureAuthTelemetry({
      spanHook: () => {
        throw new Error('hook bug');
      },
    });
    try {
      const value = await observeCall('sessionRead', { sdk: 'custom' }, async () => 42, {
        result: () => ({ outcome: 'found' }),
        error: () => ({ outcome: 'error' }),
      });
      expect(value).toBe(42);
      expect(logged.map((entry) => entry.message)).toContain('nextjs-auth-otel: hook failed; the app is unaffected');
    } finally {
      configureAuthTelemetry({});
    }
  });
});
