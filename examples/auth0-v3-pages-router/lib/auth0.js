// lib/auth0.js: nextjs-auth0 v3's functions, instrumented once (Pages Router). Pages and API routes
// import them from here instead of from '@auth0/nextjs-auth0'; configured from AUTH0_* variables.
import * as sdk from '@auth0/nextjs-auth0';
import { instrumentAuth0 } from 'nextjs-auth-otel/auth0';

export const { handleAuth, getSession, getAccessToken, withApiAuthRequired, withPageAuthRequired } = instrumentAuth0(sdk);
