import { getAccessToken, withPageAuthRequired } from '../../lib/auth0';

export const dynamic = 'force-dynamic';

/**
 * The lost-rotation trap. Middleware refreshes before rendering and Next 14.2 hands its cookie to
 * the render, so an ordinary call here reuses that token. But a Server Component that forces a
 * refresh (`?refresh=1`, e.g. to pick up new claims) cannot write the cookie: the rotated refresh
 * token is thrown away and the next refresh presents a dead one. The plugin counts it as
 * `auth.refresh.unpersisted`.
 */
export default withPageAuthRequired(
  async function TokenPage({ searchParams }) {
    let state = 'no token';
    try {
      const { accessToken } = await getAccessToken({ refresh: searchParams?.refresh === '1' });
      state = accessToken ? 'token' : 'no token';
    } catch (e) {
      state = `error: ${(e as { code?: string }).code ?? 'unknown'}`;
    }
    return (
      <>
        <h1>Token</h1>
        <p id="token-state">{state}</p>
      </>
    );
  },
  { returnTo: '/token' },
);
