/**
 * A real OTLP/HTTP receiver on a free loopback port: what the official OpenTelemetry JS exporters send.
 *
 * - POST /v1/traces, /v1/metrics (and /v1/logs, accepted and counted).
 * - `application/json` (exporter-*-otlp-http) and `application/x-protobuf` (exporter-*-otlp-proto).
 *   `@opentelemetry/otlp-transformer` 0.2xx only exports request *serializers* (no request decoder, no protobuf
 *   root), so protobuf is decoded here with a small wire-format reader that follows the OTLP .proto field
 *   numbers (opentelemetry-proto v1).
 * - `Content-Encoding: gzip` / `deflate` / `br`.
 * - Flattened, typed views: `spans()`, `metricPoints()`; helpers `latestCumulative()` and `histogramTotals()`.
 *
 * No vitest imports: also used by plain `tsx` scripts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
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
  /** Requests relayed to `forwardTo`: sent, failed, and the last failure; after waiting for those in flight. */
  forwardStatus(): Promise<{ sent: number; failed: number; lastError?: string }>;
  reset(): void;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf wire reader + OTLP schema (field numbers from opentelemetry-proto v1)
// ---------------------------------------------------------------------------------------------------------------

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  atEnd(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('protobuf: varint too long');
    }
  }
  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new Error('protobuf: truncated fixed64');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getBigUint64(0, true);
    this.pos += 8;
    return v;
  }
  double(): number {
    if (this.pos + 8 > this.end) throw new Error('protobuf: truncated double');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }
  fixed32(): number {
    if (this.pos + 4 > this.end) throw new Error('protobuf: truncated fixed32');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getUint32(0, true);
    this.pos += 4;
    return v;
  }
  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw new Error('protobuf: truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`protobuf: unsupported wire type ${wireType}`);
    }
  }
}

type FieldKind =
  | 'string'
  | 'bytesHex'
  | 'bytesBase64'
  | 'bool'
  | 'uint' // varint → number (uint32/uint64/enum)
  | 'int64' // varint int64 → number
  | 'sint32'
  | 'fixed64' // → decimal string
  | 'fixed64num' // → number
  | 'sfixed64' // → number
  | 'double'
  | 'fixed32'
  | { message: Schema };

interface FieldSpec {
  name: string;
  kind: FieldKind;
  repeated?: boolean;
}
type Schema = Record<number, FieldSpec>;

const utf8 = new TextDecoder();
const toHex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function signed64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

function readScalar(r: Reader, kind: Exclude<FieldKind, { message: Schema }>, wireType: number): unknown {
  switch (kind) {
    case 'string':
      return utf8.decode(r.bytes());
    case 'bytesHex':
      return toHex(r.bytes());
    case 'bytesBase64':
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool':
      return r.varint() !== 0n;
    case 'uint':
      return Number(r.varint());
    case 'int64':
      return Number(signed64(r.varint()));
    case 'sint32': {
      const n = Number(r.varint());
      return (n >>> 1) ^ -(n & 1);
    }
    case 'fixed64':
      return (wireType === 0 ? r.varint() : r.fixed64()).toString();
    case 'fixed64num':
      return Number(wireType === 0 ? r.varint() : r.fixed64());
    case 'sfixed64':
      return Number(signed64(r.fixed64()));
    case 'double':
      return r.double();
    case 'fixed32':
      return r.fixed32();
    default:
      throw new Error('unreachable');
  }
}

const PACKABLE = new Set(['bool', 'uint', 'int64', 'sint32', 'fixed64', 'fixed64num', 'sfixed64', 'double', 'fixed32']);

function decodeMessage(buf: Uint8Array, schema: Schema, start = 0, end = buf.length): Record<string, unknown> {
  const r = new Reader(buf, end);
  r.pos = start;
  const out: Record<string, unknown> = {};
  while (!r.atEnd()) {
    const tag = Number(r.varint());
    const field = tag >>> 3;
    const wireType = tag & 7;
    const spec = schema[field];
    if (!spec) {
      r.skip(wireType);
      continue;
    }
    const push = (v: unknown) => {
      if (spec.repeated) ((out[spec.name] ??= []) as unknown[]).push(v);
      else out[spec.name] = v;
    };
    if (typeof spec.kind === 'object') {
      const bytes = r.bytes();
      push(decodeMessage(bytes, spec.kind.message));
    } else if (spec.repeated && wireType === 2 && PACKABLE.has(spec.kind)) {
      const bytes = r.bytes();
      const inner = new Reader(bytes);
      const innerWire = spec.kind === 'double' || spec.kind === 'fixed64' || spec.kind === 'fixed64num' || spec.kind === 'sfixed64' ? 1 : spec.kind === 'fixed32' ? 5 : 0;
      while (!inner.atEnd()) push(readScalar(inner, spec.kind, innerWire));
    } else {
      push(readScalar(r, spec.kind, wireType));
    }
  }
  return out;
}

