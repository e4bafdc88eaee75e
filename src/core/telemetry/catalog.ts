/**
 * The telemetry contract. Every span name, metric name, attribute key and attribute value the
 * plugin emits is declared here and nowhere else; the README tables, the dashboards and the
 * alert rules are generated from (or tested against) this module.
 */

export const OTHER = 'other';

export const SDKS = ['nextjs-auth0-v3', 'nextjs-auth0-v4', 'next-auth-v4', 'authjs-v5', 'custom'] as const;
export type AuthSdk = (typeof SDKS)[number];

export const USER_AGENT_CLASSES = ['browser', 'bot', 'monitor', 'prefetch', 'cli', 'unknown'] as const;
export type UserAgentClass = (typeof USER_AGENT_CLASSES)[number];

export const RUNTIMES = ['nodejs', 'edge'] as const;
export type AuthRuntime = (typeof RUNTIMES)[number];

export const SESSION_READ_OUTCOMES = ['found', 'missing', 'invalid', 'error'] as const;
export const TOKEN_REQUEST_OUTCOMES = ['cached', 'refreshed', 'error'] as const;
export const REFRESH_OUTCOMES = ['success', 'failure'] as const;
export const MIDDLEWARE_OUTCOMES = ['pass', 'redirect', 'unauthorized', 'error'] as const;
/** `unauthorized`: the SDK's designed answer to a request without a session (an anonymous profile check), not a failure. */
export const HANDLER_OUTCOMES = ['success', 'redirect', 'unauthorized', 'error'] as const;
export const TOUCH_OUTCOMES = ['touched', 'missing', 'error'] as const;
export const UNPERSISTED_REASONS = ['no_response', 'cookie_dropped', 'token_reused', 'read_only_context'] as const;
/**
 * A failed refresh that presented a refresh token already exchanged: `race` when the earlier
 * exchange was in flight or ended within the race window (two refreshes at once), `lost_rotation`
 * when it ended before (the rotated token never reached the cookie).
 */
export const REUSE_KINDS = ['race', 'lost_rotation'] as const;
export type ReuseKind = (typeof REUSE_KINDS)[number];

/**
 * Whether a failed refresh can succeed later. `terminal`: the refresh token is dead (revoked,
 * expired, reused) or the client is refused; the user has to log in again. `transient`: the IdP or
 * the network failed (`server_error`, `temporarily_unavailable`, HTTP 429 / 5xx, timeouts, network
 * errors, an answer that is not an OAuth response); the same token works once it is back.
 */
export const REFRESH_FAILURE_KINDS = ['terminal', 'transient'] as const;
export type RefreshFailureKind = (typeof REFRESH_FAILURE_KINDS)[number];
/** What a failure with no transient sign and no listed code counts as: the IdP or the app gave up on the token. */
export const DEFAULT_REFRESH_FAILURE_KIND: RefreshFailureKind = 'terminal';
/** OAuth errors (RFC 6749 §5.2, OIDC Core §3.1.2.6) and SDK codes after which retrying the same refresh token cannot work. */
export const TERMINAL_REFRESH_ERRORS = [
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_request',
  'access_denied',
  'login_required',
  'consent_required',
  'interaction_required',
  'ERR_MISSING_REFRESH_TOKEN',
  'missing_refresh_token',
  'session_expired',
] as const;
/** What happened to a session counted in `auth.sessions.affected`. */
export const AFFECTED_OUTCOMES = ['refresh_failure', 'lost_rotation', 'invalid_cookie'] as const;
export type AffectedOutcome = (typeof AFFECTED_OUTCOMES)[number];

/** OAuth errors that say the IdP itself is failing for now. */
export const TRANSIENT_REFRESH_ERRORS = ['server_error', 'temporarily_unavailable'] as const;

export const HANDLER_KINDS = [
  'login',
  'callback',
  'logout',
  'profile',
  'access-token',
  'backchannel-logout',
  'session',
  'signin',
  'signout',
  'csrf',
  'providers',
] as const;

