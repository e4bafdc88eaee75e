/** What adapters hand an operation: who called, and what they observed about the finished call. */
import type { AuthSdk } from '../telemetry/catalog.js';

/** Who is calling: the adapter's SDK, and the request when the call form has one. */
export type CallTarget = Readonly<{
  sdk: AuthSdk;
  request?: unknown;
  /** A route template supplied by the app; never a raw path. */
  route?: string;
}>;

/** What an adapter observed about a finished call. Raw values are bounded by the engine. */
export type OperationResult = {
  outcome: string;
  /** The thrown or returned error; normalised to `auth.error.code` / `error.type`. */
  error?: unknown;
  /** An error code known without an error object (e.g. NextAuth's returned `error` string). */
  errorCode?: string;
  sessionAge?: number;
  tokenExpiresIn?: number;
  userId?: string;
  /**
   * Something stable of the session when no user id is known, e.g. the value of an unreadable
   * session cookie: only its keyed hash is kept, to count the session once in `auth.sessions.affected`.
   */
  sessionKey?: string;
  invalidReason?: string;
  handlerKind?: string;
  statusCode?: number;
  /** HTTP status as `error.type`, for 5xx responses without an error object. */
  errorType?: string;
  /** Next's `routeType` of an error that reached `onRequestError`. */
  routeType?: string;
  /** The session cookie a read found, measured whole (every chunk). */
  cookieBytes?: number;
  cookieChunks?: number;
};
