// middleware.ts (Next 15, Edge runtime): pages under /rsc need a NextAuth session.
import { NextResponse, type NextRequest } from 'next/server';
import { getToken } from 'next-auth/jwt';
import { withAuthTelemetry } from 'nextjs-auth-otel/next-auth';

export const middleware = withAuthTelemetry(
  async (req: NextRequest) => {
    const token = await getToken({ req });
    if (!token) {
      const signIn = new URL('/api/auth/signin', req.url);
      signIn.searchParams.set('callbackUrl', req.nextUrl.pathname);
      return NextResponse.redirect(signIn);
    }
    return NextResponse.next();
  },
  { sdk: 'next-auth-v4', route: '/rsc' },
);

export const config = {
  matcher: ['/rsc/:path*'],
};
