// auth.ts: the common NextAuth v4 refresh-token rotation (`refreshAccessToken` in the `jwt`
// callback) with an OpenID provider instead of a credentials backend, instrumented. The route
// handler and getServerSession(authOptions) use it.
import type { AuthOptions } from 'next-auth';
import type { JWT } from 'next-auth/jwt';
import { instrumentNextAuth, traceTokenRefresh } from 'nextjs-auth-otel/next-auth';

const issuer = process.env.OIDC_ISSUER!;
const clientId = process.env.OIDC_CLIENT_ID!;
const clientSecret = process.env.OIDC_CLIENT_SECRET!;
// The common rotation refreshes an hour before expiry; with short-lived tokens, a smaller margin.
const REFRESH_MARGIN_MS = Number(process.env.REFRESH_MARGIN_MS ?? 60 * 60 * 1000);

type TokenResponse = { access_token: string; expires_in: number; refresh_token?: string };

// The exchange itself, traced. Throwing the IdP's error body keeps `invalid_grant` in telemetry.
const exchangeRefreshToken = traceTokenRefresh(
  async (refreshToken: string): Promise<TokenResponse> => {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret }),
    });
    const body = await response.json();
    if (!response.ok) throw body;
    return body as TokenResponse;
  },
  { refreshTokenOf: (refreshToken) => refreshToken },
);

async function refreshAccessToken(tokenObject: JWT): Promise<JWT> {
  try {
    const tokens = await exchangeRefreshToken(tokenObject.refreshToken as string);
    return {
      ...tokenObject,
      accessToken: tokens.access_token,
      accessTokenExpiry: Date.now() + tokens.expires_in * 1000,
      refreshToken: tokens.refresh_token ?? tokenObject.refreshToken,
    };
  } catch {
    return { ...tokenObject, error: 'RefreshAccessTokenError' };
  }
}

export const authOptions: AuthOptions = instrumentNextAuth({
  providers: [
    {
      id: 'oidc',
      name: 'OpenID',
      type: 'oauth',
      wellKnown: `${issuer}/.well-known/openid-configuration`,
      clientId,
      clientSecret,
      idToken: true,
      checks: ['pkce', 'state'],
      authorization: { params: { scope: 'openid profile email offline_access' } },
      profile: (profile) => ({ id: profile.sub, name: profile.name, email: profile.email }),
    },
  ],
  callbacks: {
    async jwt({ token, account }) {
      if (account) {
        // Sign-in: the only time NextAuth hands over the provider's tokens.
        return {
          ...token,
          accessToken: account.access_token,
          accessTokenExpiry: (account.expires_at ?? 0) * 1000,
          refreshToken: account.refresh_token,
        };
      }
      if ((token.accessTokenExpiry as number) - REFRESH_MARGIN_MS > Date.now()) return token;
      return refreshAccessToken(token);
    },
    async session({ session, token }) {
      return { ...session, accessTokenExpiry: token.accessTokenExpiry, error: token.error };
    },
  },
});