// AnyValue and KeyValue are mutually recursive: build the objects first, then fill them.
const AnyValue: Schema = {};
const KeyValue: Schema = { 1: { name: 'key', kind: 'string' }, 2: { name: 'value', kind: { message: AnyValue } } };
const ArrayValue: Schema = { 1: { name: 'values', kind: { message: AnyValue }, repeated: true } };
const KeyValueList: Schema = { 1: { name: 'values', kind: { message: KeyValue }, repeated: true } };
Object.assign(AnyValue, {
  1: { name: 'stringValue', kind: 'string' },
  2: { name: 'boolValue', kind: 'bool' },
  3: { name: 'intValue', kind: 'int64' },
  4: { name: 'doubleValue', kind: 'double' },
  5: { name: 'arrayValue', kind: { message: ArrayValue } },
  6: { name: 'kvlistValue', kind: { message: KeyValueList } },
  7: { name: 'bytesValue', kind: 'bytesBase64' },
} satisfies Schema);

const ATTRS = (): FieldSpec => ({ name: 'attributes', kind: { message: KeyValue }, repeated: true });

const Resource: Schema = { 1: ATTRS(), 2: { name: 'droppedAttributesCount', kind: 'uint' } };
const InstrumentationScope: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'version', kind: 'string' },
  3: ATTRS(),
  4: { name: 'droppedAttributesCount', kind: 'uint' },
};
const SpanEvent: Schema = {
  1: { name: 'timeUnixNano', kind: 'fixed64' },
  2: { name: 'name', kind: 'string' },
  3: ATTRS(),
  4: { name: 'droppedAttributesCount', kind: 'uint' },
};
const SpanLink: Schema = {
  1: { name: 'traceId', kind: 'bytesHex' },
  2: { name: 'spanId', kind: 'bytesHex' },
  3: { name: 'traceState', kind: 'string' },
  4: ATTRS(),
  5: { name: 'droppedAttributesCount', kind: 'uint' },
  6: { name: 'flags', kind: 'fixed32' },
};
const Status: Schema = { 2: { name: 'message', kind: 'string' }, 3: { name: 'code', kind: 'uint' } };
const Span: Schema = {
  1: { name: 'traceId', kind: 'bytesHex' },
  2: { name: 'spanId', kind: 'bytesHex' },
  3: { name: 'traceState', kind: 'string' },
  4: { name: 'parentSpanId', kind: 'bytesHex' },
  16: { name: 'flags', kind: 'fixed32' },
  5: { name: 'name', kind: 'string' },
  6: { name: 'kind', kind: 'uint' },
  7: { name: 'startTimeUnixNano', kind: 'fixed64' },
  8: { name: 'endTimeUnixNano', kind: 'fixed64' },
  9: ATTRS(),
  10: { name: 'droppedAttributesCount', kind: 'uint' },
  11: { name: 'events', kind: { message: SpanEvent }, repeated: true },
  12: { name: 'droppedEventsCount', kind: 'uint' },
  13: { name: 'links', kind: { message: SpanLink }, repeated: true },
  14: { name: 'droppedLinksCount', kind: 'uint' },
  15: { name: 'status', kind: { message: Status } },
};
const ScopeSpans: Schema = {
  1: { name: 'scope', kind: { message: InstrumentationScope } },
  2: { name: 'spans', kind: { message: Span }, repeated: true },
  3: { name: 'schemaUrl', kind: 'string' },
};
const ResourceSpans: Schema = {
  1: { name: 'resource', kind: { message: Resource } },
  2: { name: 'scopeSpans', kind: { message: ScopeSpans }, repeated: true },
  3: { name: 'schemaUrl', kind: 'string' },
};
const ExportTraceServiceRequest: Schema = { 1: { name: 'resourceSpans', kind: { message: ResourceSpans }, repeated: true } };

