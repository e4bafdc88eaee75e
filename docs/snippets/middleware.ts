// middleware.ts: getAccessToken + touchSession on every request in Edge middleware (Next 14.2,
// @auth0/nextjs-auth0 3.7), with telemetry.
import { NextRequest, NextResponse } from 'next/server';
import * as auth0 from '@auth0/nextjs-auth0/edge'; // was: import { touchSession, getAccessToken } from '@auth0/nextjs-auth0/edge'
import { instrumentAuth0, withAuthTelemetry } from 'nextjs-auth-otel/auth0';

const { touchSession, getAccessToken } = instrumentAuth0(auth0);

export const middleware = withAuthTelemetry(async (req: NextRequest) => {
  const res = NextResponse.next();
  try {
    await getAccessToken(req, res);
    await touchSession(req, res);
  } catch (e: unknown) {
    console.error('Middleware error refreshing access token or session:', e);
  }
  return res;
});

export const config = {
  matcher: ['/((?!api|_next/static|_next/image|favicon.ico).*)'],
};
