/**
 * The panels both dashboards show, by key. The Grafana and Datadog builders each render every key;
 * the tests check that neither misses one.
 */

export interface PanelMeta {
  readonly title: string;
  readonly description: string;
}

export interface RowMeta {
  readonly title: string;
  readonly panels: readonly PanelKey[];
}

export const PANELS = {
  realUserSuccess: {
    title: 'Real-user refresh success ratio',
    description:
      'Share of browser-class refresh-token exchanges that succeeded over the selected time range. ' +
      'Bots, uptime monitors, prefetches and CLIs are excluded. Compare with the SLO.',
  },
  failuresRealVsNoise: {
    title: 'Failed refreshes: real users vs bots & monitors',
    description:
      'Failed refresh-token exchanges over the selected time range, split into real users (browser class) and everything else. ' +
      'If nearly all failures are on the right, it is noise.',
  },
  realUsersAffected: {
    title: 'Real users affected',
    description:
      'Distinct real-user (browser) sessions that had a failed refresh, a lost rotation or an unreadable session cookie, by what ' +
      'happened (auth.sessions.affected). Each session counts once per hour, known by a keyed hash that never leaves the app, so ' +
      'over a range longer than an hour a session affected in several hours counts once per hour. Without a shared claim store ' +
      'each instance de-duplicates on its own: a session whose requests reach N instances counts up to N times.',
  },
  missingSessionRealShare: {
    title: 'ERR_MISSING_SESSION from real browsers',
    description:
      'Share of ERR_MISSING_SESSION / missing_session token-request errors that came from real browsers. ' +
      'Close to 0 %: the errors in your logs are monitors, bots and prefetches without a session.',
  },
  successRatioVsSlo: {
    title: 'Real-user refresh success ratio vs SLO',
    description: 'Browser-class refresh success ratio per service; the dashed line is the SLO the burn-rate alert uses.',
  },
  realUserFailuresByCode: {
    title: 'Real-user refresh failures by error code',
    description:
      'Browser-class refresh failures per second by OAuth error (invalid_grant: expired, revoked or reused refresh token; ' +
      'server_error / temporarily_unavailable: the IdP). Auth0 logs them as fertft / ferrt.',
  },
  realUserFailuresByKind: {
    title: 'Real-user refresh failures: terminal vs transient',
    description:
      'Browser-class refresh failures per second by auth.refresh.failure_kind. terminal: the refresh token is dead or the client is ' +
      'refused (invalid_grant, invalid_client, …); these users must log in again. transient: the IdP or the network failed ' +
      '(server_error, temporarily_unavailable, HTTP 429 / 5xx, timeouts); the same token works once it is back. Failures with ' +
      'neither sign count as terminal.',
  },
  involuntaryLogouts: {
    title: 'Real users sent back to login, by cause',
    description:
      'What sends real users (browser class) back to the login page other than their own logout, per second: a terminal ' +
      'refresh failure (the refresh token is dead; this includes lost rotations), a lost rotation (token_reused: the rotated ' +
      'token never reached the cookie), an unreadable session cookie by reason (expired, malformed, undecryptable, unknown: the ' +
      'SDK treats the user as logged out), and an expired session (nextjs-auth0 v4 session_expired). Transient refresh ' +
      'failures are left out: the session survives them.',
  },
  failuresByClass: {
    title: 'Refresh failures by user-agent class',
    description: 'All refresh failures per second, stacked by who sent the request. Bot and monitor noise is a separate band from browsers.',
  },
  refreshLatency: {
    title: 'Refresh latency p50 / p95 / p99',
    description: 'Duration of refresh-token exchanges with the IdP.',
  },
  unpersisted: {
    title: 'Unpersisted refreshes',
    description:
      'Refreshes whose new tokens were never written to the session cookie, by reason (read_only_context: a Server Component; ' +
      'cookie_dropped: Set-Cookie lost; token_reused: the old rotated refresh token was used again).',
  },
  refreshRaces: {
    title: 'Concurrent-refresh races',
    description:
      'Failed refreshes that presented a refresh token whose earlier exchange was still in flight or had just ended (within the ' +
      'race window): two tabs, or middleware and a render, refreshing one session at once. Not a lost cookie: fix it by ' +
      'de-duplicating refreshes or with the IdP reuse window (Auth0 Rotation Overlap Period, Okta grace period, Keycloak Refresh ' +
      'Token Max Reuse). See the runbook.',
  },
  lostRotations: {
    title: 'Lost rotations',
    description:
      'Failed refreshes that presented a refresh token exchanged earlier, outside the race window (or whose new tokens were known ' +
      'not to be stored): the rotated token never reached the cookie. Fix the cookie-writing path (Server Components, dropped ' +
      'Set-Cookie). Auth0 logs them as ferrt. Across instances only with a shared ledger store.',
  },
  middlewareRuns: {
    title: 'Middleware runs by outcome and class',
    description: 'middleware.ts / proxy.ts runs per second by outcome (pass, redirect, unauthorized, error) and user-agent class.',
  },
  middlewareLatency: {
    title: 'Middleware latency p50 / p95 / p99',
    description:
      'Duration of middleware.ts / proxy.ts runs, which every request the matcher selects waits for. If p95 climbs together ' +
      'with Refresh latency, the middleware is waiting on the IdP (nextjs-auth0 v4 also serves its login and callback routes ' +
      "there); if it climbs alone, look at the app's own middleware code.",
  },
  missingSessionByClass: {
    title: 'ERR_MISSING_SESSION / missing_session by class',
    description:
      'Token requests that failed because there was no session, by user-agent class. Monitors and bots ' +
      'without a session are harmless; browsers here are logged-out visitors or lost sessions.',
  },
  invalidCookies: {
    title: 'Unreadable session cookies',
    description:
      'Session reads where a session cookie was present but could not be read, by reason (expired, malformed, undecryptable, ' +
      'unknown) and class. A jump in undecryptable usually means a rotated secret; nextjs-auth0 v4 cookies keep their expiry ' +
      'encrypted, so an expired v4 cookie and one sealed with a rotated secret are both unknown.',
  },
  requestErrors: {
    title: 'Auth errors reaching Next.js by route type',
    description:
      'Auth errors that escaped a request to Next.js onRequestError (Next 15+), by route type (render, route, action, ' +
      'middleware, proxy) and error code: errors no code path handled, such as the JWTExpired 500 of nextjs-auth0 4.5.1.',
  },
  sessionCookieSize: {
    title: 'Session cookie size (real users)',
    description:
      "Size of the session cookie at real users' session reads, every chunk together (appSession.0, __session__0, " +
      'next-auth.session-token.0, …): p50 / p95 / p99. One cookie holds 4096 bytes, beyond that the SDK splits it into chunks; ' +
      "the whole Cookie header meets proxy limits of 8 KiB (nginx, many load balancers) and Node's 16 KiB of headers. " +
      'Growth comes from ID-token claims, many audiences or connected accounts kept in the session.',
  },
  sessionCookieChunks: {
    title: 'Session cookie chunks (real users)',
    description: "How many cookies real users' sessions are split into: p50 / p99 / max. 1 means the session fits in one cookie.",
  },
  sessionAge: {
    title: 'Session age at read (real users)',
    description: 'How long ago the sessions read by real users were created (login). Heatmap of the session-age histogram.',
  },
  tokenTimeToExpiry: {
    title: 'Access-token time to expiry (real users)',
    description: 'Time left before the access token handed out expires: p5 / p50 / p95. Negative values: expired tokens were handed out.',
  },
  handlerRuns: {
    title: 'Auth route handlers by kind and outcome',
    description:
      'Login, callback, logout, profile, access-token, … handler runs per second by outcome (success, redirect, error), all ' +
      'user-agent classes. A band of callback errors means people come back from the IdP and are not logged in: the next ' +
      'panel shows which error, for real users only.',
  },
  handlerErrors: {
    title: 'Auth route handler errors by code (real users)',
    description:
      'Browser-class handler errors per second by handler, error code and error type; bots replaying stale callback URLs are ' +
      'left out. Callback errors after a deploy or an IdP change: check the callback URL, the client secret and the cookie ' +
      'domain / SameSite, then the IdP logs (Auth0: feacft). nextjs-auth0 v3 reports them as ERR_CALLBACK_HANDLER_FAILURE (the ' +
      'cause, e.g. MissingStateCookieError, is on the auth.handler span), Auth.js as CallbackRouteError or OAUTH_CALLBACK_ERROR, ' +
      'nextjs-auth0 v4 as a 500 without a code. missing_session on profile or access-token: a logged-out visitor.',
  },
  perRoute: {
    title: 'Per route (real users)',
    description:
      'Refresh attempts and failures, middleware errors and missing-session errors by http.route, for requests where the app ' + 'supplied a route template.',
  },
  instrumentationErrors: {
    title: 'nextjs-auth-otel telemetry failures by stage',
    description:
      'Telemetry failures the plugin swallowed so that the app never saw them, per second by stage; normally empty. export: the ' +
      'exporter cannot deliver (Collector down, wrong endpoint or credentials) and the other panels miss data. span_* and ' +
      'metric_*: spans and metric points dropped on the way out, per item (queue_full: the Collector does not keep up; ' +
      'export_failed, export_timeout: refused, 5xx, 429 or no answer; export_busy: too many exports in flight). hook: your ' +
      'spanHook throws. ledger: the shared refresh-ledger store (Redis, a KV) is slow or unreachable; races and lost rotations ' +
      'across instances go undetected meanwhile. classify, record, span, cookie, other: a plugin bug or an auth SDK version it does not know; report it ' +
      'with the SDK versions. A total export outage hides this counter too, as a gap in every panel.',
  },
} as const satisfies Record<string, PanelMeta>;

