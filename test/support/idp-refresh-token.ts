/**
 * A refresh token from the loopback IdP through a real authorization-code login (offline_access),
 * and a hand-rolled refresh against its token endpoint, the way Auth.js' rotation guide writes one.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrowserClient, parseForms, type Idp } from '../../testkit/index.js';

/** The token endpoint's JSON answer; a failed one is thrown as its body (`{ error: 'invalid_grant', … }`). */
export type TokenAnswer = { access_token?: string; refresh_token?: string; expires_in?: number; error?: string };

export async function tokenRequest(idpUrl: string, client: { id: string; secret: string }, body: Record<string, string>): Promise<TokenAnswer> {
  const response = await fetch(`${idpUrl}/token`, {
    method: 'POST',
    body: new URLSearchParams({ ...body, client_id: client.id, client_secret: client.secret }),
  });
  const json = (await response.json()) as TokenAnswer;
  if (!response.ok) throw json;
  return json;
}

/** Logs `user` in at the IdP's own form and exchanges the code: the refresh token a session would hold. */
export async function loginForRefreshToken(idp: Idp, user: 'alice' | 'bob' = 'alice'): Promise<string> {
  // The redirect target only has to answer: the code is read from its URL.
  const callback = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  const redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/cb`;
  try {
    await idp.registerRedirectUris([redirectUri]);
    await idp.endSessions();
    const browser = new BrowserClient();
    const authorize = new URL(`${idp.url}/auth`);
    authorize.search = new URLSearchParams({
      client_id: idp.clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid offline_access',
      state: 's',
    }).toString();
    const page = await browser.get(authorize);
    const form = parseForms(page.body).find((f) => f.inputNames.includes('username'))!;
    const done = await browser.submit(form, page.url, { username: user, password: `${user}-password` });
    const code = new URL(done.url).searchParams.get('code');
    if (!code) throw new Error(`no code: ${done.url}`);
    const answer = await tokenRequest(
      idp.url,
      { id: idp.clientId, secret: idp.clientSecret },
      { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
    );
    return answer.refresh_token!;
  } finally {
    callback.closeAllConnections();
    await new Promise((resolve) => callback.close(resolve));
  }
}