/** Next.js ≥ 15 `onRequestError` route types (`proxy` from Next 16). */
export const ROUTE_TYPES = ['render', 'route', 'action', 'middleware', 'proxy'] as const;

/** Why a session cookie that was present could not be read; inferred without the secret. */
export const INVALID_COOKIE_REASONS = ['expired', 'malformed', 'undecryptable', 'unknown'] as const;

/** The error codes @auth0/nextjs-auth0 v4 itself defines (`AccessTokenError`, `SdkError` subclasses). */
export const NEXTJS_AUTH0_V4_ERROR_CODES = [
  'missing_session',
  'missing_refresh_token',
  'failed_to_refresh_token',
  'session_expired',
  'failed_to_exchange_refresh_token',
  'discovery_error',
  'missing_state',
  'invalid_state',
  'invalid_configuration',
  'authorization_error',
  'authorization_code_grant_request_error',
  'authorization_code_grant_error',
  'backchannel_logout_error',
] as const;

/**
 * Error codes recorded verbatim in `auth.error.code`; everything else becomes `other`.
 * SDK codes, OAuth 2.0 / OIDC error responses (RFC 6749 §5.2, OIDC Core §3.1.2.6) and the
 * JOSE codes seen when a session cookie cannot be decrypted.
 */
export const ERROR_CODES = [
  // @auth0/nextjs-auth0 v3 AccessTokenError
  'ERR_MISSING_SESSION',
  'ERR_MISSING_ACCESS_TOKEN',
  'ERR_MISSING_REFRESH_TOKEN',
  'ERR_EXPIRED_ACCESS_TOKEN',
  'ERR_INSUFFICIENT_SCOPE',
  'ERR_FAILED_REFRESH_GRANT',
  // @auth0/nextjs-auth0 v3 handler errors
  'ERR_CALLBACK_HANDLER_FAILURE',
  'ERR_LOGIN_HANDLER_FAILURE',
  'ERR_LOGOUT_HANDLER_FAILURE',
  'ERR_PROFILE_HANDLER_FAILURE',
  // @auth0/nextjs-auth0 v4
  ...NEXTJS_AUTH0_V4_ERROR_CODES,
  'unknown_error',
  // OAuth 2.0 / OpenID Connect token and authorization endpoint errors
  'invalid_grant',
  'invalid_request',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'login_required',
  'consent_required',
  'interaction_required',
  // NextAuth v4 / Auth.js v5
  'RefreshAccessTokenError',
  'RefreshTokenError',
  'JWT_SESSION_ERROR',
  'SESSION_ERROR',
  'SIGNIN_OAUTH_ERROR',
  'OAUTH_CALLBACK_ERROR',
  'OAUTH_CALLBACK_HANDLER_ERROR',
  'CLIENT_FETCH_ERROR',
  'JWTSessionError',
  'SessionTokenError',
  'CallbackRouteError',
  'OAuthCallbackError',
  'AccessDenied',
  'MissingSecret',
  // JOSE (session cookie could not be read)
  'ERR_JWT_EXPIRED',
  'ERR_JWE_DECRYPTION_FAILED',
  'ERR_JWE_INVALID',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
] as const;

/**
 * Failures an SDK reports by design when a request simply has no session or no refresh token.
 * From a monitor, crawler, command-line client or prefetch they are routine noise, not incidents.
 */
export const ROUTINE_ERROR_CODES = ['ERR_MISSING_SESSION', 'ERR_MISSING_REFRESH_TOKEN', 'missing_session', 'missing_refresh_token'] as const;

/** Classes whose routine failures are counted in metrics but get no span with `spans: 'notable'`. */
export const NON_USER_CLASSES = ['bot', 'monitor', 'prefetch', 'cli'] as const satisfies readonly UserAgentClass[];

