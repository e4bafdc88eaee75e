/**
 * A real OTLP/HTTP receiver on a free loopback port: what the official OpenTelemetry JS exporters send.
 *
 * - POST /v1/traces, /v1/metrics (and /v1/logs, accepted and counted).
 * - `application/json` (exporter-*-otlp-http) and `application/x-protobuf` (exporter-*-otlp-proto), the latter
 *   decoded by protobufjs from the opentelemetry-proto definitions.
 * - `Content-Encoding: gzip` / `deflate` / `br`.
 * - Flattened, typed views: `spans()`, `metricPoints()`; helpers `latestCumulative()` and `histogramTotals()`.
 *
 * No vitest imports: also used by plain `tsx` scripts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { serverCloser } from './server-closer';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

export const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
export type SpanKindName = (typeof SPAN_KINDS)[number];

export interface ReceivedSpanEvent {
  name: string;
  timeUnixNano: string;
  attributes: Attributes;
}

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  /** OTLP enum: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  kindName: SpanKindName;
  attributes: Attributes;
  /** code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: ReceivedSpanEvent[];
  links: Array<{ traceId: string; spanId: string; attributes: Attributes }>;
  resource: Attributes;
  scope: { name: string; version?: string };
  /** Decimal nanoseconds since epoch (string: exceeds 2^53). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationMs: number;
  /** Which export request (0-based, across signals) delivered it. */
  exportIndex: number;
}

export type MetricType = 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary';
export type Temporality = 'delta' | 'cumulative' | 'unspecified';

export interface ReceivedMetricPoint {
  name: string;
  description: string;
  unit: string;
  type: MetricType;
  attributes: Attributes;
  /** sum / gauge value. */
  value?: number;
  /** histogram / exponentialHistogram / summary. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  temporality?: Temporality;
  isMonotonic?: boolean;
  resource: Attributes;
  scope: { name: string; version?: string };
  startTimeUnixNano: string;
  timeUnixNano: string;
  exportIndex: number;
}

export interface ReceivedRequest {
  index: number;
  path: string;
  contentType: string;
  contentEncoding?: string;
  userAgent?: string;
  bytes: number;
  status: number;
  error?: string;
  /** Spans / metric points / log records parsed from it. */
  items: number;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Included in the timeout error message. */
  description?: string;
}

export interface OtlpReceiver {
  /** Base URL, `http://127.0.0.1:<port>` (set `OTEL_EXPORTER_OTLP_ENDPOINT` to it). */
  url: string;
  port: number;
  /**
   * The environment that makes an app's `registerAuthTelemetry()` export here, quickly enough for
   * a test to wait on: metrics every `metricIntervalMs`, spans batched for 200 ms.
   */
  exporterEnv(serviceName: string, options?: { metricIntervalMs?: number }): Record<string, string>;
  tracesUrl: string;
  metricsUrl: string;
  logsUrl: string;
  spans(): ReceivedSpan[];
  metricPoints(): ReceivedMetricPoint[];
  /** Raw decoded request bodies (OTLP JSON shape), per signal. */
  raw(): { traces: unknown[]; metrics: unknown[]; logs: unknown[] };
  requests(): ReceivedRequest[];
  /** Polls `predicate` (and re-checks on every received request) until it returns a truthy value. */
  waitFor<T>(predicate: () => T | Promise<T>, options?: WaitForOptions): Promise<NonNullable<T>>;
  /** Waits for a span by name or predicate and returns it. */
  waitForSpan(match: string | ((s: ReceivedSpan) => boolean), options?: WaitForOptions): Promise<ReceivedSpan>;
  /** Forces the HTTP status of the next responses (e.g. 503 to simulate a collector outage); null restores 200. */
  setResponseStatus(status: number | null): void;
  /**
   * Injects a collector fault into the requests that arrive from now on (see `OtlpFault`); null
   * answers normally again (and listens again after `refuse`). Requests already held keep their fault.
   */
  setFault(fault: OtlpFault | null): Promise<void>;
  /** Export requests received and neither answered nor abandoned by their client yet. */
  inFlight(): number;
  /** Requests relayed to `forwardTo`: sent, failed, and the last failure; after waiting for those in flight. */
  forwardStatus(): Promise<{ sent: number; failed: number; lastError?: string }>;
  reset(): void;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf: protobufjs with the opentelemetry-proto definitions
// ---------------------------------------------------------------------------------------------------------------

// @elastic/mockotlpserver ships the upstream .proto files and keeps them in step with opentelemetry-js;
// otlp-transformer no longer ships a request decoder or the definitions.
const PROTO_DIR = dirname(createRequire(import.meta.url).resolve('@elastic/mockotlpserver/package.json'));

const REQUEST_TYPES = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
} as const;

