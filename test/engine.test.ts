import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, METRICS, OTHER, SPANS } from '../src/core/telemetry/catalog.js';
import { configureAuthTelemetry, engine } from '../src/core/engine/engine.js';
import { AuthTelemetryConfigError } from '../src/core/engine/config.js';
import { normalizeError } from '../src/core/parsing/errors.js';
import { withAuthTelemetry } from '../src/core/next/middleware.js';
import { observeCall } from '../src/core/operation/observe.js';
import { startOperation } from '../src/core/operation/operation.js';
import { invalidCookieReason, sessionAgeFromJwe } from '../src/core/parsing/session-cookie.js';
import { readSessionCookie } from '../src/core/parsing/headers.js';
import { requestCookieSize, sessionCookieSize, storeCookieSize } from '../src/core/parsing/cookie-size.js';
import { NextRequest } from 'next/server';
import { saltedHmacSha256 } from '../src/core/telemetry/user-hash.js';
import { TestTelemetry, spanText } from './support/telemetry.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const telemetry = new TestTelemetry();
beforeAll(() => {
  telemetry.install();
});

function jwe(header: Record<string, unknown>): string {
  const encoded = Buffer.from(JSON.stringify(header)).toString('base64url');
  return `${encoded}..iv.ciphertext.tag`;
}

describe('observeCall', () => {
  it('returns the very same value and rethrows the very same error object', async () => {
    const value = { accessToken: 'x' };
    await expect(
      observeCall('tokenGet', { sdk: 'custom' }, async () => value, { result: () => ({ outcome: 'cached' }), error: () => ({ outcome: 'error' }) }),
    ).resolves.toBe(value);
    const failure = Object.assign(new Error('boom'), { code: 'ERR_MISSING_SESSION' });
    const caught = await observeCall(
      'tokenGet',
      { sdk: 'custom' },
      async () => {
        throw failure;
      },
      { result: () => ({ outcome: 'cached' }), error: (e) => ({ outcome: 'error', error: e }) },
    ).catch((e: unknown) => e);
    expect(caught).toBe(failure);
    const syncFailure = new TypeError('sync');
    expect(() =>
      observeCall(
        'sessionRead',
        { sdk: 'custom' },
        () => {
          throw syncFailure;
        },
        { result: () => ({ outcome: 'found' }), error: (e) => ({ outcome: 'error', error: e }) },
      ),
    ).toThrow(syncFailure);
  });

  it('records one INTERNAL span under the active span, with bounded metric attributes on span and metric', async () => {
    telemetry.reset();
    const parent = trace.getTracer('test').startSpan('GET /dashboard');
    const request = new Request('https://app.example/dashboard', { headers: { 'user-agent': 'Datadog/Synthetics' } });
    const before = await telemetry.count(METRICS.tokenRequests.name, { 'auth.outcome': 'error', 'auth.user_agent.class': 'monitor' });
    await context.with(trace.setSpan(context.active(), parent), () =>
      observeCall(
        'tokenGet',
        { sdk: 'nextjs-auth0-v3', request },
        async () => {
          throw Object.assign(new Error('The user does not have a valid session.'), { name: 'AccessTokenError', code: 'ERR_MISSING_SESSION' });
        },
        { result: () => ({ outcome: 'cached' }), error: (e) => ({ outcome: 'error', error: e }) },
      ).catch(() => undefined),
    );
    parent.end();
    const [span] = telemetry.finishedSpans(SPANS.tokenGet.name);
    expect(span).toBeDefined();
    expect(span!.kind).toBe(SpanKind.INTERNAL);
    expect(span!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span!.attributes).toMatchObject({
      'auth.sdk': 'nextjs-auth0-v3',
      'auth.outcome': 'error',
      'auth.error.code': 'ERR_MISSING_SESSION',
      'error.type': 'AccessTokenError',
      'auth.user_agent.class': 'monitor',
      'auth.user_agent.rule': expect.stringContaining('datadog'),
      'user_agent.synthetic.type': 'test',
      'auth.runtime': 'nodejs',
    });
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'ERR_MISSING_SESSION' });
    // The error message can carry user data: it is not recorded anywhere.
    expect(spanText([span!])).not.toContain('valid session');
    const after = await telemetry.count(METRICS.tokenRequests.name, {
      'auth.outcome': 'error',
      'auth.user_agent.class': 'monitor',
      'auth.error.code': 'ERR_MISSING_SESSION',
    });
    expect(after - before).toBe(1);
  });

  it('swallows and counts a throwing span hook and a throwing interpreter', async () => {
    configureAuthTelemetry({
      spanHook: () => {
        throw new Error('hook bug');
      },
    });
    const before = engine().recorder.counterTotal('instrumentationErrors');
    const value = await observeCall('sessionRead', { sdk: 'custom' }, async () => 42, {
      result: () => ({ outcome: 'found' }),
      error: () => ({ outcome: 'error' }),
    });
    expect(value).toBe(42);
    const value2 = await observeCall('sessionRead', { sdk: 'custom' }, async () => 43, {
      result: () => {
        throw new Error('interpreter bug');
      },
      error: () => ({ outcome: 'error' }),
    });
    expect(value2).toBe(43);
    // The hook threw on both spans, the interpreter once.
    expect(engine().recorder.counterTotal('instrumentationErrors') - before).toBe(3);
    expect(await telemetry.count(METRICS.instrumentationErrors.name, { 'auth.instrumentation.stage': 'hook' })).toBeGreaterThanOrEqual(1);
    configureAuthTelemetry({});
  });

  it('keeps working when the meter provider throws', async () => {
    const { metrics } = await import('@opentelemetry/api');
    const broken = {
      getMeter() {
        throw new Error('broken meter provider');
      },
    };
    const original = metrics.getMeterProvider();
    metrics.disable();
    metrics.setGlobalMeterProvider(broken as never);
    try {
      const value = await observeCall('sessionRead', { sdk: 'custom' }, async () => 'session', {
        result: () => ({ outcome: 'found' }),
        error: () => ({ outcome: 'error' }),
      });
      expect(value).toBe('session');
    } finally {
      metrics.disable();
      metrics.setGlobalMeterProvider(original);
    }
  });
});

