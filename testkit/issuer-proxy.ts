/**
 * Lets a real browser reach an IdP whose issuer is `https://localhost` (nextjs-auth0 v4 accepts no
 * other) while the IdP listens on plain http on a free loopback port.
 *
 * The browser is given this HTTP proxy. `CONNECT localhost:443` is answered by a TLS server with a
 * throwaway self-signed certificate (the browser context sets `ignoreHTTPSErrors`), whose requests
 * go to the IdP with `x-forwarded-proto/host`, exactly as `idp.fetch` does for the app. Every other
 * request is passed through untouched. Unlike Playwright's `route()`, this also covers the
 * redirects between the app and the IdP, which the browser follows natively.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forward } from './http-forward';
import type { Idp } from './idp';

export interface IssuerProxy {
  /** For Playwright: `browser.newContext({ proxy: { server }, ignoreHTTPSErrors: true })`. */
  readonly server: string;
  stop(): Promise<void>;
}

function selfSignedLocalhost(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'issuer-proxy-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startIssuerProxy(idp: Idp): Promise<IssuerProxy> {
  const issuer = new URL(idp.issuer);
  const tls = createHttpsServer(selfSignedLocalhost(), (req, res) => {
    const { url, headers } = idp.rewrite(new URL(req.url ?? '/', issuer.origin));
    forward(req, res, new URL(url), headers);
  });
  const sockets = new Set<Socket>();
  const proxy = createServer((req, res) => {
    // Plain-http requests through the proxy carry an absolute URL.
    try {
      forward(req, res, new URL(req.url ?? ''));
    } catch {
      res.writeHead(400).end();
    }
  });
  proxy.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const [host, port] = (req.url ?? '').split(':');
    socket.on('error', () => socket.destroy());
    if (host === issuer.hostname && (port ?? '443') === (issuer.port || '443')) {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) socket.unshift(head);
      tls.emit('connection', socket);
      return;
    }
    const upstream = connect(Number(port ?? 443), host ?? '', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    server: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
      tls.close();
    },
  };
}
