// pages/api/auth/[...nextauth].ts: the Pages Router route of the common rotation. The one line the
// plugin changes wraps the route, so its session polls, its `jwt` callback's refresh and its events
// are classified from the request.
import NextAuth from 'next-auth';
import type { NextApiRequest, NextApiResponse } from 'next';
import { withRequestTelemetry } from 'nextjs-auth-otel/next-auth';
import { authOptions } from '../../../next-auth-options';

const Auth = withRequestTelemetry((req: NextApiRequest, res: NextApiResponse) => NextAuth(req, res, authOptions));
export default Auth;
