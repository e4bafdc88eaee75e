import { TokenButton } from './token-button';

// The browser asks the SDK's /auth/access-token route (served by auth0.middleware in middleware.ts)
// for a token: an expired one is refreshed there, and middleware can write the new cookie.
export default function ClientToken() {
  return <TokenButton />;
}
