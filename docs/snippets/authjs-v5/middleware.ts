// middleware.ts (Next 15, Edge runtime): Auth.js v5's `auth` wrapping the middleware, with telemetry.
// was: export default auth((req) => { … })
import { withAuthTelemetry } from 'nextjs-auth-otel/next-auth';
import { auth } from './auth';

export default withAuthTelemetry(
  auth((req) => {
    // `auth` has read the session (the jwt callback refreshes an expired access token) into req.auth.
    if (!req.auth && req.nextUrl.pathname.startsWith('/dashboard')) {
      const signIn = new URL('/api/auth/signin', req.nextUrl.origin);
      signIn.searchParams.set('callbackUrl', req.nextUrl.pathname);
      return Response.redirect(signIn);
    }
  }),
  { sdk: 'authjs-v5' },
);

export const config = {
  matcher: ['/((?!api|_next/static|_next/image|favicon.ico).*)'],
};
