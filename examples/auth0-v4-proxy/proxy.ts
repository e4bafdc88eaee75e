// proxy.ts: Next 16, @auth0/nextjs-auth0 v4. On Next 15 name the file middleware.ts and the export `middleware`.
import type { NextRequest } from 'next/server';
import { withAuthTelemetry } from 'nextjs-auth-otel/auth0';
import { auth0 } from './lib/auth0-v4';

export const proxy = withAuthTelemetry((request: NextRequest) => auth0.middleware(request), { sdk: 'nextjs-auth0-v4' });

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico|api/health).*)'],
};
