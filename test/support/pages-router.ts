/**
 * Serves Pages Router code as Next serves it, on real Node `IncomingMessage` / `ServerResponse`
 * objects: API routes through Next's own `apiResolver` (lazy `req.cookies`, `req.query`, the parsed
 * body, `res.status`/`json`/`send`), and `getServerSideProps` with `{ req, res, query }` and the
 * same lazy `req.cookies` Next's renderer sets.
 */
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);
type ApiHandler = (req: IncomingMessage, res: ServerResponse) => unknown;
type ApiResolver = (
  req: IncomingMessage,
  res: ServerResponse,
  query: Record<string, unknown>,
  module: { default: ApiHandler },
  apiContext: Record<string, unknown>,
  propagateError: boolean,
  dev: boolean,
  page: string,
) => Promise<void>;
const { apiResolver } = require('next/dist/server/api-utils/node/api-resolver.js') as { apiResolver: ApiResolver };
const { setLazyProp } = require('next/dist/server/api-utils/index.js') as {
  setLazyProp: (ctx: { req: IncomingMessage }, prop: string, getter: () => unknown) => void;
};
const { getCookieParser } = require('next/dist/server/api-utils/get-cookie-parser.js') as {
  getCookieParser: (headers: IncomingMessage['headers']) => () => unknown;
};

export type GetServerSideProps = (context: { req: IncomingMessage; res: ServerResponse; query: Record<string, string> }) => Promise<{ props: unknown }>;

export type PagesApp = { url: string; stop: () => Promise<void> };

/**
 * `/api/auth/*` goes to a catch-all API route (`[...nextauth]`: its segments in `query.nextauth`),
 * `/ssr` to a page's `getServerSideProps` (its props answered as JSON), anything else to a static
 * page. As a proxy in front of the app would, requests carry `x-forwarded-proto`.
 */
export async function startPagesApp(
  authRoute: ApiHandler,
  getServerSideProps: GetServerSideProps | undefined,
  onUrl: (url: string) => void | Promise<void>,
): Promise<PagesApp> {
  let url = '';
  const server: Server = createServer(async (req, res) => {
    try {
      req.headers['x-forwarded-proto'] ??= 'http';
      const parsed = new URL(req.url ?? '/', url);
      const query = Object.fromEntries(parsed.searchParams);
      if (parsed.pathname.startsWith('/api/auth/')) {
        const nextauth = parsed.pathname.slice('/api/auth/'.length).split('/').filter(Boolean);
        await apiResolver(req, res, { ...query, nextauth }, { default: authRoute }, {}, false, false, '/api/auth/[...nextauth]');
        return;
      }
      if (parsed.pathname === '/ssr' && getServerSideProps) {
        setLazyProp({ req }, 'cookies', getCookieParser(req.headers));
        const { props } = await getServerSideProps({ req, res, query });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(props));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>home</body></html>');
    } catch (error) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String((error as Error)?.stack ?? error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await onUrl(url);
  return {
    url,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
