// Not part of the app: the same NextAuth route as pages/api/auth/[...nextauth].js without
// withRequestTelemetry, so the tests can show what an unwrapped Pages Router route records
// (user-agent class `unknown`: NextAuth's callbacks never see the request).
import NextAuth from 'next-auth';
import { options } from '../auth/[...nextauth]';

const Auth = (req, res) => NextAuth(req, res, options)
export default Auth;
