// pages/api/token.js: a protected API route that needs the user's access token. Unchanged apart
// from where the functions come from: each call is classified from its own `req`, no wrapper needed.
import { getAccessToken, withApiAuthRequired } from '../../lib/auth0';

export default withApiAuthRequired(async function token(req, res) {
  // Refreshes when the access token is within 60 s of expiry, and writes the new session cookie to `res`.
  const { accessToken } = await getAccessToken(req, res);
  res.status(200).json({ token: typeof accessToken === 'string' ? 'present' : 'absent' });
});
