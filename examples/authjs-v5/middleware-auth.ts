// middleware.ts (Next 15, Edge runtime): Auth.js v5's `auth` itself as the middleware, with telemetry.
// was: export { auth as middleware } from './auth'
import { withAuthTelemetry } from 'nextjs-auth-otel/next-auth';
import { auth } from './auth';

export const middleware = withAuthTelemetry(auth, { sdk: 'authjs-v5' });

export const config = {
  matcher: ['/((?!api|_next/static|_next/image|favicon.ico).*)'],
};
