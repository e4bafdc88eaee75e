/**
 * An OTLP/HTTP endpoint that only counts: bytes received and spans per instrumentation scope.
 * Lighter than the test receiver (which keeps and normalises everything), so that on a small
 * machine the collector's work does not eat into the CPU of the app being measured.
 */
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface SinkCounts {
  bytes: number;
  spans: number;
  spansByScope: Record<string, number>;
}

export interface OtlpSink {
  readonly url: string;
  counts(): SinkCounts;
  stop(): Promise<void>;
}

type TracesBody = { resourceSpans?: Array<{ scopeSpans?: Array<{ scope?: { name?: string }; spans?: unknown[] }> }> };

function countSpans(body: TracesBody, counts: SinkCounts): void {
  for (const resource of body.resourceSpans ?? []) {
    for (const scope of resource.scopeSpans ?? []) {
      const n = scope.spans?.length ?? 0;
      const name = scope.scope?.name ?? '';
      counts.spans += n;
      counts.spansByScope[name] = (counts.spansByScope[name] ?? 0) + n;
    }
  }
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const counts: SinkCounts = { bytes: 0, spans: 0, spansByScope: {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      counts.bytes += raw.length;
      if (req.url === '/v1/traces') {
        if (!String(req.headers['content-type']).includes('json')) throw new Error('the benchmark expects OTLP/JSON traces');
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        countSpans(JSON.parse(body.toString('utf8')) as TracesBody, counts);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts, spansByScope: { ...counts.spansByScope } }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
