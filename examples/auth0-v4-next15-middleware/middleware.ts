// middleware.ts: Next 15, @auth0/nextjs-auth0 v4, on the Node.js runtime (`runtime: 'nodejs'`, stable since Next 15.5).
// Without `runtime` the same file runs on Edge, the Next 15 default; the code is the same either way.
import type { NextRequest } from 'next/server';
import { withAuthTelemetry } from 'nextjs-auth-otel/auth0';
import { auth0 } from './lib/auth0-v4';

export const middleware = withAuthTelemetry((request: NextRequest) => auth0.middleware(request), { sdk: 'nextjs-auth0-v4' });

export const config = {
  runtime: 'nodejs',
  matcher: ['/((?!_next/static|_next/image|favicon.ico|api/health).*)'],
};