export type PanelKey = keyof typeof PANELS;

export const ROWS: readonly RowMeta[] = [
  {
    title: 'Is it real users? Who is affected? Since when?',
    panels: ['realUserSuccess', 'failuresRealVsNoise', 'realUsersAffected', 'missingSessionRealShare'],
  },
  {
    title: 'Token refresh',
    panels: [
      'successRatioVsSlo',
      'realUserFailuresByKind',
      'realUserFailuresByCode',
      'involuntaryLogouts',
      'failuresByClass',
      'refreshLatency',
      'unpersisted',
      'refreshRaces',
      'lostRotations',
    ],
  },
  {
    title: 'Middleware and sessions',
    panels: [
      'middlewareRuns',
      'middlewareLatency',
      'missingSessionByClass',
      'requestErrors',
      'invalidCookies',
      'sessionAge',
      'tokenTimeToExpiry',
      'sessionCookieSize',
      'sessionCookieChunks',
    ],
  },
  { title: 'Login, callback and logout handlers', panels: ['handlerRuns', 'handlerErrors'] },
  { title: 'Routes', panels: ['perRoute'] },
  { title: 'Plugin health', panels: ['instrumentationErrors'] },
];

export const DASHBOARD_TITLE = 'Next.js auth: real users vs noise';
export const DASHBOARD_UID = 'nextjs-auth-otel-overview';