/** Error classes that only auth SDKs (and the JOSE cookie layer under them) throw. */
export const AUTH_ERROR_TYPES = [
  'AccessTokenError',
  'HandlerError',
  'CallbackHandlerError',
  'LoginHandlerError',
  'LogoutHandlerError',
  'ProfileHandlerError',
  'IdentityProviderError',
  'AccessTokenForConnectionError',
  'OAuth2Error',
  'SdkError',
  'AuthError',
  'JWTExpired',
  'JWEDecryptionFailed',
  'JWEInvalid',
] as const;

/**
 * `error.type` of a refresh the IdP refused with an OAuth error response (RFC 6749 §5.2): the same
 * on every SDK and runtime, whatever object (if any) the SDK or the app made of the answer.
 */
export const OAUTH_ERROR_TYPE = 'OAuth2Error' satisfies (typeof AUTH_ERROR_TYPES)[number];

/** Low-cardinality `error.type` values (semconv): error class names and HTTP 5xx statuses. */
export const ERROR_TYPES = [
  ...AUTH_ERROR_TYPES,
  'TypeError',
  'RangeError',
  'SyntaxError',
  'Error',
  'AbortError',
  'TimeoutError',
  '500',
  '502',
  '503',
  '504',
] as const;

export const SYNTHETIC_TYPES = ['bot', 'test'] as const;

/**
 * Telemetry the export pipeline dropped, counted per span or metric point: the span queue was full,
 * an export failed (refused, 5xx or 429 after the exporter's retries), timed out, or was refused
 * without a request because the exporter's concurrency limit was reached.
 */
export const DROP_STAGES = [
  'span_queue_full',
  'span_export_failed',
  'span_export_timeout',
  'span_export_busy',
  'metric_export_failed',
  'metric_export_timeout',
  'metric_export_busy',
] as const;
export type DropStage = (typeof DROP_STAGES)[number];

/** Where a telemetry failure was swallowed, or (`DROP_STAGES`) why exported telemetry was dropped. */
export const INSTRUMENTATION_STAGES = ['classify', 'record', 'span', 'hook', 'cookie', 'export', 'ledger', ...DROP_STAGES, 'other'] as const;
export type InstrumentationStage = (typeof INSTRUMENTATION_STAGES)[number];

/**
 * `auth.error.cause`: class names of the causes auth SDKs attach to their errors (nextjs-auth0 v3
 * handler causes, v4 and oauth4webapi errors, openid-client, Auth.js, JOSE) and the generic ones.
 */
export const ERROR_CAUSES = [
  ...AUTH_ERROR_TYPES,
  'MissingStateCookieError',
  'MissingStateParamError',
  'MalformedStateCookieError',
  'ApplicationError',
  'DiscoveryError',
  'UserInfoError',
  'AccessTokenError',
  'MissingStateError',
  'InvalidStateError',
  'InvalidConfigurationError',
  'AuthorizationError',
  'AuthorizationCodeGrantRequestError',
  'AuthorizationCodeGrantError',
  'BackchannelLogoutError',
  'ResponseBodyError',
  'AuthorizationResponseError',
  'WWWAuthenticateChallengeError',
  'OperationProcessingError',
  'UnsupportedOperationError',
  'OPError',
  'RPError',
  'CallbackRouteError',
  'OAuthCallbackError',
  'AccessDenied',
  'InvalidCheck',
  'JWTSessionError',
  'SessionTokenError',
  'JWTClaimValidationFailed',
  'JWSSignatureVerificationFailed',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'Error',
  'AbortError',
  'TimeoutError',
].filter((v, i, all) => all.indexOf(v) === i);

type AttributeSpec = {
  readonly key: string;
  readonly description: string;
  /** `true`: allowed on metrics, so its values are bounded. `false`: spans only. */
  readonly onMetrics: boolean;
  /** The bounded value set; unknown values are recorded as `other`. Omitted for span-only facts. */
  readonly values?: readonly string[];
  readonly type: 'string' | 'int' | 'double';
};