const Exemplar: Schema = {}; // skipped content
const NumberDataPoint: Schema = {
  7: ATTRS(),
  2: { name: 'startTimeUnixNano', kind: 'fixed64' },
  3: { name: 'timeUnixNano', kind: 'fixed64' },
  4: { name: 'asDouble', kind: 'double' },
  6: { name: 'asInt', kind: 'sfixed64' },
  5: { name: 'exemplars', kind: { message: Exemplar }, repeated: true },
  8: { name: 'flags', kind: 'uint' },
};
const HistogramDataPoint: Schema = {
  9: ATTRS(),
  2: { name: 'startTimeUnixNano', kind: 'fixed64' },
  3: { name: 'timeUnixNano', kind: 'fixed64' },
  4: { name: 'count', kind: 'fixed64num' },
  5: { name: 'sum', kind: 'double' },
  6: { name: 'bucketCounts', kind: 'fixed64num', repeated: true },
  7: { name: 'explicitBounds', kind: 'double', repeated: true },
  10: { name: 'flags', kind: 'uint' },
  11: { name: 'min', kind: 'double' },
  12: { name: 'max', kind: 'double' },
};
const ExpBuckets: Schema = { 1: { name: 'offset', kind: 'sint32' }, 2: { name: 'bucketCounts', kind: 'uint', repeated: true } };
const ExponentialHistogramDataPoint: Schema = {
  1: ATTRS(),
  2: { name: 'startTimeUnixNano', kind: 'fixed64' },
  3: { name: 'timeUnixNano', kind: 'fixed64' },
  4: { name: 'count', kind: 'fixed64num' },
  5: { name: 'sum', kind: 'double' },
  6: { name: 'scale', kind: 'sint32' },
  7: { name: 'zeroCount', kind: 'fixed64num' },
  8: { name: 'positive', kind: { message: ExpBuckets } },
  9: { name: 'negative', kind: { message: ExpBuckets } },
  10: { name: 'flags', kind: 'uint' },
  12: { name: 'min', kind: 'double' },
  13: { name: 'max', kind: 'double' },
  14: { name: 'zeroThreshold', kind: 'double' },
};
const SummaryDataPoint: Schema = {
  7: ATTRS(),
  2: { name: 'startTimeUnixNano', kind: 'fixed64' },
  3: { name: 'timeUnixNano', kind: 'fixed64' },
  4: { name: 'count', kind: 'fixed64num' },
  5: { name: 'sum', kind: 'double' },
  8: { name: 'flags', kind: 'uint' },
};
const Gauge: Schema = { 1: { name: 'dataPoints', kind: { message: NumberDataPoint }, repeated: true } };
const Sum: Schema = {
  1: { name: 'dataPoints', kind: { message: NumberDataPoint }, repeated: true },
  2: { name: 'aggregationTemporality', kind: 'uint' },
  3: { name: 'isMonotonic', kind: 'bool' },
};
const Histogram: Schema = {
  1: { name: 'dataPoints', kind: { message: HistogramDataPoint }, repeated: true },
  2: { name: 'aggregationTemporality', kind: 'uint' },
};
const ExponentialHistogram: Schema = {
  1: { name: 'dataPoints', kind: { message: ExponentialHistogramDataPoint }, repeated: true },
  2: { name: 'aggregationTemporality', kind: 'uint' },
};
const Summary: Schema = { 1: { name: 'dataPoints', kind: { message: SummaryDataPoint }, repeated: true } };
const Metric: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'description', kind: 'string' },
  3: { name: 'unit', kind: 'string' },
  5: { name: 'gauge', kind: { message: Gauge } },
  7: { name: 'sum', kind: { message: Sum } },
  9: { name: 'histogram', kind: { message: Histogram } },
  10: { name: 'exponentialHistogram', kind: { message: ExponentialHistogram } },
  11: { name: 'summary', kind: { message: Summary } },
};
const ScopeMetrics: Schema = {
  1: { name: 'scope', kind: { message: InstrumentationScope } },
  2: { name: 'metrics', kind: { message: Metric }, repeated: true },
  3: { name: 'schemaUrl', kind: 'string' },
};
const ResourceMetrics: Schema = {
  1: { name: 'resource', kind: { message: Resource } },
  2: { name: 'scopeMetrics', kind: { message: ScopeMetrics }, repeated: true },
  3: { name: 'schemaUrl', kind: 'string' },
};
const ExportMetricsServiceRequest: Schema = {
  1: { name: 'resourceMetrics', kind: { message: ResourceMetrics }, repeated: true },
};

const LogRecord: Schema = {
  1: { name: 'timeUnixNano', kind: 'fixed64' },
  11: { name: 'observedTimeUnixNano', kind: 'fixed64' },
  2: { name: 'severityNumber', kind: 'uint' },
  3: { name: 'severityText', kind: 'string' },
  5: { name: 'body', kind: { message: AnyValue } },
  6: ATTRS(),
  8: { name: 'flags', kind: 'fixed32' },
  9: { name: 'traceId', kind: 'bytesHex' },
  10: { name: 'spanId', kind: 'bytesHex' },
  12: { name: 'eventName', kind: 'string' },
};
const ScopeLogs: Schema = {
  1: { name: 'scope', kind: { message: InstrumentationScope } },
  2: { name: 'logRecords', kind: { message: LogRecord }, repeated: true },
};
const ResourceLogs: Schema = {
  1: { name: 'resource', kind: { message: Resource } },
  2: { name: 'scopeLogs', kind: { message: ScopeLogs }, repeated: true },
};
const ExportLogsServiceRequest: Schema = { 1: { name: 'resourceLogs', kind: { message: ResourceLogs }, repeated: true } };

/** Decodes an OTLP protobuf export request into the OTLP/JSON shape (camelCase, hex ids, string nanos). */
export function decodeOtlpProtobuf(signal: 'traces' | 'metrics' | 'logs', body: Uint8Array): Record<string, unknown> {
  const schema = signal === 'traces' ? ExportTraceServiceRequest : signal === 'metrics' ? ExportMetricsServiceRequest : ExportLogsServiceRequest;
  return decodeMessage(body, schema);
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation (shared by JSON and protobuf)
// ---------------------------------------------------------------------------------------------------------------

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

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
  if (v instanceof Uint8Array) return toHex(v);
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
  const sorted = (a: Attributes) => JSON.stringify(Object.keys(a).sort().map((k) => [k, a[k]]));
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
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const signal = SIGNALS[path];
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
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