const SERVICE_PROTOS = ['trace', 'metrics', 'logs'].map((s) => `opentelemetry/proto/collector/${s}/v1/${s}_service.proto`);

/** OTLP/JSON writes these byte fields as hex; every other bytes field (AnyValue.bytesValue) as base64. */
const HEX_ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

let otlpRoot: protobuf.Root | undefined;

/** Loads the definitions on first use, so that importing the testkit reads no files. */
function otlpProtos(): protobuf.Root {
  if (otlpRoot) return otlpRoot;
  const root = new protobuf.Root();
  // The files import each other by their path from the definitions' root (`opentelemetry/proto/...`), where
  // protobufjs would look next to the importing file.
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_DIR, target));
  otlpRoot = root.loadSync(SERVICE_PROTOS);
  return otlpRoot;
}

/** protobufjs leaves bytes as Buffers; OTLP/JSON has them as strings. */
function bytesToJson(value: unknown, field = ''): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString(HEX_ID_FIELDS.has(field) ? 'hex' : 'base64');
  if (Array.isArray(value)) return value.map((v) => bytesToJson(v, field));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bytesToJson(v, k)]));
  return value;
}

/**
 * Decodes an OTLP protobuf export request into the OTLP/JSON shape: camelCase fields, enums as numbers,
 * hex trace and span ids, 64-bit integers (nanosecond times, counts, intValue) as decimal strings.
 */
export function decodeOtlpProtobuf(signal: 'traces' | 'metrics' | 'logs', body: Uint8Array): Record<string, unknown> {
  const type = otlpProtos().lookupType(REQUEST_TYPES[signal]);
  return bytesToJson(type.toObject(type.decode(body), { longs: String })) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation (shared by JSON and protobuf)
// ---------------------------------------------------------------------------------------------------------------

type Json = Record<string, any>;

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isNaN(n) ? undefined : n;
  }
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    // protobufjs Long-ish {low, high}
    const { low, high } = v as { low: number; high: number };
    return high * 2 ** 32 + (low >>> 0);
  }
  return undefined;
}

function nanos(v: unknown): string {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return BigInt(Math.round(v)).toString();
  if (typeof v === 'object' && 'low' in (v as object) && 'high' in (v as object)) {
    const { low, high } = v as { low: number; high: number };
    return ((BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)).toString();
  }
  return String(v);
}

function idHex(v: unknown): string {
  if (typeof v === 'string') return v.toLowerCase();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return '';
}

/** Converts an OTLP AnyValue (JSON or decoded protobuf) into a plain JS value. */
export function anyValue(v: unknown): AttributeValue {
  if (!v || typeof v !== 'object') return null;
  const o = v as Json;
  if ('stringValue' in o) return String(o.stringValue);
  if ('boolValue' in o) return Boolean(o.boolValue);
  if ('intValue' in o) return num(o.intValue) ?? null;
  if ('doubleValue' in o) return num(o.doubleValue) ?? null;
  if ('arrayValue' in o) return ((o.arrayValue?.values ?? []) as unknown[]).map(anyValue);
  if ('kvlistValue' in o) return keyValues(o.kvlistValue?.values);
  if ('bytesValue' in o) return typeof o.bytesValue === 'string' ? o.bytesValue : Buffer.from(o.bytesValue as Uint8Array).toString('base64');
  return null;
}