export const ATTRIBUTES = {
  sdk: {
    key: 'auth.sdk',
    description: 'The instrumented SDK.',
    onMetrics: true,
    values: SDKS,
    type: 'string',
  },
  outcome: {
    key: 'auth.outcome',
    description: 'What happened; the value set depends on the metric or span.',
    onMetrics: true,
    values: [...SESSION_READ_OUTCOMES, ...TOKEN_REQUEST_OUTCOMES, ...REFRESH_OUTCOMES, ...MIDDLEWARE_OUTCOMES, 'success', 'touched'].filter(
      (v, i, all) => all.indexOf(v) === i,
    ),
    type: 'string',
  },
  errorCode: {
    key: 'auth.error.code',
    description: "The SDK's error code from an allowlist; for refresh failures the OAuth error (e.g. `invalid_grant`). Anything else is `other`.",
    onMetrics: true,
    values: ERROR_CODES,
    type: 'string',
  },
  errorType: {
    key: 'error.type',
    description: `Semantic-convention error class (error class name or HTTP 5xx status); unset on success. \`${OAUTH_ERROR_TYPE}\` on a refresh the IdP refused, on every SDK and runtime.`,
    onMetrics: true,
    values: ERROR_TYPES,
    type: 'string',
  },
  userAgentClass: {
    key: 'auth.user_agent.class',
    description: 'Who sent the request: a real browser, a crawler, an uptime monitor, a prefetch, a command-line client.',
    onMetrics: true,
    values: USER_AGENT_CLASSES,
    type: 'string',
  },
  syntheticType: {
    key: 'user_agent.synthetic.type',
    description: 'Semantic-convention synthetic traffic type: `bot` for crawlers, `test` for monitors. Unset otherwise.',
    onMetrics: true,
    values: SYNTHETIC_TYPES,
    type: 'string',
  },
  runtime: {
    key: 'auth.runtime',
    description: 'The Next.js runtime that ran the call.',
    onMetrics: true,
    values: RUNTIMES,
    type: 'string',
  },
  route: {
    key: 'http.route',
    description:
      'The route template, only when the app supplies one. A value with a segment that looks like data (an identifier, email, number, ' +
      'UUID, long hex or base64 string, control characters) is `other`. Bounded by `maxRoutes`.',
    onMetrics: true,
    type: 'string',
  },
  handlerKind: {
    key: 'auth.handler.kind',
    description: 'Which auth route handler ran.',
    onMetrics: true,
    values: HANDLER_KINDS,
    type: 'string',
  },
  invalidReason: {
    key: 'auth.session.invalid_reason',
    description: 'Why a present session cookie could not be read, inferred without the secret.',
    onMetrics: true,
    values: INVALID_COOKIE_REASONS,
    type: 'string',
  },
  unpersistedReason: {
    key: 'auth.refresh.unpersisted_reason',
    description: 'Why refreshed tokens were not written back to the session cookie.',
    onMetrics: true,
    values: UNPERSISTED_REASONS,
    type: 'string',
  },
  reuseKind: {
    key: 'auth.refresh.reuse',
    description:
      'A failed refresh presented a refresh token already exchanged: `race` (the earlier exchange was in flight or ended within the race window) or `lost_rotation` (its rotated token never reached the cookie).',
    onMetrics: true,
    values: REUSE_KINDS,
    type: 'string',
  },
  failureKind: {
    key: 'auth.refresh.failure_kind',
    description:
      'A failed refresh: `terminal` (the refresh token is dead or the client refused, e.g. `invalid_grant`, `invalid_client`: the user must log in again) or `transient` (`server_error`, `temporarily_unavailable`, HTTP 429 / 5xx, timeouts, network errors: retrying later works). Failures with neither sign are `terminal`.',
    onMetrics: true,
    values: REFRESH_FAILURE_KINDS,
    type: 'string',
  },
  affectedOutcome: {
    key: 'auth.affected.outcome',
    description: 'What a session counted in `auth.sessions.affected` suffered: a failed refresh, a lost rotation, or an unreadable session cookie.',
    onMetrics: true,
    values: AFFECTED_OUTCOMES,
    type: 'string',
  },
  routeType: {
    key: 'auth.next.route_type',
    description: 'Where an auth error escaped to Next.js (`onRequestError`): a page render, a route handler, a server action, middleware or proxy.',
    onMetrics: true,
    values: ROUTE_TYPES,
    type: 'string',
  },
  stage: {
    key: 'auth.instrumentation.stage',
    description:
      'Where a telemetry failure was swallowed (the app never sees it); `span_*` / `metric_*`: why spans or metric points were dropped, counted per item.',
    onMetrics: true,
    values: INSTRUMENTATION_STAGES,
    type: 'string',
  },
  sessionAge: {
    key: 'auth.session.age',
    description: 'Seconds since the session was created (login).',
    onMetrics: false,
    type: 'double',
  },
  tokenExpiresIn: {
    key: 'auth.token.expires_in',
    description: 'Seconds until the access token expires (negative when already expired).',
    onMetrics: false,
    type: 'double',
  },
  userAgentRule: {
    key: 'auth.user_agent.rule',
    description: 'The classifier rule that matched, e.g. `header:x-datadog-origin` or `ua:kube-probe`.',
    onMetrics: false,
    type: 'string',
  },
  userHash: {
    key: 'user.hash',
    description: 'Opt-in (`hashUserId`), HMAC-SHA-256 of the user id keyed by the salt. Never the raw id.',
    onMetrics: false,
    type: 'string',
  },
  errorCause: {
    key: 'auth.error.cause',
    description: 'Class name of the error cause from an allowlist, e.g. `MissingStateCookieError` or `IdentityProviderError`; anything else is `other`.',
    onMetrics: false,
    values: ERROR_CAUSES,
    type: 'string',
  },
  oauthError: {
    key: 'auth.oauth.error',
    description: 'The OAuth error of a failed token exchange, from the allowlist.',
    onMetrics: false,
    type: 'string',
  },
  refreshed: {
    key: 'auth.token.refreshed',
    description: 'Whether `auth.token.get` triggered a refresh.',
    onMetrics: false,
    type: 'string',
  },
  statusCode: {
    key: 'http.response.status_code',
    description: 'Status of the response the middleware or handler returned, or of the token endpoint that refused a refresh.',
    onMetrics: false,
    type: 'int',
  },
} as const satisfies Record<string, AttributeSpec>;

