// lib/auth0-v4.ts: the README's lib/auth0-v4.ts, plus the loopback IdP of the end-to-end test.
import { Auth0Client } from '@auth0/nextjs-auth0/server';
import { instrumentAuth0 } from 'nextjs-auth-otel/auth0';
import { testIdpOptions } from './test-idp';

// Configured from AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_SECRET and APP_BASE_URL.
export const auth0 = instrumentAuth0(new Auth0Client({ ...testIdpOptions() }));
