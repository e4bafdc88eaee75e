/**
 * The separate token backend of the common NextAuth v4 rotation with a credentials provider, on a
 * free loopback port:
 *
 * - `POST auth/login` `{ email, password }` → `{ id, email, accessToken, data: { accessToken, accessTokenExpiry, refreshToken } }`.
 *   The rotation's code reads this answer twice: `authorize` checks the body's `accessToken` and
 *   returns the body as the user, and the `jwt` callback then reads `user.data.*`. Wrong
 *   credentials: 401.
 * - `POST auth/refreshToken` `{ token }` → `{ accessToken, accessTokenExpiry, refreshToken }`. Refresh
 *   tokens rotate: each one is good for one exchange, and presenting it again is refused (401).
 *
 * `accessTokenExpiry` is in epoch milliseconds, as the rotation compares it with `Date.now()`.
 * `failRefreshes(true)` answers every exchange 503 (an outage) without using the token up.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CredentialsBackendOptions {
  /** Access-token lifetime. Default: the rotation's 24 hours. */
  accessTokenTtlMs?: number;
  /** Accepted email → password. Default: the rotation's `example@example.com` / `example`. */
  users?: Record<string, string>;
}

/** Every request the backend answered, by result. */
export interface CredentialsBackendCounts {
  logins: number;
  /** Refresh tokens exchanged for new tokens. */
  refreshed: number;
  /** Exchanges refused while `failRefreshes(true)`. */
  failed: number;
  /** Exchanges refused because the refresh token had been used (or was never issued). */
  reused: number;
}

export interface CredentialsBackend {
  /** Base URL ending in `/`: the rotation appends `auth/login` and `auth/refreshToken`. */
  url: string;
  failRefreshes(fail: boolean): void;
  counts(): CredentialsBackendCounts;
  stop(): Promise<void>;
}

const DEFAULT_USERS = { 'example@example.com': 'example' };

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch {
        resolve({});
      }
    });
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startCredentialsBackend(options: CredentialsBackendOptions = {}): Promise<CredentialsBackend> {
  const ttlMs = options.accessTokenTtlMs ?? 24 * 60 * 60 * 1000;
  const users: Record<string, string> = options.users ?? DEFAULT_USERS;
  // Unused refresh tokens → the user they were issued to; a token leaves the map when it is exchanged.
  const live = new Map<string, string>();
  const counts: CredentialsBackendCounts = { logins: 0, refreshed: 0, failed: 0, reused: 0 };
  let failing = false;

  const issue = (email: string) => {
    const refreshToken = randomBytes(24).toString('base64url');
    live.set(refreshToken, email);
    return { accessToken: randomBytes(24).toString('base64url'), accessTokenExpiry: Date.now() + ttlMs, refreshToken };
  };

  const routes: Record<string, (body: Record<string, unknown>, res: ServerResponse) => void> = {
    '/auth/login': (body, res) => {
      const email = String(body.email ?? '');
      if (!Object.hasOwn(users, email) || users[email] !== body.password) return answer(res, 401, { message: 'Invalid credentials' });
      counts.logins++;
      const tokens = issue(email);
      answer(res, 200, { id: `user-${Object.keys(users).indexOf(email) + 1}`, email, accessToken: tokens.accessToken, data: tokens });
    },
    '/auth/refreshToken': (body, res) => {
      if (failing) {
        counts.failed++;
        return answer(res, 503, { message: 'Token service unavailable' });
      }
      const email = live.get(String(body.token ?? ''));
      if (email === undefined) {
        counts.reused++;
        return answer(res, 401, { message: 'Invalid refresh token' });
      }
      live.delete(String(body.token));
      counts.refreshed++;
      answer(res, 200, issue(email));
    },
  };

  const server = createServer(async (req, res) => {
    const route = req.method === 'POST' ? routes[new URL(req.url ?? '/', 'http://backend').pathname] : undefined;
    if (route === undefined) return answer(res, 404, { message: 'Not found' });
    route(await readJson(req), res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    failRefreshes: (fail) => {
      failing = fail;
    },
    counts: () => ({ ...counts }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