export function keyValues(list: unknown): Attributes {
  const out: Attributes = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list as Json[]) {
    if (kv && typeof kv.key === 'string') out[kv.key] = anyValue(kv.value);
  }
  return out;
}

function kindName(kind: number): SpanKindName {
  return SPAN_KINDS[kind] ?? 'UNSPECIFIED';
}

function spanKind(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const i = SPAN_KINDS.indexOf(v.replace(/^SPAN_KIND_/, '') as SpanKindName);
    return i < 0 ? 0 : i;
  }
  return 0;
}

function statusCode(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'STATUS_CODE_OK') return 1;
  if (v === 'STATUS_CODE_ERROR') return 2;
  return 0;
}

function temporality(v: unknown): Temporality {
  if (v === 1 || v === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (v === 2 || v === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return 'unspecified';
}

function flattenSpans(body: Json, exportIndex: number): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (body.resourceSpans ?? []) as Json[]) {
    const resource = keyValues(rs.resource?.attributes);
    for (const ss of (rs.scopeSpans ?? rs.instrumentationLibrarySpans ?? []) as Json[]) {
      const scopeObj = (ss.scope ?? ss.instrumentationLibrary ?? {}) as Json;
      const scope = { name: String(scopeObj.name ?? ''), ...(scopeObj.version ? { version: String(scopeObj.version) } : {}) };
      for (const s of (ss.spans ?? []) as Json[]) {
        const start = nanos(s.startTimeUnixNano);
        const end = nanos(s.endTimeUnixNano);
        const kind = spanKind(s.kind);
        out.push({
          name: String(s.name ?? ''),
          traceId: idHex(s.traceId),
          spanId: idHex(s.spanId),
          parentSpanId: idHex(s.parentSpanId),
          kind,
          kindName: kindName(kind),
          attributes: keyValues(s.attributes),
          status: {
            code: statusCode(s.status?.code),
            ...(s.status?.message ? { message: String(s.status.message) } : {}),
          },
          events: ((s.events ?? []) as Json[]).map((e) => ({
            name: String(e.name ?? ''),
            timeUnixNano: nanos(e.timeUnixNano),
            attributes: keyValues(e.attributes),
          })),
          links: ((s.links ?? []) as Json[]).map((l) => ({
            traceId: idHex(l.traceId),
            spanId: idHex(l.spanId),
            attributes: keyValues(l.attributes),
          })),
          resource,
          scope,
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          durationMs: Number(BigInt(end) - BigInt(start)) / 1e6,
          exportIndex,
        });
      }
    }
  }
  return out;
}

