// The common NextAuth v4 rotation's refreshAccessToken (a credentials backend's auth/refreshToken),
// unchanged inside, wrapped. A returned `{ error }` is a failed refresh
// (`auth.error.code="RefreshAccessTokenError"`); `tokenObject.refreshToken` is the token presented,
// for lost-rotation detection.
import { traceTokenRefresh } from 'nextjs-auth-otel';

const YOUR_API_URL = process.env.YOUR_API_URL!;

type TokenObject = { accessToken?: string; accessTokenExpiry?: number; refreshToken?: string; error?: string };

export const refreshAccessToken = traceTokenRefresh(async function refreshAccessToken(tokenObject: TokenObject): Promise<TokenObject> {
  try {
    // Get a new set of tokens with a refreshToken
    const response = await fetch(YOUR_API_URL + 'auth/refreshToken', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: tokenObject.refreshToken }),
    });
    if (!response.ok) throw new Error(`refresh failed: ${response.status}`);
    const data = await response.json();
    return {
      ...tokenObject,
      accessToken: data.accessToken,
      accessTokenExpiry: data.accessTokenExpiry,
      refreshToken: data.refreshToken,
    };
  } catch (error) {
    return {
      ...tokenObject,
      error: 'RefreshAccessTokenError',
    };
  }
});
