// auth.config.ts (Auth.js v5): the Auth.js guide's rotation in `callbacks.jwt`, instrumented.
// In auth.ts: `export const { handlers, auth, signIn, signOut } = NextAuth(authConfig);`
import { instrumentNextAuth } from 'nextjs-auth-otel/next-auth';

const issuer = process.env.AUTH_OIDC_ISSUER!;
const clientId = process.env.AUTH_OIDC_ID!;
const clientSecret = process.env.AUTH_OIDC_SECRET!;

type Token = Record<string, unknown> & { access_token?: string; expires_at?: number; refresh_token?: string; error?: string };
type Account = { access_token?: string; expires_at?: number; refresh_token?: string };

export const authConfig = instrumentNextAuth({
  providers: [
    {
      id: 'oidc',
      name: 'OpenID',
      type: 'oidc' as const,
      issuer,
      clientId,
      clientSecret,
      authorization: { params: { scope: 'openid profile email offline_access' } },
    },
  ],
  callbacks: {
    async jwt({ token, account }: { token: Token; account?: Account | null }) {
      if (account) {
        return { ...token, access_token: account.access_token, expires_at: account.expires_at, refresh_token: account.refresh_token };
      }
      if (Date.now() < (token.expires_at ?? 0) * 1000) return token;
      try {
        const response = await fetch(`${issuer}/token`, {
          method: 'POST',
          body: new URLSearchParams({
            client_id: clientId,
            client_secret: clientSecret,
            grant_type: 'refresh_token',
            refresh_token: token.refresh_token ?? '',
          }),
        });
        const tokensOrError = await response.json();
        if (!response.ok) throw tokensOrError;
        const tokens = tokensOrError as { access_token: string; expires_in: number; refresh_token?: string };
        return {
          ...token,
          access_token: tokens.access_token,
          expires_at: Math.floor(Date.now() / 1000 + tokens.expires_in),
          refresh_token: tokens.refresh_token ?? token.refresh_token,
        };
      } catch {
        token.error = 'RefreshTokenError';
        return token;
      }
    },
    async session<S extends object>({ session, token }: { session: S; token: Token }) {
      return { ...session, error: token.error };
    },
  },
});
