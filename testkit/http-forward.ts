import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * Sends `req` to `target` and streams the answer back unchanged (status, every header, body).
 * `extraHeaders` may override `host`, which is otherwise the target's.
 */
export function forward(req: IncomingMessage, res: ServerResponse, target: URL, extraHeaders: Record<string, string> = {}): void {
  const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host, ...extraHeaders };
  delete headers['proxy-connection'];
  const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}