export type AttributeName = keyof typeof ATTRIBUTES;

const COMMON: readonly AttributeName[] = ['sdk', 'outcome', 'userAgentClass', 'syntheticType', 'runtime', 'route'];
const WITH_ERRORS: readonly AttributeName[] = [...COMMON, 'errorCode', 'errorType'];

export type SpanSpec = {
  readonly name: string;
  readonly description: string;
  readonly outcomes: readonly string[];
  /** The counter every span of this kind increments, and the histogram it feeds, if any. */
  readonly counter?: MetricName;
  readonly histogram?: MetricName;
};

export const SPANS = {
  sessionRead: {
    name: 'auth.session.read',
    description: 'A session read (`getSession`, NextAuth `session` callback).',
    outcomes: SESSION_READ_OUTCOMES,
    counter: 'sessionReads',
    histogram: 'sessionAge',
  },
  tokenGet: {
    name: 'auth.token.get',
    description: 'An access-token request (`getAccessToken`).',
    outcomes: TOKEN_REQUEST_OUTCOMES,
    counter: 'tokenRequests',
    histogram: 'tokenRemainingLifetime',
  },
  tokenRefresh: {
    name: 'auth.token.refresh',
    description: 'A refresh-token exchange with the IdP; a child of `auth.token.get` when one really happened.',
    outcomes: REFRESH_OUTCOMES,
    counter: 'tokenRefreshes',
    histogram: 'tokenRefreshDuration',
  },
  sessionTouch: {
    name: 'auth.session.touch',
    description: 'A rolling-session touch (`touchSession`).',
    outcomes: TOUCH_OUTCOMES,
  },
  sessionUpdate: {
    name: 'auth.session.update',
    description: 'A session write (`updateSession`).',
    outcomes: ['success', 'missing', 'error'],
  },
  middleware: {
    name: 'auth.middleware',
    description: 'One run of `middleware.ts` / `proxy.ts` or an SDK middleware helper.',
    outcomes: MIDDLEWARE_OUTCOMES,
    counter: 'middlewareRuns',
    histogram: 'middlewareDuration',
  },
  handler: {
    name: 'auth.handler',
    description: 'An auth route handler (login, callback, logout, profile, …) with `auth.handler.kind`.',
    outcomes: HANDLER_OUTCOMES,
    counter: 'handlerRequests',
  },
  requestError: {
    name: 'auth.request.error',
    description: 'An auth error that escaped a request and reached Next.js `onRequestError` (Next ≥ 15), with `auth.next.route_type`.',
    outcomes: ['error'],
    counter: 'requestErrors',
  },
} as const satisfies Record<string, SpanSpec>;

