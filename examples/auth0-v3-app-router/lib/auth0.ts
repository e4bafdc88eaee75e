// Server-side SDK calls (route handlers, Server Components, server actions), instrumented once.
import * as auth0 from '@auth0/nextjs-auth0';
import { instrumentAuth0 } from 'nextjs-auth-otel/auth0';

export const { getSession, getAccessToken, withPageAuthRequired, handleAuth } = instrumentAuth0(auth0);