describe('histogram values handed to the SDK', () => {
  it('drops and counts every value a throwing SDK histogram refuses, and keeps none buffered', async () => {
    const { metrics, createNoopMeter } = await import('@opentelemetry/api');
    const offered: number[] = [];
    let collect: (() => void) | undefined;
    const noop = createNoopMeter();
    // The path without the plugin's own histogram aggregation: configureAuthTelemetry() next to the app's meter provider.
    const meter = Object.create(noop, {
      createHistogram: {
        value: () => ({
          record(value: number) {
            offered.push(value);
            if (value % 2 === 1) throw new Error('histogram refuses odd values');
          },
        }),
      },
      addBatchObservableCallback: {
        value: (callback: (result: { observe(): void }) => void) => {
          collect = () => callback({ observe: () => {} });
        },
      },
    });
    const original = metrics.getMeterProvider();
    metrics.disable();
    metrics.setGlobalMeterProvider({ getMeter: () => meter });
    const recorder = engine().recorder;
    const droppedBefore = recorder.counterTotal('instrumentationErrors', { stage: 'record' });
    try {
      // More than one buffer's worth (values are handed over when a buffer is full and at each collection).
      const values = Array.from({ length: 3000 }, (_, i) => i);
      for (const value of values) recorder.record('middlewareDuration', { sdk: 'custom', outcome: 'pass' }, value);
      collect!();
      collect!();
      // Each value offered exactly once: none kept for a retry that would throw again.
      expect(offered).toEqual(values);
      expect(recorder.counterTotal('instrumentationErrors', { stage: 'record' }) - droppedBefore).toBe(1500);
    } finally {
      metrics.disable();
      metrics.setGlobalMeterProvider(original);
    }
  });
});