function flattenMetrics(body: Json, exportIndex: number): ReceivedMetricPoint[] {
  const out: ReceivedMetricPoint[] = [];
  for (const rm of (body.resourceMetrics ?? []) as Json[]) {
    const resource = keyValues(rm.resource?.attributes);
    for (const sm of (rm.scopeMetrics ?? rm.instrumentationLibraryMetrics ?? []) as Json[]) {
      const scopeObj = (sm.scope ?? sm.instrumentationLibrary ?? {}) as Json;
      const scope = { name: String(scopeObj.name ?? ''), ...(scopeObj.version ? { version: String(scopeObj.version) } : {}) };
      for (const m of (sm.metrics ?? []) as Json[]) {
        const base = {
          name: String(m.name ?? ''),
          description: String(m.description ?? ''),
          unit: String(m.unit ?? ''),
          resource,
          scope,
          exportIndex,
        };
        const common = (dp: Json) => ({
          attributes: keyValues(dp.attributes),
          startTimeUnixNano: nanos(dp.startTimeUnixNano),
          timeUnixNano: nanos(dp.timeUnixNano),
        });
        const numberValue = (dp: Json) => num(dp.asDouble) ?? num(dp.asInt) ?? 0;
        if (m.sum) {
          for (const dp of (m.sum.dataPoints ?? []) as Json[]) {
            out.push({
              ...base,
              ...common(dp),
              type: 'sum',
              value: numberValue(dp),
              temporality: temporality(m.sum.aggregationTemporality),
              isMonotonic: Boolean(m.sum.isMonotonic),
            });
          }
        } else if (m.gauge) {
          for (const dp of (m.gauge.dataPoints ?? []) as Json[]) {
            out.push({ ...base, ...common(dp), type: 'gauge', value: numberValue(dp) });
          }
        } else if (m.histogram) {
          for (const dp of (m.histogram.dataPoints ?? []) as Json[]) {
            out.push({
              ...base,
              ...common(dp),
              type: 'histogram',
              count: num(dp.count) ?? 0,
              sum: num(dp.sum),
              min: num(dp.min),
              max: num(dp.max),
              bucketCounts: ((dp.bucketCounts ?? []) as unknown[]).map((c) => num(c) ?? 0),
              explicitBounds: ((dp.explicitBounds ?? []) as unknown[]).map((b) => num(b) ?? 0),
              temporality: temporality(m.histogram.aggregationTemporality),
            });
          }
        } else if (m.exponentialHistogram) {
          for (const dp of (m.exponentialHistogram.dataPoints ?? []) as Json[]) {
            out.push({
              ...base,
              ...common(dp),
              type: 'exponentialHistogram',
              count: num(dp.count) ?? 0,
              sum: num(dp.sum),
              min: num(dp.min),
              max: num(dp.max),
              temporality: temporality(m.exponentialHistogram.aggregationTemporality),
            });
          }
        } else if (m.summary) {
          for (const dp of (m.summary.dataPoints ?? []) as Json[]) {
            out.push({ ...base, ...common(dp), type: 'summary', count: num(dp.count) ?? 0, sum: num(dp.sum) });
          }
        }
      }
    }
  }
  return out;
}