export type SpanName = keyof typeof SPANS;

export type MetricSpec = {
  readonly name: string;
  readonly unit: string;
  readonly kind: 'counter' | 'histogram';
  readonly description: string;
  readonly attributes: readonly AttributeName[];
  readonly outcomes?: readonly string[];
  /** Explicit bucket boundaries, in the metric's unit. */
  readonly buckets?: readonly number[];
};

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

export const SESSION_AGE_BUCKETS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  4 * HOUR,
  8 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  3 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
] as const;
export const TOKEN_LIFETIME_BUCKETS = [
  -HOUR,
  -5 * MINUTE,
  -MINUTE,
  0,
  30,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  6 * HOUR,
  DAY,
] as const;
/**
 * Session cookie sizes: browsers keep at most 4096 bytes per cookie (name and value), which is why
 * the SDKs split larger sessions into chunks; the whole `Cookie` header then meets the proxy and
 * server limits (8 KiB per header line in nginx and many load balancers, 16 KiB of headers in Node).
 */
export const SESSION_COOKIE_SIZE_BUCKETS = [512, 1024, 2048, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 12288, 16384, 32768] as const;
/** The size above which a real user's session cookie is close to an 8 KiB header limit (the alert's threshold, a bucket bound). */
export const SESSION_COOKIE_NEAR_LIMIT_BYTES = 6144;
export const SESSION_COOKIE_CHUNK_BUCKETS = [1, 2, 3, 4, 6, 8] as const;
export const REFRESH_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
export const MIDDLEWARE_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

