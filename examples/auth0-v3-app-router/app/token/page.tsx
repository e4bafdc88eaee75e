import { getAccessToken, withPageAuthRequired } from '../../lib/auth0';

export const dynamic = 'force-dynamic';

/**
 * The lost-rotation trap: a Server Component cannot write cookies, so when this call refreshes,
 * the rotated refresh token is thrown away. The plugin counts it as `auth.refresh.unpersisted`.
 */
export default withPageAuthRequired(
  async function TokenPage() {
    let state = 'no token';
    try {
      const { accessToken } = await getAccessToken();
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