function countLogs(body: Json): number {
  let n = 0;
  for (const rl of (body.resourceLogs ?? []) as Json[]) {
    for (const sl of (rl.scopeLogs ?? []) as Json[]) n += ((sl.logRecords ?? []) as unknown[]).length;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers for assertions
// ---------------------------------------------------------------------------------------------------------------

export type AttributeFilter = Record<string, AttributeValue | undefined> | ((attributes: Attributes) => boolean);

function matches(attributes: Attributes, filter?: AttributeFilter): boolean {
  if (!filter) return true;
  if (typeof filter === 'function') return filter(attributes);
  return Object.entries(filter).every(([k, v]) => (v === undefined ? !(k in attributes) : JSON.stringify(attributes[k]) === JSON.stringify(v)));
}

function seriesKey(p: ReceivedMetricPoint): string {
  const sorted = (a: Attributes) =>
    JSON.stringify(
      Object.keys(a)
        .sort()
        .map((k) => [k, a[k]]),
    );
  return `${sorted(p.resource)}|${p.scope.name}|${sorted(p.attributes)}`;
}

function newer(a: ReceivedMetricPoint, b: ReceivedMetricPoint): boolean {
  const ta = BigInt(a.timeUnixNano);
  const tb = BigInt(b.timeUnixNano);
  return ta === tb ? a.exportIndex > b.exportIndex : ta > tb;
}

/**
 * The current total of a metric over every series (resource × scope × attributes) matching `filter`:
 * - cumulative sums/histograms: the newest point per series (exports repeat cumulative points);
 * - delta sums/histograms: the sum of all points of the series;
 * - gauges: the newest value per series.
 * Sums/gauges give `value`; histograms give `count` (see `histogramTotals` for sum and buckets).
 * An attribute filter value of `undefined` means "attribute absent".
 */
export function latestCumulative(points: ReceivedMetricPoint[], name: string, filter?: AttributeFilter): number {
  return aggregateSeries(points, name, filter).reduce((acc, s) => acc + (s.value ?? s.count ?? 0), 0);
}

export interface SeriesTotal {
  attributes: Attributes;
  resource: Attributes;
  type: MetricType;
  temporality?: Temporality;
  value?: number;
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
}

/** Per-series totals, using the same rules as `latestCumulative`. */
export function aggregateSeries(points: ReceivedMetricPoint[], name: string, filter?: AttributeFilter): SeriesTotal[] {
  const bySeries = new Map<string, ReceivedMetricPoint[]>();
  for (const p of points) {
    if (p.name !== name || !matches(p.attributes, filter)) continue;
    const key = seriesKey(p);
    const list = bySeries.get(key);
    if (list) list.push(p);
    else bySeries.set(key, [p]);
  }
  const out: SeriesTotal[] = [];
  for (const list of bySeries.values()) {
    const first = list[0]!;
    const base = { attributes: first.attributes, resource: first.resource, type: first.type, temporality: first.temporality };
    if (first.temporality === 'delta') {
      const total: SeriesTotal = { ...base };
      for (const p of list) {
        if (p.value !== undefined) total.value = (total.value ?? 0) + p.value;
        if (p.count !== undefined) total.count = (total.count ?? 0) + p.count;
        if (p.sum !== undefined) total.sum = (total.sum ?? 0) + p.sum;
        if (p.bucketCounts) {
          total.bucketCounts = p.bucketCounts.map((c, i) => c + (total.bucketCounts?.[i] ?? 0));
          total.explicitBounds = p.explicitBounds;
        }
      }
      out.push(total);
    } else {
      let latest = first;
      for (const p of list) if (newer(p, latest)) latest = p;
      out.push({
        ...base,
        value: latest.value,
        count: latest.count,
        sum: latest.sum,
        bucketCounts: latest.bucketCounts,
        explicitBounds: latest.explicitBounds,
      });
    }
  }
  return out;
}

/** Histogram totals over matching series: count, sum and merged bucket counts (bounds must agree). */
export function histogramTotals(
  points: ReceivedMetricPoint[],
  name: string,
  filter?: AttributeFilter,
): { count: number; sum: number; bucketCounts: number[]; explicitBounds: number[] } {
  let count = 0;
  let sum = 0;
  let bucketCounts: number[] = [];
  let explicitBounds: number[] = [];
  for (const s of aggregateSeries(points, name, filter)) {
    count += s.count ?? 0;
    sum += s.sum ?? 0;
    if (s.bucketCounts) {
      if (explicitBounds.length && s.explicitBounds && JSON.stringify(s.explicitBounds) !== JSON.stringify(explicitBounds)) {
        throw new Error(`histogramTotals(${name}): series have different bucket bounds`);
      }
      explicitBounds = s.explicitBounds ?? explicitBounds;
      bucketCounts = s.bucketCounts.map((c, i) => c + (bucketCounts[i] ?? 0));
    }
  }
  return { count, sum, bucketCounts, explicitBounds };
}

// ---------------------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------------------

const SIGNALS: Record<string, 'traces' | 'metrics' | 'logs'> = {
  '/v1/traces': 'traces',
  '/v1/metrics': 'metrics',
  '/v1/logs': 'logs',
};

function decompress(body: Buffer, encoding: string | undefined): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (!enc || enc === 'identity') return body;
  if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync(body);
  if (enc === 'deflate') return inflateSync(body);
  if (enc === 'br') return brotliDecompressSync(body);
  throw Object.assign(new Error(`unsupported content-encoding ${enc}`), { status: 415 });
}

/**
 * A collector fault:
 * - `refuse`: the port stops listening and open connections are closed, so exports get ECONNREFUSED;
 * - `blackhole`: requests are accepted and never answered, until the client gives up;
 * - `delay`: each request is answered after `ms`, normally (nothing is recorded if the client gave up first);
 * - `status`: each request is answered with `status` (500, 503, 429, …), with `Retry-After` when given.
 */
export type OtlpFault = { kind: 'refuse' } | { kind: 'blackhole' } | { kind: 'delay'; ms: number } | { kind: 'status'; status: number; retryAfter?: string };

export interface StartOtlpReceiverOptions {
  port?: number;
  /**
   * Also sends every accepted request, byte for byte, to this OTLP/HTTP base URL (a real
   * Collector). Failures there are counted in `forwardErrors()` and never change the reply.
   */
  forwardTo?: string;
}

export async function startOtlpReceiver(options: StartOtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const forwardTo = options.forwardTo?.replace(/\/+$/, '');
  const forwarding = { sent: 0, failed: 0, lastError: undefined as string | undefined };
  const pendingForwards = new Set<Promise<void>>();
  let spans: ReceivedSpan[] = [];
  let points: ReceivedMetricPoint[] = [];
  let raw = { traces: [] as unknown[], metrics: [] as unknown[], logs: [] as unknown[] };
  let requests: ReceivedRequest[] = [];
  let exportIndex = 0;
  let forcedStatus: number | null = null;
  let fault: OtlpFault | null = null;
  let inFlight = 0;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    inFlight++;
    res.once('close', () => inFlight--);
    const held = fault;
    // Never answered: the request stays open until the client aborts it (its timeout) or the receiver
    // stops. The body is read and discarded, so the server sees the client close the connection.
    if (held?.kind === 'blackhole') {
      req.resume();
      return;
    }
    if (held?.kind === 'status') {
      for await (const chunk of req) void chunk;
      if (held.retryAfter !== undefined) res.setHeader('Retry-After', held.retryAfter);
      res.statusCode = held.status;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ code: 14, message: 'fault injected (testkit)' }));
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const signal = SIGNALS[path];
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const record: ReceivedRequest = {
      index: exportIndex++,
      path,
      contentType,
      contentEncoding: req.headers['content-encoding'] as string | undefined,
      userAgent: req.headers['user-agent'],
      bytes: chunks.reduce((n, c) => n + c.length, 0),
      status: 200,
      items: 0,
    };
    requests.push(record);
    const reply = (status: number, body: string | Uint8Array, type: string) => {
      record.status = status;
      res.statusCode = status;
      res.setHeader('Content-Type', type);
      res.end(body);
      notify();
    };
    if (req.method !== 'POST' || !signal) {
      record.error = 'not found';
      return reply(404, JSON.stringify({ code: 5, message: 'not found' }), 'application/json');
    }
    if (forcedStatus !== null) {
      record.error = 'forced status';
      return reply(forcedStatus, JSON.stringify({ code: 14, message: 'unavailable (testkit)' }), 'application/json');
    }
    let decoded: Json;
    try {
      const body = decompress(Buffer.concat(chunks), record.contentEncoding);
      if (contentType === 'application/json') {
        decoded = JSON.parse(body.toString('utf8')) as Json;
      } else if (contentType === 'application/x-protobuf' || contentType === 'application/protobuf') {
        decoded = decodeOtlpProtobuf(signal, new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
      } else {
        record.error = `unsupported content-type ${contentType}`;
        return reply(415, JSON.stringify({ code: 3, message: record.error }), 'application/json');
      }
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
      const status = (err as { status?: number }).status ?? 400;
      return reply(status, JSON.stringify({ code: 3, message: record.error }), 'application/json');
    }
    if (held?.kind === 'delay') {
      await new Promise((resolve) => setTimeout(resolve, held.ms));
      // The client gave up waiting: the collector never got to answer, so nothing was accepted.
      if (res.destroyed || req.socket.destroyed) return;
    }
    raw[signal].push(decoded);
    if (forwardTo !== undefined) {
      const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? contentType) };
      if (record.contentEncoding) headers['content-encoding'] = record.contentEncoding;
      const sending = fetch(forwardTo + path, { method: 'POST', headers, body: Buffer.concat(chunks), signal: AbortSignal.timeout(10_000) })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.ok) forwarding.sent++;
          else {
            forwarding.failed++;
            forwarding.lastError = `HTTP ${response.status}`;
          }
        })
        .catch((err: unknown) => {
          forwarding.failed++;
          forwarding.lastError = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        })
        .finally(() => pendingForwards.delete(sending));
      pendingForwards.add(sending);
    }
    if (signal === 'traces') {
      const got = flattenSpans(decoded, record.index);
      record.items = got.length;
      spans.push(...got);
    } else if (signal === 'metrics') {
      const got = flattenMetrics(decoded, record.index);
      record.items = got.length;
      points.push(...got);
    } else {
      record.items = countLogs(decoded);
    }
    // ExportXServiceResponse with no partial_success: `{}` in JSON, an empty message in protobuf.
    if (contentType === 'application/json') return reply(200, '{}', 'application/json');
    return reply(200, new Uint8Array(0), 'application/x-protobuf');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end(String(err));
      }
    });
  });
  const closeServer = serverCloser(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const waitFor = <T>(predicate: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> => {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const intervalMs = opts.intervalMs ?? 50;
    return new Promise((resolve, reject) => {
      let done = false;
      let checking = false;
      let lastError: unknown;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        clearInterval(interval);
        clearTimeout(timer);
        listeners.delete(check);
        fn();
      };
      const check = () => {
        if (done || checking) return;
        checking = true;
        Promise.resolve()
          .then(predicate)
          .then(
            (v) => {
              checking = false;
              if (v) finish(() => resolve(v as NonNullable<T>));
            },
            (err) => {
              checking = false;
              lastError = err;
            },
          );
      };
      const interval = setInterval(check, intervalMs);
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `waitFor timed out after ${timeoutMs} ms${opts.description ? ` (${opts.description})` : ''}; received ${spans.length} spans, ${points.length} metric points in ${requests.length} requests${lastError ? `; last predicate error: ${String(lastError)}` : ''}`,
              ),
            ),
          ),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });
  };

  return {
    url,
    port,
    exporterEnv: (serviceName, options = {}) => ({
      OTEL_SERVICE_NAME: serviceName,
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_METRIC_EXPORT_INTERVAL: String(options.metricIntervalMs ?? 1000),
      OTEL_BSP_SCHEDULE_DELAY: '200',
    }),
    tracesUrl: `${url}/v1/traces`,
    metricsUrl: `${url}/v1/metrics`,
    logsUrl: `${url}/v1/logs`,
    spans: () => [...spans],
    metricPoints: () => [...points],
    raw: () => ({ traces: [...raw.traces], metrics: [...raw.metrics], logs: [...raw.logs] }),
    requests: () => requests.map((r) => ({ ...r })),
    waitFor,
    waitForSpan: (match, opts) =>
      waitFor(() => spans.find((s) => (typeof match === 'string' ? s.name === match : match(s))), {
        description: typeof match === 'string' ? `span ${match}` : 'span',
        ...opts,
      }),
    setResponseStatus: (status) => {
      forcedStatus = status;
    },
    setFault: async (next) => {
      const wasRefusing = fault?.kind === 'refuse';
      fault = next;
      if (next?.kind === 'refuse' && !wasRefusing) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      } else if (next?.kind !== 'refuse' && wasRefusing) {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
      }
    },
    inFlight: () => inFlight,
    forwardStatus: async () => {
      await Promise.all([...pendingForwards]);
      return { ...forwarding };
    },
    reset: () => {
      spans = [];
      points = [];
      raw = { traces: [], metrics: [], logs: [] };
      requests = [];
    },
    stop: closeServer,
  };
}