export const METRICS = {
  sessionReads: {
    name: 'auth.session.reads',
    unit: '{read}',
    kind: 'counter',
    description: 'Session reads by outcome; `invalid` means a session cookie was present but unreadable.',
    attributes: [...WITH_ERRORS, 'invalidReason'],
    outcomes: SESSION_READ_OUTCOMES,
  },
  sessionAge: {
    name: 'auth.session.age',
    unit: 's',
    kind: 'histogram',
    description: 'Age of the session at each read that finds one.',
    attributes: COMMON,
    buckets: SESSION_AGE_BUCKETS,
  },
  sessionCookieSize: {
    name: 'auth.session.cookie.size',
    unit: 'By',
    kind: 'histogram',
    description:
      'Total size of the session cookie at each read that has one: every chunk (`appSession.0`, `__session__0`, `next-auth.session-token.0`, …) as `name=value`, measured whole.',
    attributes: COMMON,
    buckets: SESSION_COOKIE_SIZE_BUCKETS,
  },
  sessionCookieChunks: {
    name: 'auth.session.cookie.chunks',
    unit: '{chunk}',
    kind: 'histogram',
    description: 'How many cookies the session is split into at each read that has one (1 when it is not chunked).',
    attributes: COMMON,
    buckets: SESSION_COOKIE_CHUNK_BUCKETS,
  },
  tokenRequests: {
    name: 'auth.token.requests',
    unit: '{request}',
    kind: 'counter',
    description: 'Access-token requests by outcome.',
    attributes: WITH_ERRORS,
    outcomes: TOKEN_REQUEST_OUTCOMES,
  },
  tokenRemainingLifetime: {
    name: 'auth.token.remaining_lifetime',
    unit: 's',
    kind: 'histogram',
    description: 'Time left before the access token handed out expires.',
    attributes: COMMON,
    buckets: TOKEN_LIFETIME_BUCKETS,
  },
  tokenRefreshes: {
    name: 'auth.token.refreshes',
    unit: '{refresh}',
    kind: 'counter',
    description: 'Refresh-token exchanges with the IdP by outcome; failures carry the OAuth error and whether they are terminal or transient.',
    attributes: [...WITH_ERRORS, 'failureKind'],
    outcomes: REFRESH_OUTCOMES,
  },
  tokenRefreshDuration: {
    name: 'auth.token.refresh.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of refresh-token exchanges.',
    attributes: [...COMMON, 'errorCode'],
    buckets: REFRESH_DURATION_BUCKETS,
  },
  middlewareRuns: {
    name: 'auth.middleware.runs',
    unit: '{run}',
    kind: 'counter',
    description: 'Middleware / proxy runs by outcome.',
    attributes: WITH_ERRORS,
    outcomes: MIDDLEWARE_OUTCOMES,
  },
  middlewareDuration: {
    name: 'auth.middleware.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of middleware / proxy runs.',
    attributes: COMMON,
    buckets: MIDDLEWARE_DURATION_BUCKETS,
  },
  handlerRequests: {
    name: 'auth.handler.requests',
    unit: '{request}',
    kind: 'counter',
    description: 'Auth route handler runs (login, callback, logout, …) by outcome.',
    attributes: [...WITH_ERRORS, 'handlerKind'],
    outcomes: HANDLER_OUTCOMES,
  },
  refreshUnpersisted: {
    name: 'auth.refresh.unpersisted',
    unit: '{refresh}',
    kind: 'counter',
    description: 'Refreshes whose new tokens could not be written to the session cookie (Server Components, dropped Set-Cookie, reused rotated token).',
    attributes: [...COMMON, 'errorCode', 'unpersistedReason'],
  },
  refreshReuses: {
    name: 'auth.refresh.reuses',
    unit: '{refresh}',
    kind: 'counter',
    description:
      'Failed refreshes that presented a refresh token already exchanged, by kind: `race` (fix: de-duplicate, or the IdP reuse window) or `lost_rotation` (fix: the cookie write; also counted as unpersisted `token_reused`).',
    attributes: [...COMMON, 'errorCode', 'reuseKind'],
  },
  sessionsAffected: {
    name: 'auth.sessions.affected',
    unit: '{session}',
    kind: 'counter',
    description:
      'Distinct sessions affected: each session counts once per outcome (failed refresh, lost rotation, unreadable cookie) and hour, known by a keyed hash that is never exported. De-duplicated per instance unless a shared store is configured.',
    attributes: ['sdk', 'userAgentClass', 'syntheticType', 'runtime', 'affectedOutcome', 'failureKind'],
  },
  requestErrors: {
    name: 'auth.request.errors',
    unit: '{error}',
    kind: 'counter',
    description: 'Auth errors that escaped a request (Next ≥ 15 `onRequestError`) by route type: render, route, action, middleware, proxy.',
    attributes: [...WITH_ERRORS, 'routeType'],
  },
  instrumentationErrors: {
    name: 'auth.instrumentation.errors',
    unit: '{error}',
    kind: 'counter',
    description:
      'Telemetry failures that were swallowed (throwing hook, odd input, exporter errors, an unreachable ledger store), and spans or metric points the export pipeline dropped.',
    // The runtime keeps a server's Node.js and Edge writers apart even when they share an instance id.
    attributes: ['stage', 'runtime'],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

export const INSTRUMENTATION_SCOPE = 'nextjs-auth-otel';
