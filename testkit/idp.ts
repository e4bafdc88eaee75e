/**
 * A real OpenID Provider (panva/oidc-provider 9) on a free loopback port, for integration tests and demos.
 *
 * - Real login form (HTML, `username` / `password` inputs, a submit button) at `/interaction/:uid`.
 * - Consent is granted automatically (first-party app): after the login form the browser goes straight back.
 * - Confidential clients with `authorization_code` + `refresh_token`; `client_secret_basic` and
 *   `client_secret_post` both work for every client (oidc-provider 9 treats the two as interchangeable).
 * - `offline_access` yields a refresh token without `prompt=consent` (like Auth0, unlike the spec default).
 * - Access tokens: opaque (userinfo-capable) unless the login asks for an `audience` / `resource`, then a JWT
 *   for that API (like Auth0). `accessTokenFormat: 'jwt'` forces JWTs. `expires_in` is `accessTokenTtl`.
 * - Rotating refresh tokens by default. Re-using a rotated refresh token fails with `invalid_grant` AND
 *   revokes the whole grant (oidc-provider's reuse detection, like Auth0's "ferrt").
 * - Logout: RP-initiated logout at `/session/end` (confirmation form auto-submitted), and Auth0's
 *   `/v2/logout?client_id&returnTo` (nextjs-auth0 v3's default, `auth0Logout: true`) mapped onto it.
 * - Storage is a per-instance in-memory adapter, so `revokeRefreshTokens()` can enumerate and destroy tokens
 *   through oidc-provider's own models.
 *
 * No vitest imports: this file is also used by plain `tsx` scripts.
 */
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider as ProviderType } from 'oidc-provider';

import type { HostRewrite } from './login';
import { serverCloser } from './server-closer';

export type { HostRewrite };

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export interface IdpAccount {
  username: string;
  password: string;
  /** Subject (`sub`). Defaults to `username`. */
  sub?: string;
  email?: string;
  name?: string;
  /** Extra claims returned in the ID token / userinfo. */
  claims?: Record<string, unknown>;
}

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface IdpClientOptions {
  clientId?: string;
  clientSecret?: string;
  /** Exact redirect URIs. */
  redirectUris?: string[];
  /**
   * Convenience: an app base URL (e.g. `http://127.0.0.1:3000`). Expands into the callback URIs of
   * nextjs-auth0 v3 (`/api/auth/callback`), v4 (`/auth/callback`) and NextAuth (`/api/auth/callback/<id>`),
   * and adds the app URL (with and without a trailing slash) as post-logout redirect URIs.
   */
  appUrl?: string | string[];
  /** NextAuth provider ids used by `appUrl` expansion. Default `['oidc', 'auth0', 'idp', 'testkit']`. */
  nextAuthProviderIds?: string[];
  postLogoutRedirectUris?: string[];
  /**
   * Registered method. Informational only: oidc-provider 9 accepts both client_secret_basic and
   * client_secret_post for a client registered with either. Default `client_secret_basic`.
   */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** Extra client metadata (snake_case, oidc-provider client schema). */
  metadata?: Record<string, unknown>;
}

export interface IdpClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface StartIdpOptions {
  /** Access token lifetime in seconds (`expires_in`). Default 30. */
  accessTokenTtl?: number;
  /** Refresh token lifetime in seconds. Default 14 days. */
  refreshTokenTtl?: number;
  /** ID token lifetime in seconds. Default 3600. */
  idTokenTtl?: number;
  /** IdP login session lifetime in seconds. Default 1 day. */
  sessionTtl?: number;
  /** Rotate refresh tokens on every use. Default true. */
  refreshTokenRotation?: boolean;
  /**
   * Issuer override (an origin, no path), e.g. `https://localhost` for nextjs-auth0 v4 (served over plain http;
   * the provider trusts `x-forwarded-proto` / `x-forwarded-host`; use `idp.fetch` / `idp.hostRewrite`).
   * Default `http://127.0.0.1:<port>`.
   */
  issuer?: string;
  /**
   * Clients to register at start. Default: one client `testkit-client` / `testkit-secret` with no redirect
   * URIs (add them with `addClient` / `registerRedirectUris`, or pass `appUrl` here).
   */
  clients?: IdpClientOptions[];
  /** Accounts. Default: alice / alice-password and bob / bob-password. */
  accounts?: IdpAccount[];
  /**
   * `auto` (default): opaque access tokens (usable at userinfo) unless the authorization request carries an
   * `audience` or `resource` parameter, then a JWT with that audience. `jwt`: always JWT (audience
   * `options.audience`). `opaque`: ignore `audience`, JWT only for an explicit `resource`.
   */
  accessTokenFormat?: 'auto' | 'jwt' | 'opaque';
  /** Default API audience for `accessTokenFormat: 'jwt'`. Default `<issuer>/api`. */
  audience?: string;
  /** Log provider server errors and unexpected interaction errors to the console. Default false. */
  debug?: boolean;
}

