// Only for test/e2e/auth0-v4-next15-middleware.e2e.test.ts. nextjs-auth0 v4 talks to `https://<AUTH0_DOMAIN>/`
// only, so the test's IdP has the issuer https://localhost but listens on a plain-http loopback
// port (E2E_IDP_URL); this fetch takes the SDK's requests there. Unset, nothing changes.
export function testIdpOptions(): { allowInsecureRequests?: boolean; customFetch?: typeof fetch } {
  const target = process.env.E2E_IDP_URL;
  if (!target) return {};
  const issuer = 'https://localhost';
  const customFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(issuer + '/')) return fetch(request);
    const headers = new Headers(request.headers);
    headers.set('x-forwarded-proto', 'https');
    headers.set('x-forwarded-host', 'localhost');
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
    return fetch(target + request.url.slice(issuer.length), { method: request.method, headers, body, redirect: 'manual', signal: request.signal });
  };
  return { allowInsecureRequests: true, customFetch };
}
