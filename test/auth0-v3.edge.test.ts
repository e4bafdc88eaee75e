// @vitest-environment edge-runtime
import { inject } from 'vitest';
import { defineV3Suite } from './support/v3-suite.js';
import { SCOPE } from './support/v3-login-app.js';

defineV3Suite('edge', async () => {
  const env = inject('v3');
  // The module-namespace form of the README's middleware: named exports configured from the environment.
  Object.assign(process.env, {
    AUTH0_SECRET: env.secret,
    AUTH0_BASE_URL: env.appUrl,
    AUTH0_ISSUER_BASE_URL: env.issuer,
    AUTH0_CLIENT_ID: env.clientId,
    AUTH0_CLIENT_SECRET: env.clientSecret,
    AUTH0_SCOPE: SCOPE,
  });
  const sdk = await import('@auth0/nextjs-auth0/edge');
  return {
    bare: sdk,
    errors: { AccessTokenError: sdk.AccessTokenError },
    readmeMiddleware: async () => (await import('../docs/snippets/middleware.js')).middleware,
  };
});