export interface RevokeFilter {
  /** Account subject (`sub`). */
  sub?: string;
  /** Account username (mapped to its `sub`). */
  username?: string;
  clientId?: string;
}

export interface TokenRequestRecord {
  at: number;
  grantType: string | undefined;
  clientId: string | undefined;
  /** How the client authenticated: header (`client_secret_basic`) or body (`client_secret_post`). */
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'none' | 'other';
  userAgent: string | undefined;
  outcome: 'success' | 'failure';
  /** OAuth error code on failure, e.g. `invalid_grant`. */
  error?: string;
  /** HTTP status of a failure the provider never saw (`failTokenEndpoint`). */
  status?: number;
  errorDescription?: string;
}

export interface Idp {
  /** The issuer identifier (what discovery reports). */
  issuer: string;
  /** Real listening port on 127.0.0.1. */
  port: number;
  /** Real base URL, `http://127.0.0.1:<port>`. Same as `issuer` unless `issuer` was overridden. */
  url: string;
  /** `<url>/.well-known/openid-configuration` (fetchable). */
  discoveryUrl: string;
  /** The first (default) client's id / secret. */
  clientId: string;
  clientSecret: string;
  clients(): IdpClient[];
  /** Register another client (or replace one with the same id). */
  addClient(client: IdpClientOptions): Promise<IdpClient>;
  /** Add redirect URIs (and post-logout URIs) for an app to an existing client (default: the first one). */
  registerRedirectUris(appUrlOrUris: string | string[], clientId?: string): Promise<IdpClient>;
  accounts: IdpAccount[];
  addAccount(account: IdpAccount): void;
  /**
   * Destroy refresh tokens (all of them, or those matching the filter) through oidc-provider's RefreshToken
   * model; the next refresh with them fails with `invalid_grant` ("refresh token not found").
   * Resolves to how many tokens were destroyed.
   */
  revokeRefreshTokens(filter?: RevokeFilter | string): Promise<number>;
  /**
   * Revoke every grant: refresh tokens, access tokens (opaque ones stop working at userinfo/introspection),
   * authorization codes, and the grants themselves. IdP login sessions stay (see `endSessions`).
   */
  revokeAll(): Promise<number>;
  /** Destroy the IdP login sessions, so the next login shows the form again. */
  endSessions(): Promise<number>;
  /** Change the access token TTL (seconds) for tokens issued from now on. */
  setAccessTokenTtl(seconds: number): void;
  /** Turn refresh token rotation on/off for refreshes from now on. */
  setRefreshTokenRotation(enabled: boolean): void;
  /**
   * An outage of the token endpoint: until called again with `undefined`, every token request is
   * answered with this HTTP status (e.g. 503) and an HTML error page, as a gateway in front of a
   * failing IdP answers. Grants are untouched, so the same refresh token works once it is over.
   */
  failTokenEndpoint(status: number | undefined): void;
  /** Token endpoint requests seen so far (successes and failures). */
  tokenRequests(): TokenRequestRecord[];
  /** Errors the provider reported as server errors (should stay empty). */
  serverErrors(): unknown[];
  /**
   * Maps a URL on the issuer's origin to the real server: `{ url, headers }` to send. Identity when the issuer
   * is not overridden.
   */
  rewrite(url: string | URL): { url: string; headers: Record<string, string> };
  /** Host rewrite rule for testkit/login.ts (`rewrites` option). Undefined when the issuer is the real URL. */
  hostRewrite: HostRewrite | undefined;
  /**
   * A `fetch` that reaches this IdP when code talks to the issuer origin (e.g. nextjs-auth0 v4 `customFetch`
   * with `domain: 'localhost'`). Other URLs pass through unchanged.
   */
  fetch: typeof fetch;
  /** The oidc-provider instance, for anything else. */
  provider: ProviderType;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------------------------

export const DEFAULT_ACCOUNTS: readonly IdpAccount[] = Object.freeze([
  { username: 'alice', password: 'alice-password', sub: 'alice', email: 'alice@example.com', name: 'Alice Example' },
  { username: 'bob', password: 'bob-password', sub: 'bob', email: 'bob@example.com', name: 'Bob Example' },
]);

export const DEFAULT_CLIENT_ID = 'testkit-client';
export const DEFAULT_CLIENT_SECRET = 'testkit-secret-0123456789abcdef0123456789abcdef';

/** The callback URIs of nextjs-auth0 v3, v4 and NextAuth for an app base URL. */
export function appRedirectUris(
  appUrl: string,
  nextAuthProviderIds: string[] = ['oidc', 'auth0', 'idp', 'testkit'],
): { redirectUris: string[]; postLogoutRedirectUris: string[] } {
  const base = appUrl.replace(/\/+$/, '');
  return {
    redirectUris: [`${base}/api/auth/callback`, `${base}/auth/callback`, ...nextAuthProviderIds.map((id) => `${base}/api/auth/callback/${id}`)],
    postLogoutRedirectUris: [base, `${base}/`],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Per-instance memory adapter (oidc-provider's bundled one shares a module-global store)
// ---------------------------------------------------------------------------------------------------------------

interface StoredEntry {
  payload: Record<string, unknown>;
  expiresAt: number; // epoch ms, Infinity for none
}

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

class MemoryStore {
  readonly models = new Map<string, Map<string, StoredEntry>>();
  readonly sessionUids = new Map<string, string>();
  readonly userCodes = new Map<string, string>();
  readonly grantMembers = new Map<string, Set<string>>(); // grantId -> "Model:id"

  model(name: string): Map<string, StoredEntry> {
    let m = this.models.get(name);
    if (!m) {
      m = new Map();
      this.models.set(name, m);
    }
    return m;
  }

  get(name: string, id: string): Record<string, unknown> | undefined {
    const m = this.model(name);
    const entry = m.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.remove(name, id);
      return undefined;
    }
    return entry.payload;
  }

  /** Live ids of a model. */
  ids(name: string): string[] {
    const now = Date.now();
    const out: string[] = [];
    for (const [id, entry] of this.model(name)) {
      if (entry.expiresAt > now) out.push(id);
    }
    return out;
  }

  remove(name: string, id: string): void {
    const m = this.model(name);
    const entry = m.get(id);
    m.delete(id);
    if (!entry) return;
    const { payload } = entry;
    if (typeof payload.uid === 'string' && this.sessionUids.get(payload.uid) === id) this.sessionUids.delete(payload.uid);
    if (typeof payload.userCode === 'string' && this.userCodes.get(payload.userCode) === id) {
      this.userCodes.delete(payload.userCode);
    }
    if (typeof payload.grantId === 'string') this.grantMembers.get(payload.grantId)?.delete(`${name}:${id}`);
  }
}

function adapterFactory(store: MemoryStore, clockToleranceS = 0) {
  return class TestkitAdapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
      store.remove(this.name, id);
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + (expiresIn + clockToleranceS) * 1000 : Infinity;
      store.model(this.name).set(id, { payload, expiresAt });
      if (this.name === 'Session' && typeof payload.uid === 'string') store.sessionUids.set(payload.uid, id);
      if (typeof payload.userCode === 'string') store.userCodes.set(payload.userCode, id);
      if (GRANTABLE.has(this.name) && typeof payload.grantId === 'string') {
        let members = store.grantMembers.get(payload.grantId);
        if (!members) {
          members = new Set();
          store.grantMembers.set(payload.grantId, members);
        }
        members.add(`${this.name}:${id}`);
      }
    }
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      return store.get(this.name, id);
    }
    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      const id = store.sessionUids.get(uid);
      return id === undefined ? undefined : store.get(this.name, id);
    }
    async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
      const id = store.userCodes.get(userCode);
      return id === undefined ? undefined : store.get(this.name, id);
    }
    async consume(id: string): Promise<void> {
      const payload = store.get(this.name, id);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      store.remove(this.name, id);
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      const members = store.grantMembers.get(grantId);
      if (!members) return;
      for (const key of [...members]) {
        const i = key.indexOf(':');
        const model = key.slice(0, i);
        // Each model's adapter revokes only its own members (oidc-provider calls this per model).
        if (model === this.name) store.remove(model, key.slice(i + 1));
      }
      if (members.size === 0) store.grantMembers.delete(grantId);
    }
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

