import { auth0 } from '../../lib/auth0-v4';

export const dynamic = 'force-dynamic';

// getAccessToken() in a Server Component: an expired token is refreshed, but the new token set
// cannot be written back (Server Components cannot set cookies), so the next refresh reuses the
// rotated refresh token. The SDK warns about this only in development; the telemetry shows it.
export default async function Token() {
  const { expiresAt } = await auth0.getAccessToken();
  return <p id="token-state">token valid for {Math.round(expiresAt - Date.now() / 1000)} s</p>;
}
