/**
 * The test apps are plain Node HTTP servers in front of SDK code written for Next's web
 * `Request`/`Response`: this is the translation both ways.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NextRequest } from 'next/server';

/** Method, headers and body of a Node request, ready for `new Request(url, init)`. */
export async function requestInit(req: IncomingMessage): Promise<{ method?: string; headers: Headers; body?: Buffer<ArrayBuffer> }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
  return { method: req.method, headers, body };
}

export async function toNextRequest(req: IncomingMessage, base: string): Promise<NextRequest> {
  return new NextRequest(new URL(req.url ?? '/', base), await requestInit(req));
}

/** Status and headers of `response`; each Set-Cookie stays its own header, as a browser needs. */
export function writeHead(res: ServerResponse, response: Response): void {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
}