let cachedSigningKey: JsonWebKey | undefined;
function signingKey(): JsonWebKey {
  if (!cachedSigningKey) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    cachedSigningKey = { ...privateKey.export({ format: 'jwk' }), kid: 'testkit-rs256', use: 'sig', alg: 'RS256' };
  }
  return cachedSigningKey;
}

let providerModule: Promise<typeof import('oidc-provider')> | undefined;
/** Imports oidc-provider once, hiding its "Unsupported runtime" notice on Node 20 (it works fine). */
function loadOidcProvider(): Promise<typeof import('oidc-provider')> {
  providerModule ??= (async () => {
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
      original(...args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = original;
    }
  })();
  return providerModule;
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${htmlEscape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
${body}
</body>
</html>`;
}

function loginPage(uid: string, clientId: string, error?: string, username = ''): string {
  return page(
    'Sign in',
    `<main>
  <h1>Sign in</h1>
  <p>to continue to <span id="client-id">${htmlEscape(clientId)}</span></p>
  ${error ? `<p id="login-error" role="alert">${htmlEscape(error)}</p>` : ''}
  <form id="login-form" method="post" action="/interaction/${htmlEscape(uid)}/login" autocomplete="off">
    <input type="hidden" name="uid" value="${htmlEscape(uid)}">
    <label>Username <input id="username" type="text" name="username" value="${htmlEscape(username)}" required autofocus></label>
    <label>Password <input id="password" type="password" name="password" required></label>
    <button id="login-submit" type="submit" name="submit" value="login">Sign in</button>
  </form>
  <p><a id="login-abort" href="/interaction/${htmlEscape(uid)}/abort">Cancel</a></p>
</main>`,
  );
}

function oauthErrorOf(err: unknown): { error?: string; errorDescription?: string } {
  if (err && typeof err === 'object') {
    const e = err as { error?: unknown; error_description?: unknown; message?: unknown };
    return {
      error: typeof e.error === 'string' ? e.error : typeof e.message === 'string' ? e.message : undefined,
      errorDescription: typeof e.error_description === 'string' ? e.error_description : undefined,
    };
  }
  return {};
}

// ---------------------------------------------------------------------------------------------------------------
// startIdp
// ---------------------------------------------------------------------------------------------------------------

export async function startIdp(options: StartIdpOptions = {}): Promise<Idp> {
  const { Provider } = await loadOidcProvider();

  const state = {
    accessTokenTtl: options.accessTokenTtl ?? 30,
    rotation: options.refreshTokenRotation ?? true,
  };
  const refreshTokenTtl = options.refreshTokenTtl ?? 14 * 24 * 3600;
  const accounts: IdpAccount[] = (options.accounts ?? DEFAULT_ACCOUNTS).map((a) => ({ ...a }));
  const subOf = (a: IdpAccount) => a.sub ?? a.username;
  const findBySub = (sub: string) => accounts.find((a) => subOf(a) === sub);
  const debug = options.debug ?? false;
  const accessTokenFormat = options.accessTokenFormat ?? 'auto';

  // 1. Listen first: the default issuer needs the port.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server: Server = createServer((req, res) => handler(req, res));
  const closeServer = serverCloser(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const issuer = (options.issuer ?? url).replace(/\/+$/, '');
  const issuerUrl = new URL(issuer);
  if (issuerUrl.pathname !== '/' || issuerUrl.search || issuerUrl.hash) {
    server.close();
    throw new Error(`testkit idp: issuer must be an origin without a path, got ${issuer}`);
  }
  const overridden = issuerUrl.origin !== url;
  const audience = options.audience ?? `${issuer}/api`;

  // 2. Provider
  const store = new MemoryStore();
  const serverErrors: unknown[] = [];
  const tokenRequests: TokenRequestRecord[] = [];

  const provider = new Provider(issuer, {
    adapter: adapterFactory(store),
    clients: [],
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'nickname', 'given_name', 'family_name', 'picture', 'updated_at', 'preferred_username'],
    },
    // nextjs-auth0 and NextAuth build the user from the ID token: put scope claims in it (as Auth0 does).
    conformIdTokenClaims: false,
    extraParams: ['audience'],
    async findAccount(_ctx: unknown, sub: string) {
      const account = findBySub(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: account.email ?? `${account.username}@example.com`,
            email_verified: true,
            name: account.name ?? account.username,
            nickname: account.username,
            preferred_username: account.username,
            updated_at: 0,
            ...account.claims,
          };
        },
      };
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // A real form that browsers auto-submit and testkit/login.ts recognises (data-testkit-autosubmit).
        async logoutSource(ctx: { body: string }, form: string) {
          const withYes = form
            .replace(/<form /i, '<form data-testkit-autosubmit="true" ')
            .replace(/<\/form>/i, '<input type="hidden" name="logout" value="yes"></form>');
          ctx.body = page(
            'Signing out',
            `<main><h1>Signing out…</h1>${withYes}
<noscript><button type="submit" form="op.logoutForm">Sign out</button></noscript>
<script>document.forms[0].submit()</script></main>`,
          );
        },
        async postLogoutSuccessSource(ctx: { body: string }) {
          ctx.body = page('Signed out', '<main><h1 id="signed-out">Signed out</h1></main>');
        },
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx: { oidc: { params: Record<string, unknown> } }, _client: unknown, oneOf?: string[]) {
          if (oneOf) return oneOf[0];
          const requested = ctx.oidc.params.audience;
          if (accessTokenFormat !== 'opaque' && typeof requested === 'string' && requested) return requested;
          if (accessTokenFormat === 'jwt') return audience;
          return undefined;
        },
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(_ctx: unknown, resourceIndicator: string) {
          return {
            scope: 'read:data write:data',
            audience: resourceIndicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: state.accessTokenTtl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    pkce: { required: () => false },
    rotateRefreshToken: () => state.rotation,
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    // Auto-consent: every requested scope / claim / API scope is granted.
    async loadExistingGrant(ctx: any) {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
      let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      if (grant && (grant.accountId !== oidc.session.accountId || grant.clientId !== oidc.client.clientId)) {
        grant = undefined;
      }
      grant ??= new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: oidc.client.clientId });
      const oidcScopes = [...oidc.requestParamOIDCScopes].join(' ');
      if (oidcScopes) grant.addOIDCScope(oidcScopes);
      const claims = [...oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers ?? {})) {
        const rsScopes = [...oidc.requestParamScopes].filter((s: string) => (resourceServer as { scopes: Set<string> }).scopes.has(s));
        grant.addResourceScope(indicator, rsScopes.join(' '));
      }
      await grant.save();
      return grant;
    },
    ttl: {
      AccessToken: () => state.accessTokenTtl,
      AuthorizationCode: 120,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
      Grant: refreshTokenTtl,
      IdToken: options.idTokenTtl ?? 3600,
      Interaction: 3600,
      RefreshToken: refreshTokenTtl,
      Session: options.sessionTtl ?? 24 * 3600,
    },
    async renderError(ctx: { type: string; body: string }, out: Record<string, string>) {
      ctx.type = 'html';
      ctx.body = page(
        'Error',
        `<main><h1>Error</h1>${Object.entries(out)
          .map(([k, v]) => `<p class="${htmlEscape(k)}"><strong>${htmlEscape(k)}</strong>: ${htmlEscape(String(v))}</p>`)
          .join('')}</main>`,
      );
    },
    clientBasedCORS: () => true,
  });
  provider.proxy = true; // trust x-forwarded-* (issuer override mode); harmless on plain loopback
  provider.silent = true; // Koa: do not print errors
  provider.on('server_error', (_ctx: unknown, err: unknown) => {
    serverErrors.push(err);
    if (debug) console.error('[testkit idp] server_error', err);
  });

  // Token endpoint log.
  const describeTokenRequest = (ctx: any): Omit<TokenRequestRecord, 'outcome'> => {
    const params = (ctx?.oidc?.params ?? {}) as Record<string, unknown>;
    const body = (ctx?.oidc?.body ?? {}) as Record<string, unknown>;
    const authz = ctx?.headers?.authorization as string | undefined;
    const authMethod: TokenRequestRecord['authMethod'] = authz?.toLowerCase().startsWith('basic ')
      ? 'client_secret_basic'
      : params.client_secret || body.client_secret
        ? 'client_secret_post'
        : params.client_assertion || body.client_assertion
          ? 'other'
          : 'none';
    return {
      at: Date.now(),
      grantType: (params.grant_type ?? body.grant_type) as string | undefined,
      clientId: ctx?.oidc?.client?.clientId ?? ((params.client_id ?? body.client_id) as string | undefined),
      authMethod,
      userAgent: ctx?.headers?.['user-agent'] as string | undefined,
    };
  };
  provider.on('grant.success', (ctx: unknown) => tokenRequests.push({ ...describeTokenRequest(ctx), outcome: 'success' }));
  provider.on('grant.error', (ctx: unknown, err: unknown) => {
    const { error, errorDescription } = oauthErrorOf(err);
    tokenRequests.push({ ...describeTokenRequest(ctx), outcome: 'failure', error, errorDescription });
  });

  // 3. Clients live in the adapter ("dynamic" clients), so they can be added and changed at any time.
  const clients = new Map<string, IdpClient>();
  const upsertClient = async (c: IdpClient, metadata: Record<string, unknown> = {}, method?: TokenEndpointAuthMethod) => {
    const full = {
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: method ?? 'client_secret_basic',
      // `redirect_uris` may be empty until an app registers; oidc-provider requires at least one.
      ...(c.redirectUris.length === 0 ? { redirect_uris: [`${url}/__no_redirect_uri_registered__`] } : {}),
      ...metadata,
    };
    await provider.Client.validate(full);
    await new (adapterFactory(store))('Client').upsert(c.clientId, full);
    clients.set(c.clientId, c);
  };
  const clientMeta = new Map<string, { metadata: Record<string, unknown>; method?: TokenEndpointAuthMethod }>();

  const addClient = async (opts: IdpClientOptions): Promise<IdpClient> => {
    const redirectUris = [...(opts.redirectUris ?? [])];
    const postLogoutRedirectUris = [...(opts.postLogoutRedirectUris ?? [])];
    for (const app of ([] as string[]).concat(opts.appUrl ?? [])) {
      const expanded = appRedirectUris(app, opts.nextAuthProviderIds);
      redirectUris.push(...expanded.redirectUris);
      postLogoutRedirectUris.push(...expanded.postLogoutRedirectUris);
    }
    const client: IdpClient = {
      clientId: opts.clientId ?? (clients.size === 0 ? DEFAULT_CLIENT_ID : `testkit-client-${clients.size + 1}`),
      clientSecret: opts.clientSecret ?? (clients.size === 0 ? DEFAULT_CLIENT_SECRET : randomBytes(24).toString('hex')),
      redirectUris: [...new Set(redirectUris)],
      postLogoutRedirectUris: [...new Set(postLogoutRedirectUris)],
    };
    const meta = { metadata: opts.metadata ?? {}, method: opts.tokenEndpointAuthMethod };
    await upsertClient(client, meta.metadata, meta.method);
    clientMeta.set(client.clientId, meta);
    return { ...client };
  };

  const registerRedirectUris = async (appUrlOrUris: string | string[], clientId?: string): Promise<IdpClient> => {
    const id = clientId ?? clients.keys().next().value;
    const existing = id === undefined ? undefined : clients.get(id);
    if (!existing) throw new Error(`testkit idp: unknown client ${String(id)}`);
    const list = ([] as string[]).concat(appUrlOrUris);
    const next: IdpClient = { ...existing, redirectUris: [...existing.redirectUris], postLogoutRedirectUris: [...existing.postLogoutRedirectUris] };
    for (const item of list) {
      const u = new URL(item);
      if (u.pathname === '/' || u.pathname === '') {
        const expanded = appRedirectUris(item);
        next.redirectUris.push(...expanded.redirectUris);
        next.postLogoutRedirectUris.push(...expanded.postLogoutRedirectUris);
      } else {
        next.redirectUris.push(item);
      }
    }
    next.redirectUris = [...new Set(next.redirectUris)];
    next.postLogoutRedirectUris = [...new Set(next.postLogoutRedirectUris)];
    const meta = clientMeta.get(next.clientId);
    await upsertClient(next, meta?.metadata, meta?.method);
    return { ...next };
  };

  for (const c of options.clients ?? [{}]) await addClient(c);
  const first = clients.values().next().value as IdpClient;

  // 4. Interactions (login form, auto consent) + offline_access without prompt=consent.
  const providerCallback = provider.callback();
  // The provider is mounted at the server root, so the issuer must be an origin (checked above).
  const authorizationPath = '/auth';
  const endSessionPath = '/session/end';
  const auth0LogoutPath = '/v2/logout';
  const tokenPath = '/token';
  let tokenEndpointOutage: number | undefined;
  const answerOutage = async (req: IncomingMessage, res: ServerResponse, status: number): Promise<void> => {
    const form = new URLSearchParams(await readBody(req));
    tokenRequests.push({
      at: Date.now(),
      grantType: form.get('grant_type') ?? undefined,
      clientId: form.get('client_id') ?? undefined,
      authMethod: req.headers.authorization?.toLowerCase().startsWith('basic ')
        ? 'client_secret_basic'
        : form.has('client_secret')
          ? 'client_secret_post'
          : 'none',
      userAgent: req.headers['user-agent'],
      outcome: 'failure',
      status,
    });
    sendHtml(res, status, page('Service Unavailable', '<h1>The identity provider is unavailable</h1>'));
  };

  const interaction = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?\/?$/.exec(pathname);
    if (!match) return sendHtml(res, 404, page('Not found', '<h1>Not found</h1>'));
    const action = match[2];
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      if (debug) console.error('[testkit idp] interaction lookup failed', err);
      return sendHtml(res, 400, page('Session expired', '<main><h1>Login session expired</h1><p>Start again.</p></main>'));
    }
    const clientId = String(details.params.client_id ?? '');
    if (action === 'abort') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
    }
    if (action === 'login') {
      if (req.method !== 'POST') return sendHtml(res, 405, page('Method not allowed', '<h1>Use the form</h1>'));
      const form = new URLSearchParams(await readBody(req));
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const account = accounts.find((a) => a.username === username && a.password === password);
      if (!account) {
        return sendHtml(res, 200, loginPage(details.uid, clientId, 'Invalid username or password.', username));
      }
      // `consent: {}` also satisfies an explicitly requested (or injected) prompt=consent; the grant itself is
      // created by loadExistingGrant on resume.
      return provider.interactionFinished(req, res, { login: { accountId: subOf(account) }, consent: {} }, { mergeWithLastSubmission: false });
    }
    // GET /interaction/:uid
    if (details.prompt.name === 'login') return sendHtml(res, 200, loginPage(details.uid, clientId));
    // Any other prompt (consent): grant automatically.
    return provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true });
  };

  handler = (req, res) => {
    const reqUrl = new URL(req.url ?? '/', 'http://x');
    if (reqUrl.pathname.startsWith('/interaction/')) {
      interaction(req, res, reqUrl.pathname).catch((err) => {
        serverErrors.push(err);
        if (debug) console.error('[testkit idp] interaction error', err);
        if (!res.headersSent) sendHtml(res, 500, page('Error', '<h1>Interaction error</h1>'));
        else res.end();
      });
      return;
    }
    if (req.method === 'GET' && reqUrl.pathname === auth0LogoutPath) {
      // Auth0's logout endpoint (nextjs-auth0 v3 uses it by default: `auth0Logout: true`), mapped onto the
      // standard RP-initiated logout: end_session with client_id + post_logout_redirect_uri (auto-confirmed).
      const params = new URLSearchParams();
      const id = reqUrl.searchParams.get('client_id');
      const returnTo = reqUrl.searchParams.get('returnTo');
      if (id) params.set('client_id', id);
      if (returnTo) params.set('post_logout_redirect_uri', returnTo);
      res.statusCode = 302;
      res.setHeader('Location', `${endSessionPath}?${params}`);
      res.end();
      return;
    }
    if (req.method === 'GET' && reqUrl.pathname === authorizationPath) {
      // oidc-provider drops offline_access unless prompt contains consent (OIDC Core 11). Auth0 does not; mimic
      // Auth0 by adding `consent` to prompt, which the interaction handler then grants without asking.
      const scope = reqUrl.searchParams.get('scope') ?? '';
      const prompt = reqUrl.searchParams.get('prompt');
      const prompts = new Set((prompt ?? '').split(' ').filter(Boolean));
      if (scope.split(' ').includes('offline_access') && !prompts.has('consent') && !prompts.has('none')) {
        prompts.add('consent');
        reqUrl.searchParams.set('prompt', [...prompts].join(' '));
        req.url = `${reqUrl.pathname}${reqUrl.search}`;
      }
    }
    if (tokenEndpointOutage !== undefined && req.method === 'POST' && reqUrl.pathname === tokenPath) {
      answerOutage(req, res, tokenEndpointOutage).catch((err: unknown) => serverErrors.push(err));
      return;
    }
    providerCallback(req, res);
  };

  // 5. Revocation helpers (through oidc-provider's models).
  const revokeRefreshTokens = async (filter?: RevokeFilter | string): Promise<number> => {
    const f: RevokeFilter = typeof filter === 'string' ? { username: filter } : (filter ?? {});
    let sub = f.sub;
    if (f.username !== undefined) {
      const account = accounts.find((a) => a.username === f.username) ?? findBySub(f.username);
      if (!account) return 0;
      sub = subOf(account);
    }
    let count = 0;
    for (const id of store.ids('RefreshToken')) {
      const token = await provider.RefreshToken.find(id, { ignoreExpiration: true });
      if (!token) continue;
      if (sub !== undefined && token.accountId !== sub) continue;
      if (f.clientId !== undefined && token.clientId !== f.clientId) continue;
      await token.destroy();
      count += 1;
    }
    return count;
  };

  const revokeAll = async (): Promise<number> => {
    const grantIds = new Set<string>([...store.ids('Grant'), ...store.grantMembers.keys()]);
    const models = ['AccessToken', 'RefreshToken', 'AuthorizationCode'] as const;
    for (const grantId of grantIds) {
      await Promise.all(models.map((m) => provider[m].revokeByGrantId(grantId)));
      const grant = await provider.Grant.find(grantId);
      if (grant) await grant.destroy();
    }
    return grantIds.size;
  };

  const endSessions = async (): Promise<number> => {
    const ids = store.ids('Session');
    for (const id of ids) store.remove('Session', id);
    return ids.length;
  };

  // 6. Issuer-override plumbing (nextjs-auth0 v4 against https://localhost).
  const forwardedHeaders: Record<string, string> = overridden
    ? { 'x-forwarded-proto': issuerUrl.protocol.replace(':', ''), 'x-forwarded-host': issuerUrl.host }
    : {};
  const rewrite = (input: string | URL): { url: string; headers: Record<string, string> } => {
    const u = new URL(String(input));
    if (overridden && u.origin === issuerUrl.origin) {
      return { url: `${url}${u.pathname}${u.search}`, headers: { ...forwardedHeaders } };
    }
    return { url: u.toString(), headers: {} };
  };
  const idpFetch: typeof fetch = async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    const target = rewrite(request.url);
    if (target.url === request.url) return fetch(request);
    const headers = new Headers(request.headers);
    for (const [k, v] of Object.entries(target.headers)) headers.set(k, v);
    const body = request.body ? await request.arrayBuffer() : undefined;
    return fetch(target.url, { method: request.method, headers, body, redirect: request.redirect, signal: request.signal });
  };

  const stop = async () => {
    await closeServer();
  };

  return {
    issuer,
    port,
    url,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    clientId: first.clientId,
    clientSecret: first.clientSecret,
    clients: () => [...clients.values()].map((c) => ({ ...c })),
    addClient,
    registerRedirectUris,
    accounts,
    addAccount: (a) => {
      accounts.push({ ...a });
    },
    revokeRefreshTokens,
    revokeAll,
    endSessions,
    setAccessTokenTtl: (s) => {
      state.accessTokenTtl = s;
    },
    setRefreshTokenRotation: (enabled) => {
      state.rotation = enabled;
    },
    failTokenEndpoint: (status) => {
      tokenEndpointOutage = status;
    },
    tokenRequests: () => tokenRequests.map((r) => ({ ...r })),
    serverErrors: () => [...serverErrors],
    rewrite,
    hostRewrite: overridden ? { from: issuerUrl.origin, to: url, headers: { ...forwardedHeaders } } : undefined,
    fetch: idpFetch,
    provider,
    stop,
  };
}