describe('bounded attributes', () => {
  it('maps unknown error codes and classes to other, and OAuth causes through the allowlist', () => {
    expect(normalizeError(Object.assign(new Error('x'), { code: 'ERR_SOMETHING_NEW' })).code).toBe(OTHER);
    expect(normalizeError(new (class FancyError extends Error {})('x')).type).toBe(OTHER);
    const refreshFailure = Object.assign(new Error('failed'), {
      name: 'AccessTokenError',
      code: 'ERR_FAILED_REFRESH_GRANT',
      cause: Object.assign(new Error('grant request is invalid'), { name: 'IdentityProviderError', error: 'invalid_grant' }),
    });
    expect(normalizeError(refreshFailure)).toEqual({
      code: 'ERR_FAILED_REFRESH_GRANT',
      oauthCode: 'invalid_grant',
      type: 'AccessTokenError',
      causeName: 'IdentityProviderError',
    });
    expect(normalizeError({ code: 'failed_to_refresh_token', cause: { code: 'invalid_grant' } }).oauthCode).toBe('invalid_grant');
    expect(normalizeError({ cause: { error: 'user-controlled-<script>' } }).oauthCode).toBe(OTHER);
    expect(normalizeError(null).code).toBe(OTHER);
    expect(normalizeError('RefreshAccessTokenError').code).toBe('RefreshAccessTokenError');
    // A thrown token-endpoint body (`throw await response.json()`) is an OAuth error response, not `other`.
    expect(normalizeError({ error: 'invalid_grant', error_description: 'grant request is invalid' })).toMatchObject({
      oauthCode: 'invalid_grant',
      type: 'OAuth2Error',
    });
    expect(normalizeError({ message: 'no error field' }).type).toBe(OTHER);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('exports only allowlisted cause classes in auth.error.cause, anything else as other', async () => {
    telemetry.reset();
    const causes = [
      new (class MissingStateCookieError extends Error {})('state cookie missing'),
      Object.assign(new Error('x'), { name: 'alice@example.com' }),
      new (class TenantAcmeCorpLookupFailedError extends Error {})('x'),
    ];
    for (const cause of causes) {
      const failing = async () => {
        throw Object.assign(new Error('boom'), { cause });
      };
      await observeCall('sessionRead', { sdk: 'custom' }, failing, {
        result: () => ({ outcome: 'found' }),
        error: (e) => ({ outcome: 'error', error: e }),
      }).catch(() => undefined);
    }
    const exported = telemetry.finishedSpans(SPANS.sessionRead.name).map((s) => s.attributes['auth.error.cause']);
    expect(exported).toEqual(['MissingStateCookieError', OTHER, OTHER]);
  });

  it('keeps at most maxRoutes route templates and rejects raw paths', async () => {
    configureAuthTelemetry({ maxRoutes: 2 });
    for (const route of ['/a/[id]', '/b', '/c', '/a/[id]', '/search?q=secret']) {
      await observeCall('sessionRead', { sdk: 'custom', route }, async () => null, {
        result: () => ({ outcome: 'missing' }),
        error: () => ({ outcome: 'error' }),
      });
    }
    const routes = new Set(
      (await telemetry.points(METRICS.sessionReads.name, { 'auth.sdk': 'custom', 'auth.outcome': 'missing' })).map((p) => p.attributes['http.route']),
    );
    expect(routes).toEqual(new Set(['/a/[id]', '/b', OTHER]));
    configureAuthTelemetry({});
  });

  it('rejects invalid options with a typed error that says what to fix', () => {
    expect(() => configureAuthTelemetry({ hashUserId: { salt: 'short' } })).toThrow(AuthTelemetryConfigError);
    expect(() => configureAuthTelemetry({ hashUserId: { salt: 'short' } })).toThrow(/at least 16 characters/);
    expect(() => configureAuthTelemetry({ maxRoutes: -1 })).toThrow(/maxRoutes/);
  });

  it('hashes user ids only on opt-in, with HMAC-SHA-256 keyed by the salt', async () => {
    // RFC 4231 test case 2, then a key longer than the block size and a multi-block message.
    expect(saltedHmacSha256('Jefe')('what do ya want for nothing?')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(saltedHmacSha256('k'.repeat(131))('a'.repeat(1000))).toBe('3a5989b48ffdafb536b3962e724c8b43ba309214535607865f37da6b0de698f0');
    telemetry.reset();
    await observeCall('sessionRead', { sdk: 'custom' }, async () => 1, {
      result: () => ({ outcome: 'found', userId: 'auth0|user-1' }),
      error: () => ({ outcome: 'error' }),
    });
    expect(telemetry.finishedSpans()[0]!.attributes['user.hash']).toBeUndefined();
    configureAuthTelemetry({ hashUserId: { salt: 'a-secret-salt-of-some-length' } });
    await observeCall('sessionRead', { sdk: 'custom' }, async () => 1, {
      result: () => ({ outcome: 'found', userId: 'auth0|user-1' }),
      error: () => ({ outcome: 'error' }),
    });
    const hash = telemetry.finishedSpans()[1]!.attributes['user.hash'];
    expect(hash).toBe('b2b7cfc155a68d2e073eb8ce2ea1ccfd77db93003da5364acd18dbc681740528');
    expect(spanText(telemetry.finishedSpans())).not.toContain('user-1');
    configureAuthTelemetry({});
  });
});

describe('session cookie facts without the secret', () => {
  it('reads the session age from the JWE protected header and tells why a cookie is unreadable', () => {
    const now = 1_700_000_000;
    expect(sessionAgeFromJwe(jwe({ alg: 'dir', enc: 'A256GCM', iat: now - 3600, uat: now - 60, exp: now + 3600 }), now)).toBe(3600);
    expect(invalidCookieReason(jwe({ alg: 'dir', enc: 'A256GCM', iat: now - 9000, exp: now - 1 }), now)).toBe('expired');
    expect(invalidCookieReason(jwe({ alg: 'dir', enc: 'A256GCM', iat: now - 10, exp: now + 10 }), now)).toBe('undecryptable');
    expect(invalidCookieReason('not-a-jwe', now)).toBe('malformed');
    expect(invalidCookieReason('e30.a.b.c.d', now)).toBe('malformed');
    expect(invalidCookieReason(jwe({ alg: 'dir', enc: 'A256GCM' }), now)).toBe('unknown');
  });

  it('measures a session cookie whole: every chunk of every SDK naming, nothing else, and odd store entries as empty', () => {
    const header = 'theme=dark; appSession.0=aaaa; appSession.1=bb; appSessionX=zzzz; other=x';
    expect(requestCookieSize(new Headers({ cookie: header }), 'appSession')).toEqual({
      bytes: 'appSession.0=aaaa'.length + 'appSession.1=bb'.length,
      chunks: 2,
    });
    expect(
      sessionCookieSize(
        [
          ['__session__0', 'abc'],
          ['__session__1', 'de'],
          ['__sessionX', 'q'],
        ],
        '__session',
      ),
    ).toEqual({ bytes: 16 + 15, chunks: 2 });
    expect(sessionCookieSize([['next-auth.session-token', 'é']], 'next-auth.session-token')).toEqual({ bytes: 24 + 2, chunks: 1 });
    // UTF-8: 1 + 4 (a surrogate pair) + 2 + 3 bytes; a raw header holds one byte per character.
    expect(sessionCookieSize([['s', 'x😀é€']], 's')).toEqual({ bytes: 2 + 1 + 4 + 2 + 3, chunks: 1 });
    expect(requestCookieSize(new Headers({ cookie: ' s = a b ;s.1=\u00e9' }), 's')).toEqual({ bytes: 's=a b'.length + 's.1=x'.length, chunks: 2 });
    expect(requestCookieSize(new Headers({ cookie: 'theme=dark' }), 'appSession')).toBeUndefined();
    const store = { getAll: () => [{ name: 'appSession', value: undefined as unknown as string }] };
    expect(storeCookieSize(store, 'appSession')).toEqual({ bytes: 'appSession='.length, chunks: 1 });
  });

  it('finds the session cookie, or its first chunk, in every request shape: parsed cookies first, else the Cookie header', () => {
    const header = 'theme=dark; appSession.0=first-chunk; appSession.1=second-chunk; other=x';
    const shapes: [string, unknown][] = [
      // NextRequest: Next parsed the cookies when it built the request.
      ['NextRequest', new NextRequest('http://localhost/', { headers: { cookie: header } })],
      ['Web Request', new Request('http://localhost/', { headers: { cookie: header } })],
      // Pages Router: `req.cookies` is a plain record next to the Node header record.
      ['Pages Router request', { headers: { cookie: 'stale=1' }, cookies: { 'appSession.0': 'first-chunk' } }],
      ['Node header record', { headers: { cookie: header } }],
    ];
    for (const [shape, request] of shapes) {
      expect(readSessionCookie(request as never, 'appSession'), shape).toBe('first-chunk');
      expect(readSessionCookie(request as never, 'missing'), shape).toBeUndefined();
    }
    const whole = new NextRequest('http://localhost/', { headers: { cookie: 'appSession=whole; appSession.0=ignored' } });
    expect(readSessionCookie(whole, 'appSession')).toBe('whole');
    // A cookies object that is neither (a Map-like without `get`, a class instance) falls back to the header.
    expect(readSessionCookie({ headers: { cookie: 'appSession=from-header' }, cookies: new Set(['appSession']) } as never, 'appSession')).toBe('from-header');
  });
});

describe('withAuthTelemetry', () => {
  const run = (response: unknown, headers: Record<string, string> = { 'user-agent': CHROME }) =>
    withAuthTelemetry(async () => response)(new Request('https://app.example/x', { headers }));

  it('derives the outcome from the response and returns it untouched, Set-Cookie included', async () => {
    telemetry.reset();
    const next = new Response(null, { headers: { 'x-middleware-next': '1' } });
    next.headers.append('set-cookie', 'appSession=a; Path=/');
    next.headers.append('set-cookie', 'other=b; Path=/');
    expect(await run(next)).toBe(next);
    expect(next.headers.getSetCookie()).toEqual(['appSession=a; Path=/', 'other=b; Path=/']);
    await run(Response.redirect('https://app.example/api/auth/login', 307));
    await run(new Response('{"error":"not_authenticated"}', { status: 401 }));
    await run(new Response('boom', { status: 500 }));
    await run(undefined);
    const outcomes = telemetry.finishedSpans(SPANS.middleware.name).map((s) => [s.attributes['auth.outcome'], s.attributes['error.type']]);
    expect(outcomes).toEqual([
      ['pass', undefined],
      ['redirect', undefined],
      ['unauthorized', undefined],
      ['error', '500'],
      ['pass', undefined],
    ]);
    const duration = await telemetry.points(METRICS.middlewareDuration.name);
    expect(duration.length).toBeGreaterThan(0);
  });

  it('rethrows the middleware error object and records error', async () => {
    const failure = new Error('JWTExpired');
    const middleware = withAuthTelemetry(async () => {
      throw failure;
    });
    await expect(middleware(new Request('https://app.example/'))).rejects.toBe(failure);
  });

  it('gives nested SDK calls the middleware request class, with and without the request object', async () => {
    telemetry.reset();
    const probe = new Request('https://app.example/', { headers: { 'user-agent': CHROME, 'x-datadog-origin': 'synthetics' } });
    await withAuthTelemetry(async (request: Request) => {
      await observeCall('tokenGet', { sdk: 'custom', request }, async () => 1, { result: () => ({ outcome: 'cached' }), error: () => ({ outcome: 'error' }) });
      const op = startOperation('sessionRead', { sdk: 'custom' });
      op.end({ outcome: 'missing' });
      return undefined;
    })(probe);
    const [token] = telemetry.finishedSpans(SPANS.tokenGet.name);
    const [read] = telemetry.finishedSpans(SPANS.sessionRead.name);
    const [middleware] = telemetry.finishedSpans(SPANS.middleware.name);
    expect(token!.attributes['auth.user_agent.class']).toBe('monitor');
    expect(read!.attributes['auth.user_agent.class']).toBe('monitor');
    expect(token!.parentSpanContext?.spanId).toBe(middleware!.spanContext().spanId);
  });

  it('names the middleware after the first instrumented SDK it calls, unless the app named one; a middleware calling none is custom', async () => {
    telemetry.reset();
    const call = (request: Request, sdk: 'nextjs-auth0-v4' | 'next-auth-v4') =>
      observeCall('sessionRead', { sdk, request }, async () => null, { result: () => ({ outcome: 'missing' }), error: () => ({ outcome: 'error' }) });
    const request = () => new Request('https://app.example/', { headers: { 'user-agent': CHROME } });
    await withAuthTelemetry(async (r: Request) => {
      await call(r, 'nextjs-auth0-v4');
      await call(r, 'next-auth-v4');
    })(request());
    await withAuthTelemetry(async (r: Request) => call(r, 'nextjs-auth0-v4'), { sdk: 'authjs-v5' })(request());
    await withAuthTelemetry(async () => undefined)(request());
    const sdks = telemetry.finishedSpans(SPANS.middleware.name).map((span) => span.attributes['auth.sdk']);
    expect(sdks).toEqual(['nextjs-auth0-v4', 'authjs-v5', 'custom']);
  });

  it('rejects a non-function with a clear TypeError', () => {
    expect(() => withAuthTelemetry(undefined as never)).toThrow(/expects the middleware function/);
  });
});

describe('span start and span modes', () => {
  const KEY = Symbol.for('engine-test.value');
  const read = (outcome: string, body: () => Promise<unknown> = async () => ({})) =>
    observeCall('sessionRead', { sdk: 'custom', request: new Request('https://app.example/', { headers: { 'user-agent': CHROME } }) }, body, {
      result: () => ({ outcome }),
      error: (e) => ({ outcome: 'error', error: e }),
    });
  const epochMs = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;
  const readsCounted = (outcome: string) => telemetry.count(METRICS.sessionReads.name, { 'auth.outcome': outcome, 'auth.sdk': 'custom' });

  afterEach(() => configureAuthTelemetry());

  it('a span started at its end keeps the call start, the call duration, and the parent it had when the call began', async () => {
    telemetry.reset();
    const outer = trace.getTracer('test').startSpan('GET /account');
    const calledAt = Date.now();
    await context.with(trace.setSpan(context.active(), outer), () => read('found', () => new Promise((resolve) => setTimeout(resolve, 40))));
    outer.end();
    const [span] = telemetry.finishedSpans(SPANS.sessionRead.name);
    const startMs = epochMs(span!.startTime);
    const durationMs = epochMs(span!.duration);
    expect(span!.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(Math.abs(startMs - calledAt)).toBeLessThan(15);
    expect(durationMs).toBeGreaterThanOrEqual(35);
    expect(durationMs).toBeLessThan(1000);
  });

  it('a span started inside the call (another instrumentation, an SDK hook) is a child of the operation span', async () => {
    telemetry.reset();
    configureAuthTelemetry({ spans: 'notable' });
    let valueThroughLayer: unknown;
    await read('found', async () => {
      // Setting a value does not need the span; starting a nested span does.
      valueThroughLayer = context.active().setValue(KEY, 'kept').getValue(KEY);
      trace.getTracer('undici').startSpan('POST /oauth/token').end();
      return {};
    });
    const [span] = telemetry.finishedSpans(SPANS.sessionRead.name);
    expect(valueThroughLayer).toBe('kept');
    expect(span, 'a successful read that parented a span still gets one in notable mode').toBeDefined();
    const [nested] = telemetry.finishedSpans('POST /oauth/token');
    expect(nested!.parentSpanContext?.spanId).toBe(span!.spanContext().spanId);
  });

  it("spans: 'notable' records every metric but spans only for failures, invalid cookies, refreshes and handlers", async () => {
    configureAuthTelemetry({ spans: 'notable' });
    telemetry.reset();
    const found = await readsCounted('found');
    const invalid = await readsCounted('invalid');
    await read('found', async () => context.active().setValue(KEY, 1));
    await read('invalid');
    expect(await readsCounted('found')).toBe(found + 1);
    expect(await readsCounted('invalid')).toBe(invalid + 1);
    expect(telemetry.finishedSpans(SPANS.sessionRead.name).map((s) => s.attributes['auth.outcome'])).toEqual(['invalid']);

    telemetry.reset();
    const cached = startOperation('tokenGet', { sdk: 'custom' });
    cached.end({ outcome: 'cached' });
    const refreshed = startOperation('tokenGet', { sdk: 'custom' });
    const refresh = refreshed.child('tokenRefresh');
    refresh.end({ outcome: 'success' });
    refreshed.end({ outcome: 'refreshed' });
    const tokenSpans = telemetry.finishedSpans(SPANS.tokenGet.name);
    const [refreshSpan] = telemetry.finishedSpans(SPANS.tokenRefresh.name);
    expect(tokenSpans.map((s) => s.attributes['auth.outcome'])).toEqual(['refreshed']);
    expect(refreshSpan!.parentSpanContext?.spanId).toBe(tokenSpans[0]!.spanContext().spanId);
    // Each span converts its times with its own millisecond clock offset.
    expect(epochMs(tokenSpans[0]!.startTime)).toBeLessThanOrEqual(epochMs(refreshSpan!.startTime) + 1);

    telemetry.reset();
    const response = await withAuthTelemetry(async () => new Response(null, { status: 200 }))(
      new Request('https://app.example/', { headers: { 'user-agent': CHROME } }),
    );
    await withAuthTelemetry(async () => {
      throw new Error('middleware bug');
    })(new Request('https://app.example/')).catch(() => undefined);
    expect(response.status).toBe(200);
    expect(telemetry.finishedSpans(SPANS.middleware.name).map((s) => s.attributes['auth.outcome'])).toEqual(['error']);
  });

  it("spans: 'notable' gives a non-user's routine missing-session failure no span, but a real user's and every refresh one", async () => {
    configureAuthTelemetry({ spans: 'notable' });
    telemetry.reset();
    const missingSession = () => Object.assign(new Error('The user does not have a valid session.'), { name: 'AccessTokenError', code: 'ERR_MISSING_SESSION' });
    const getToken = (userAgent: string, thrown: Error) =>
      observeCall(
        'tokenGet',
        { sdk: 'nextjs-auth0-v3', request: new Request('https://app.example/', { headers: { 'user-agent': userAgent } }) },
        async () => {
          throw thrown;
        },
        { result: () => ({ outcome: 'cached' }), error: (e) => ({ outcome: 'error', error: e }) },
      ).catch(() => undefined);
    const probesBefore = await telemetry.count(METRICS.tokenRequests.name, { 'auth.outcome': 'error', 'auth.user_agent.class': 'monitor' });
    await getToken('Datadog/Synthetics', missingSession());
    await getToken('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', missingSession());
    await getToken('curl/8.5.0', missingSession());
    expect(await telemetry.count(METRICS.tokenRequests.name, { 'auth.outcome': 'error', 'auth.user_agent.class': 'monitor' })).toBe(probesBefore + 1);
    expect(telemetry.finishedSpans(SPANS.tokenGet.name), 'routine noise is counted, not traced').toHaveLength(0);

    // The same failure from a browser, and a monitor's unexpected failure, keep their spans.
    await getToken(CHROME, missingSession());
    await getToken('Datadog/Synthetics', Object.assign(new Error('refresh failed'), { name: 'AccessTokenError', code: 'ERR_FAILED_REFRESH_GRANT' }));
    expect(telemetry.finishedSpans(SPANS.tokenGet.name).map((s) => [s.attributes['auth.user_agent.class'], s.attributes['auth.error.code']])).toEqual([
      ['browser', 'ERR_MISSING_SESSION'],
      ['monitor', 'ERR_FAILED_REFRESH_GRANT'],
    ]);

    // A monitor's refresh keeps its span even when it fails.
    telemetry.reset();
    await observeCall(
      'tokenRefresh',
      { sdk: 'custom', request: new Request('https://app.example/', { headers: { 'user-agent': 'Datadog/Synthetics' } }) },
      async () => {
        throw Object.assign(new Error('no refresh token'), { code: 'ERR_MISSING_REFRESH_TOKEN' });
      },
      { result: () => ({ outcome: 'success' }), error: (e) => ({ outcome: 'failure', error: e }) },
    ).catch(() => undefined);
    expect(telemetry.finishedSpans(SPANS.tokenRefresh.name)).toHaveLength(1);
  });

  it("spans: 'none' records every metric and starts no span, while nested spans keep the enclosing parent", async () => {
    configureAuthTelemetry({ spans: 'none' });
    telemetry.reset();
    const failuresBefore = await telemetry.count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure' });
    const outer = trace.getTracer('test').startSpan('GET /dashboard');
    await context.with(trace.setSpan(context.active(), outer), () =>
      read('found', async () => {
        trace.getTracer('undici').startSpan('POST /oauth/token').end();
        return {};
      }),
    );
    outer.end();
    const refresh = startOperation('tokenGet', { sdk: 'custom' });
    refresh.child('tokenRefresh').end({ outcome: 'failure', errorCode: 'invalid_grant' });
    refresh.end({ outcome: 'error', errorCode: 'invalid_grant' });
    expect(await telemetry.count(METRICS.tokenRefreshes.name, { 'auth.outcome': 'failure' })).toBe(failuresBefore + 1);
    expect(telemetry.finishedSpans(SPANS.sessionRead.name)).toHaveLength(0);
    expect(telemetry.finishedSpans(SPANS.tokenGet.name)).toHaveLength(0);
    expect(telemetry.finishedSpans(SPANS.tokenRefresh.name)).toHaveLength(0);
    const [nested] = telemetry.finishedSpans('POST /oauth/token');
    expect(nested!.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
  });

  it('rejects an unknown span mode with a typed error that names the choices', () => {
    expect(() => configureAuthTelemetry({ spans: 'some' as never })).toThrow(AuthTelemetryConfigError);
    expect(() => configureAuthTelemetry({ spans: 'some' as never })).toThrow(/'all', 'notable' or 'none'/);
  });
});
