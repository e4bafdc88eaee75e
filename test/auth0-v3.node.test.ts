import { inject } from 'vitest';
import { defineV3Suite } from './support/v3-suite.js';
import { v3Config } from './support/v3-login-app.js';

defineV3Suite('nodejs', async () => {
  const env = inject('v3');
  const sdk = await import('@auth0/nextjs-auth0');
  // The initAuth0() instance form.
  const bare = sdk.initAuth0(v3Config(env));
  return { bare, errors: { AccessTokenError: sdk.AccessTokenError } };
});
